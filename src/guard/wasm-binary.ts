/**
 * Just enough of the WebAssembly binary format to validate a guard before it
 * runs: `WebAssembly.Module.exports()` gives names and kinds but not function
 * signatures or memory limits, and the ABI needs both. We also rewrite the
 * memory maximum here, because V8 lets a module without one grow to 4 GiB and
 * worker resourceLimits do not cover wasm memory.
 */

import { WasmGuardError } from '../errors.js';

export type ValType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128' | 'funcref' | 'externref' | `0x${string}`;

export interface FuncType {
  params: ValType[];
  results: ValType[];
}

export interface ImportEntry {
  module: string;
  name: string;
  kind: 'function' | 'table' | 'memory' | 'global' | 'tag';
  /** For functions: the signature. */
  type?: FuncType;
}

export interface ExportEntry {
  name: string;
  kind: 'function' | 'table' | 'memory' | 'global' | 'tag';
  type?: FuncType;
}

export interface MemoryLimits {
  minPages: number;
  maxPages?: number;
  shared: boolean;
  memory64: boolean;
}

export interface ModuleInfo {
  imports: ImportEntry[];
  exports: ExportEntry[];
  /** Memories defined by the module (not imported). */
  memories: MemoryLimits[];
}

const VALTYPES: Record<number, ValType> = {
  0x7f: 'i32',
  0x7e: 'i64',
  0x7d: 'f32',
  0x7c: 'f64',
  0x7b: 'v128',
  0x70: 'funcref',
  0x6f: 'externref',
};
const EXTERNAL_KINDS = ['function', 'table', 'memory', 'global', 'tag'] as const;
const SECTION = { type: 1, import: 2, function: 3, memory: 5, export: 7 } as const;
export const WASM_PAGE_BYTES = 65536;

/** The bytes are not a WebAssembly module this reader understands. */
export class WasmFormatError extends WasmGuardError {
  readonly code = 'WG_ERR_WASM_FORMAT';
}

class Reader {
  constructor(
    readonly bytes: Uint8Array,
    public pos = 0,
    readonly end = bytes.length,
  ) {}

  byte(): number {
    if (this.pos >= this.end) throw new WasmFormatError(`unexpected end of module at byte ${this.pos}`);
    return this.bytes[this.pos++]!;
  }

  u32(): number {
    return this.#leb(35);
  }

  /** Unsigned LEB up to 64 bits, for memory64 limits; precision is irrelevant past 2^53. */
  u64(): number {
    return this.#leb(63);
  }

  #leb(maxShift: number): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
      if (shift > maxShift) throw new WasmFormatError(`LEB128 too long at byte ${this.pos}`);
    }
  }

  name(): string {
    const len = this.u32();
    if (this.pos + len > this.end) throw new WasmFormatError('name runs past its section');
    const text = new TextDecoder('utf-8', { fatal: true }).decode(this.bytes.subarray(this.pos, this.pos + len));
    this.pos += len;
    return text;
  }

  valtype(): ValType {
    const b = this.byte();
    return VALTYPES[b] ?? `0x${b.toString(16)}`;
  }

  limits(): MemoryLimits {
    const flags = this.byte();
    const memory64 = (flags & 0x04) !== 0;
    const read = () => (memory64 ? this.u64() : this.u32());
    const minPages = read();
    const maxPages = flags & 0x01 ? read() : undefined;
    return { minPages, maxPages, shared: (flags & 0x02) !== 0, memory64 };
  }
}

interface Section {
  id: number;
  /** Offset of the id byte. */
  start: number;
  /** Offset of the contents (after the size). */
  contentStart: number;
  end: number;
}

function sections(bytes: Uint8Array): Section[] {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new WasmFormatError('not a WebAssembly module (bad magic number)');
  }
  if (bytes[4] !== 1 || bytes[5] !== 0 || bytes[6] !== 0 || bytes[7] !== 0) {
    throw new WasmFormatError('unsupported WebAssembly binary version (a component, or not version 1)');
  }
  const out: Section[] = [];
  const r = new Reader(bytes, 8);
  while (r.pos < bytes.length) {
    const start = r.pos;
    const id = r.byte();
    const size = r.u32();
    const contentStart = r.pos;
    const end = contentStart + size;
    if (end > bytes.length) throw new WasmFormatError(`section ${id} runs past the end of the module`);
    out.push({ id, start, contentStart, end });
    r.pos = end;
  }
  return out;
}

function readFuncType(r: Reader): FuncType {
  const form = r.byte();
  if (form !== 0x60) throw new WasmFormatError(`unsupported type form 0x${form.toString(16)} (GC types?)`);
  const params = Array.from({ length: r.u32() }, () => r.valtype());
  const results = Array.from({ length: r.u32() }, () => r.valtype());
  return { params, results };
}

export function parseModule(bytes: Uint8Array): ModuleInfo {
  const types: FuncType[] = [];
  const funcTypes: FuncType[] = []; // function index space: imports first
  const imports: ImportEntry[] = [];
  const exports: ExportEntry[] = [];
  const memories: MemoryLimits[] = [];

  for (const s of sections(bytes)) {
    const r = new Reader(bytes, s.contentStart, s.end);
    switch (s.id) {
      case SECTION.type:
        for (let n = r.u32(); n > 0; n--) types.push(readFuncType(r));
        break;
      case SECTION.import:
        for (let n = r.u32(); n > 0; n--) {
          const module = r.name();
          const name = r.name();
          const kindByte = r.byte();
          const kind = EXTERNAL_KINDS[kindByte];
          if (!kind) throw new WasmFormatError(`unknown import kind ${kindByte} for ${module}.${name}`);
          const entry: ImportEntry = { module, name, kind };
          if (kind === 'function') {
            const type = types[r.u32()];
            if (!type) throw new WasmFormatError(`import ${module}.${name} has an unknown type index`);
            entry.type = type;
            funcTypes.push(type);
          } else if (kind === 'table') {
            r.byte();
            r.limits();
          } else if (kind === 'memory') {
            r.limits();
          } else if (kind === 'global') {
            r.byte();
            r.byte();
          } else {
            r.byte();
            r.u32();
          }
          imports.push(entry);
        }
        break;
      case SECTION.function:
        for (let n = r.u32(); n > 0; n--) {
          const type = types[r.u32()];
          if (!type) throw new WasmFormatError('function with an unknown type index');
          funcTypes.push(type);
        }
        break;
      case SECTION.memory:
        for (let n = r.u32(); n > 0; n--) memories.push(r.limits());
        break;
      case SECTION.export:
        for (let n = r.u32(); n > 0; n--) {
          const name = r.name();
          const kindByte = r.byte();
          const kind = EXTERNAL_KINDS[kindByte];
          if (!kind) throw new WasmFormatError(`unknown export kind ${kindByte} for ${name}`);
          const index = r.u32();
          exports.push(kind === 'function' ? { name, kind, type: funcTypes[index] } : { name, kind });
        }
        break;
      default:
        break;
    }
  }
  return { imports, exports, memories };
}

function encodeU32(value: number): number[] {
  const out: number[] = [];
  do {
    let b = value & 0x7f;
    value = Math.floor(value / 128);
    if (value !== 0) b |= 0x80;
    out.push(b);
  } while (value !== 0);
  return out;
}

/**
 * Returns a copy of the module whose defined memories may grow to at most
 * `maxPages`. A module that needs more than the cap just to start is refused:
 * it could never run within the limit.
 */
export function capMemory(bytes: Uint8Array, maxPages: number): Uint8Array {
  const memorySection = sections(bytes).find((s) => s.id === SECTION.memory);
  if (!memorySection) return bytes;
  const r = new Reader(bytes, memorySection.contentStart, memorySection.end);
  const content: number[] = [];
  const count = r.u32();
  content.push(...encodeU32(count));
  for (let i = 0; i < count; i++) {
    const limits = r.limits();
    if (limits.memory64) throw new WasmFormatError('64-bit memories are not supported');
    if (limits.minPages > maxPages) {
      throw new WasmFormatError(
        `memory declares a minimum of ${limits.minPages} pages (${limits.minPages * 64} KiB), over the cap of ${maxPages} pages`,
      );
    }
    const max = Math.min(limits.maxPages ?? maxPages, maxPages);
    content.push(0x01 | (limits.shared ? 0x02 : 0), ...encodeU32(limits.minPages), ...encodeU32(max));
  }
  const header = [SECTION.memory, ...encodeU32(content.length)];
  const out = new Uint8Array(bytes.length - (memorySection.end - memorySection.start) + header.length + content.length);
  out.set(bytes.subarray(0, memorySection.start), 0);
  out.set(header, memorySection.start);
  out.set(content, memorySection.start + header.length);
  out.set(bytes.subarray(memorySection.end), memorySection.start + header.length + content.length);
  return out;
}

export function formatFuncType(t: FuncType | undefined): string {
  if (!t) return 'unknown';
  const results = t.results.length === 1 ? t.results[0] : `(${t.results.join(',')})`;
  return `(${t.params.join(',')})->${t.results.length === 0 ? '()' : results}`;
}
