import { randomFillSync } from 'node:crypto';
import { createRequire } from 'node:module';
import type { WASI as WasiClass } from 'node:wasi';
import type { GuardLogger } from '../logger.js';
import type { LogBudget } from './log.js';
import { readBytes } from './memory-view.js';

let WASI: typeof WasiClass | undefined;
let nodeWasiFunctions: ReadonlySet<string> | undefined;

/** The one warning loading node:wasi emits ("WASI is an experimental feature ..."), and nothing else. */
export function isWasiExperimentalWarning(warning: string | Error, typeOrOptions: unknown): boolean {
  const type = typeof typeOrOptions === 'string' ? typeOrOptions : (typeOrOptions as { type?: unknown } | undefined)?.type;
  const name = warning instanceof Error ? warning.name : type;
  const message = warning instanceof Error ? warning.message : warning;
  return name === 'ExperimentalWarning' && /^WASI\b/.test(message);
}

/**
 * Loads node:wasi on first use without its ExperimentalWarning: the warning
 * would print on every start and in every worker, and says nothing an
 * operator can act on (preview1 is what guards target, and it is frozen).
 * Only that warning is dropped; any other warning emitted meanwhile passes.
 */
function loadWasi(): typeof WasiClass {
  if (WASI) return WASI;
  const emitWarning = process.emitWarning;
  process.emitWarning = function (this: NodeJS.Process, warning: string | Error, ...rest: unknown[]) {
    if (isWasiExperimentalWarning(warning, rest[0])) return;
    return (emitWarning as (...args: unknown[]) => void).call(this, warning, ...rest);
  } as typeof process.emitWarning;
  try {
    WASI = (createRequire(import.meta.url)('node:wasi') as typeof import('node:wasi')).WASI;
  } finally {
    process.emitWarning = emitWarning;
  }
  return WASI;
}

/** The preview1 functions node:wasi implements (listed once per thread). */
function wasiFunctionNames(): ReadonlySet<string> {
  if (nodeWasiFunctions) return nodeWasiFunctions;
  const importObject = new (loadWasi())({ version: 'preview1', returnOnExit: true }).getImportObject() as { wasi_snapshot_preview1: object };
  nodeWasiFunctions = new Set(Object.keys(importObject.wasi_snapshot_preview1));
  return nodeWasiFunctions;
}

/** Thrown by our proc_exit so the exit ends the call, never the process. */
export class WasiExit {
  constructor(readonly code: number) {}
}

const ERRNO_SUCCESS = 0;
const ERRNO_FAULT = 21;
const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** Writes u32 values at guest pointers: all of them, or none and EFAULT when one is out of bounds. */
function writeU32s(memory: WebAssembly.Memory, ...writes: [ptr: number, value: number][]): number {
  if (writes.some(([ptr]) => readBytes(memory, ptr >>> 0, 4) === undefined)) return ERRNO_FAULT;
  const view = new DataView(memory.buffer);
  for (const [ptr, value] of writes) view.setUint32(ptr >>> 0, value, true);
  return ERRNO_SUCCESS;
}

type WasiImports = Record<string, (...args: number[]) => number>;

/**
 * WASI preview1 for one instance (a shared WASI object would let a second
 * instance's calls touch the first one's memory on Node 24+). No preopens, no
 * environment, fixed args, empty stdin; stdout and stderr go to the service
 * log, never to the process's own streams.
 *
 * Only the functions the module imports are built (`names`). What guards
 * call in practice (fd_write to stdout and stderr, fd_read from stdin,
 * random_get, the empty environment and the fixed args, proc_exit) is
 * answered here; every other function goes to a node:wasi object created,
 * and bound to the instance's memory, at its first use. A node:wasi object
 * with its import object costs about 0.1 ms to create and more to collect,
 * for every instance, and each trap makes a new instance.
 */
export function createWasi(options: {
  guard: string;
  logger: GuardLogger;
  memory: () => WebAssembly.Memory;
  names: readonly string[];
  /** Bounds the lines stdout and stderr may log (a guard printing in a loop would flood the service log). */
  budget?: LogBudget;
}) {
  const { guard, logger } = options;
  // The one argument, NUL-terminated; encoded when a guard first asks (most never do).
  let argBytes: Uint8Array | undefined;
  const arg = () => (argBytes ??= encoder.encode(`${guard}\0`));
  let native: WasiImports | undefined;
  const nodeWasi = (): WasiImports => {
    if (native) return native;
    // returnOnExit must stay true: false makes proc_exit end the whole process, even from a worker.
    const wasi = new (loadWasi())({ version: 'preview1', args: [guard], env: {}, preopens: {}, returnOnExit: true });
    // Given only the memory: Node's initialize() refuses modules exporting _start and would itself
    // call _initialize, and we decide about both ourselves.
    wasi.initialize({ exports: { memory: options.memory() } });
    native = (wasi.getImportObject() as { wasi_snapshot_preview1: unknown }).wasi_snapshot_preview1 as WasiImports;
    return native;
  };
  // JS closures, not node:wasi's native functions: imported as they are,
  // those cost a freshly compiled import wrapper each at every instantiation
  // (about 0.2 ms apiece on Node 20); closures share the wrappers V8 caches
  // per module.
  const fromNode = (name: string) => (...args: number[]) => nodeWasi()[name]!(...args);

  // Line-buffered per stream: Rust's stderr is unbuffered, so one eprintln!
  // or panic message arrives as many small writes; a record per write would
  // split it into fragments. Complete lines are logged as they arrive, the
  // rest at the end of the guard call (flush) or when it gets long.
  const MAX_LINE = 4096;
  const pending: Record<1 | 2, string> = { 1: '', 2: '' };
  const emit = (fd: 1 | 2, text: string) => {
    const level = fd === 1 ? 'debug' : 'warn';
    if (text.trim() && (options.budget?.take() ?? true)) logger[level]({ guard, stream: fd === 1 ? 'stdout' : 'stderr' }, text.trimEnd().slice(0, MAX_LINE));
  };

  const writeToLog = (fd: 1 | 2, iovs: number, iovsLen: number, nwritten: number): number => {
    const memory = options.memory();
    const table = readBytes(memory, iovs >>> 0, (iovsLen >>> 0) * 8);
    if (!table) return ERRNO_FAULT;
    const view = new DataView(memory.buffer);
    let total = 0;
    const enabled = logger.isLevelEnabled(fd === 1 ? 'debug' : 'warn');
    let text = '';
    for (let i = 0; i < iovsLen; i++) {
      const ptr = view.getUint32((iovs >>> 0) + i * 8, true);
      const len = view.getUint32((iovs >>> 0) + i * 8 + 4, true);
      const bytes = readBytes(memory, ptr, len);
      if (!bytes) return ERRNO_FAULT;
      if (enabled) text += decoder.decode(bytes);
      total += len;
    }
    if (readBytes(memory, nwritten >>> 0, 4) === undefined) return ERRNO_FAULT;
    view.setUint32(nwritten >>> 0, total, true);
    if (enabled) {
      text = pending[fd] + text;
      const end = text.lastIndexOf('\n');
      if (end >= 0) emit(fd, text.slice(0, end));
      pending[fd] = text.slice(end + 1);
      if (pending[fd].length > MAX_LINE) {
        emit(fd, pending[fd]);
        pending[fd] = '';
      }
    }
    return ERRNO_SUCCESS;
  };

  const ours: WasiImports = {
    proc_exit: (code: number) => {
      throw new WasiExit(code);
    },
    fd_write: (fd, iovs, iovsLen, nwritten) =>
      fd === 1 || fd === 2 ? writeToLog(fd, iovs, iovsLen, nwritten) : nodeWasi().fd_write!(fd, iovs, iovsLen, nwritten),
    fd_read: (fd, iovs, iovsLen, nread) => {
      if (fd !== 0) return nodeWasi().fd_read!(fd, iovs, iovsLen, nread);
      const memory = options.memory();
      if (readBytes(memory, nread >>> 0, 4) === undefined) return ERRNO_FAULT;
      new DataView(memory.buffer).setUint32(nread >>> 0, 0, true); // stdin is always at end of file
      return ERRNO_SUCCESS;
    },
    // No environment, and the guard's name as the only argument.
    environ_sizes_get: (count, size) => writeU32s(options.memory(), [count, 0], [size, 0]),
    environ_get: () => ERRNO_SUCCESS,
    args_sizes_get: (count, size) => writeU32s(options.memory(), [count, 1], [size, arg().length]),
    args_get: (argv, argvBuf) => {
      const memory = options.memory();
      const target = readBytes(memory, argvBuf >>> 0, arg().length);
      if (!target) return ERRNO_FAULT;
      const errno = writeU32s(memory, [argv, argvBuf >>> 0]);
      if (errno === ERRNO_SUCCESS) target.set(arg());
      return errno;
    },
    random_get: (buf, len) => {
      const bytes = readBytes(options.memory(), buf >>> 0, len >>> 0);
      if (!bytes) return ERRNO_FAULT;
      randomFillSync(bytes);
      return ERRNO_SUCCESS;
    },
  };
  // A function node:wasi lacks stays missing, so instantiation names it as a missing import.
  const imports: WasiImports = {};
  for (const name of options.names) {
    const fn = ours[name] ?? (wasiFunctionNames().has(name) ? fromNode(name) : undefined);
    if (fn) imports[name] = fn;
  }

  return {
    imports,
    /** Logs what the guard wrote without a final newline; called at the end of every guard call. */
    flush() {
      for (const fd of [1, 2] as const) {
        if (pending[fd]) emit(fd, pending[fd]);
        pending[fd] = '';
      }
    },
  };
}
