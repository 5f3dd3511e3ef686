/**
 * Helpers for the sample-guard tests: building the guards, reading a module's
 * import/export signatures straight from the binary (independently of the
 * runtime's own parser), and calling a guard through the raw ABI with buffers
 * of any size, which the runtime API cannot do.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Builds the sample guards if they are out of date (a no-op taking ~0.1 s otherwise) and returns the module bytes. */
export function guardBytes(name: string): Uint8Array<ArrayBuffer> {
  execFileSync(process.execPath, ['guards/build.mjs', name], { cwd: ROOT, stdio: 'pipe', timeout: 120_000 });
  return Uint8Array.from(readFileSync(`${ROOT}/guards/${name}.wasm`));
}

// ------------------------------------------------------------------ binary

export interface Signature {
  params: string[];
  results: string[];
}

export interface ModuleSurface {
  imports: Map<string, Signature | 'non-function'>;
  exports: Map<string, Signature | 'memory' | 'other'>;
}

const VALTYPE: Record<number, string> = { 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64' };

/** Imports and exports of a module with function signatures (MVP binary format: type, import, function, export sections). */
export function moduleSurface(bytes: Uint8Array): ModuleSurface {
  let pos = 8;
  const byte = (): number => {
    const b = bytes[pos++];
    if (b === undefined) throw new Error('unexpected end of module');
    return b;
  };
  const u32 = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
    }
  };
  const name = (): string => {
    const n = u32();
    const s = new TextDecoder().decode(bytes.subarray(pos, pos + n));
    pos += n;
    return s;
  };
  const types: Signature[] = [];
  const funcs: Signature[] = []; // function index space: imports first
  const surface: ModuleSurface = { imports: new Map(), exports: new Map() };
  while (pos < bytes.length) {
    const id = byte();
    const size = u32();
    const end = pos + size;
    if (id === 1) {
      for (let i = u32(); i > 0; i--) {
        if (byte() !== 0x60) throw new Error('unexpected type form');
        const params = Array.from({ length: u32() }, () => VALTYPE[byte()] ?? '?');
        const results = Array.from({ length: u32() }, () => VALTYPE[byte()] ?? '?');
        types.push({ params, results });
      }
    } else if (id === 2) {
      for (let i = u32(); i > 0; i--) {
        const key = `${name()}.${name()}`;
        const kind = byte();
        if (kind === 0) {
          const t = types[u32()];
          if (!t) throw new Error('bad type index');
          funcs.push(t);
          surface.imports.set(key, t);
        } else {
          surface.imports.set(key, 'non-function');
          pos = end; // guards import functions only; stop reading this section
          break;
        }
      }
    } else if (id === 3) {
      for (let i = u32(); i > 0; i--) {
        const t = types[u32()];
        if (!t) throw new Error('bad type index');
        funcs.push(t);
      }
    } else if (id === 7) {
      for (let i = u32(); i > 0; i--) {
        const key = name();
        const kind = byte();
        const index = u32();
        surface.exports.set(key, kind === 0 ? (funcs[index] ?? { params: ['?'], results: [] }) : kind === 2 ? 'memory' : 'other');
      }
    }
    pos = end;
  }
  return surface;
}

export const sig = (params: number, result: boolean): Signature => ({
  params: Array<string>(params).fill('i32'),
  results: result ? ['i32'] : [],
});

// ------------------------------------------------------------------ raw ABI

export interface RawGuard {
  exports: {
    memory: WebAssembly.Memory;
    label_agent: (a: number, b: number, c: number, d: number) => number;
    label_resource: (a: number, b: number, c: number, d: number) => number;
    label_response: (a: number, b: number, c: number, d: number) => number;
    alloc: (size: number) => number;
    dealloc: (ptr: number, size: number) => void;
  };
  logs: Array<{ level: number; message: string }>;
  /** Calls `fn` with the JSON input and an output buffer of `outCap` bytes. */
  call(fn: 'label_agent' | 'label_resource' | 'label_response', input: string, outCap: number): RawResult;
}

export interface RawResult {
  rc: number;
  /** The output text when rc > 0. */
  text: string;
  /** The u32 LE at out_ptr after the call (the size hint when rc is -2). */
  hint: number;
}

/** Instantiates a guard directly, with host imports of the same shape the runtime provides. */
export function rawGuard(bytes: Uint8Array<ArrayBuffer>, backend?: (tool: string, args: string) => string | undefined): RawGuard {
  const logs: RawGuard['logs'] = [];
  let memory: WebAssembly.Memory | undefined;
  const read = (ptr: number, len: number): string =>
    new TextDecoder().decode(new Uint8Array(memory!.buffer, ptr >>> 0, len >>> 0));
  const env = {
    host_log(level: number, ptr: number, len: number): void {
      logs.push({ level, message: read(ptr, len) });
    },
    call_backend(toolPtr: number, toolLen: number, argsPtr: number, argsLen: number, resPtr: number, resCap: number): number {
      const reply = backend?.(read(toolPtr, toolLen), read(argsPtr, argsLen));
      if (reply === undefined) return -1;
      const out = new TextEncoder().encode(reply);
      if (out.length > resCap) {
        if (resCap >= 4) new DataView(memory!.buffer).setUint32(resPtr, out.length, true);
        return -2;
      }
      new Uint8Array(memory!.buffer, resPtr, out.length).set(out);
      return out.length;
    },
  };
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env });
  const exports = instance.exports as unknown as RawGuard['exports'];
  memory = exports.memory;
  return {
    exports,
    logs,
    call(fn, input, outCap) {
      const inBytes = new TextEncoder().encode(input);
      const inPtr = exports.alloc(inBytes.length);
      new Uint8Array(memory!.buffer, inPtr, inBytes.length).set(inBytes);
      const outPtr = exports.alloc(outCap);
      // a marker, so a -2 that writes no hint is visible
      if (outCap >= 4) new DataView(memory!.buffer).setUint32(outPtr, 0xdeadbeef, true);
      try {
        const rc = exports[fn](inPtr, inBytes.length, outPtr, outCap);
        const hint = outCap >= 4 ? new DataView(memory!.buffer).getUint32(outPtr, true) : 0;
        const text = rc > 0 ? new TextDecoder().decode(new Uint8Array(memory!.buffer, outPtr, rc)) : '';
        return { rc, text, hint };
      } finally {
        exports.dealloc(outPtr, outCap);
        exports.dealloc(inPtr, inBytes.length);
      }
    },
  };
}
