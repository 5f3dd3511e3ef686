import { randomFillSync } from 'node:crypto';
import type { GuardLogger } from '../logger.js';
import type { LogBudget } from './log.js';
import { readBytes } from './memory-view.js';
import { ERRNO_FAULT, ERRNO_SUCCESS } from './wasi-errno.js';
import { lazyNodeWasi, wasiFunctionNames, type WasiImports } from './wasi-node.js';
import { createWasiOutput } from './wasi-output.js';

export { isWasiExperimentalWarning } from './wasi-node.js';

/** Thrown by our proc_exit so the exit ends the call, never the process. */
export class WasiExit {
  constructor(readonly code: number) {}
}

const encoder = new TextEncoder();

/** Writes u32 values at guest pointers: all of them, or none and EFAULT when one is out of bounds. */
function writeU32s(memory: WebAssembly.Memory, ...writes: [ptr: number, value: number][]): number {
  if (writes.some(([ptr]) => readBytes(memory, ptr >>> 0, 4) === undefined)) return ERRNO_FAULT;
  const view = new DataView(memory.buffer);
  for (const [ptr, value] of writes) view.setUint32(ptr >>> 0, value, true);
  return ERRNO_SUCCESS;
}

/**
 * The functions guards call in practice, answered here: stdout and stderr to
 * the log, an empty stdin, no environment, the guard's name as the only
 * argument, random bytes, and proc_exit ending the call. Other descriptors go
 * to node:wasi (which has no preopens, so they fail there).
 */
function hostFunctions(
  guard: string,
  memory: () => WebAssembly.Memory,
  output: ReturnType<typeof createWasiOutput>,
  nodeWasi: () => WasiImports,
): WasiImports {
  // The one argument, NUL-terminated; encoded when a guard first asks (most never do).
  let argBytes: Uint8Array | undefined;
  const arg = () => (argBytes ??= encoder.encode(`${guard}\0`));
  return {
    proc_exit: (code: number) => {
      throw new WasiExit(code);
    },
    fd_write: (fd, iovs, iovsLen, nwritten) =>
      fd === 1 || fd === 2 ? output.write(fd, iovs, iovsLen, nwritten) : nodeWasi().fd_write!(fd, iovs, iovsLen, nwritten),
    fd_read: (fd, iovs, iovsLen, nread) => {
      if (fd !== 0) return nodeWasi().fd_read!(fd, iovs, iovsLen, nread);
      const mem = memory();
      if (readBytes(mem, nread >>> 0, 4) === undefined) return ERRNO_FAULT;
      new DataView(mem.buffer).setUint32(nread >>> 0, 0, true); // stdin is always at end of file
      return ERRNO_SUCCESS;
    },
    environ_sizes_get: (count, size) => writeU32s(memory(), [count, 0], [size, 0]),
    environ_get: () => ERRNO_SUCCESS,
    args_sizes_get: (count, size) => writeU32s(memory(), [count, 1], [size, arg().length]),
    args_get: (argv, argvBuf) => {
      const mem = memory();
      const target = readBytes(mem, argvBuf >>> 0, arg().length);
      if (!target) return ERRNO_FAULT;
      const errno = writeU32s(mem, [argv, argvBuf >>> 0]);
      if (errno === ERRNO_SUCCESS) target.set(arg());
      return errno;
    },
    random_get: (buf, len) => {
      const bytes = readBytes(memory(), buf >>> 0, len >>> 0);
      if (!bytes) return ERRNO_FAULT;
      randomFillSync(bytes);
      return ERRNO_SUCCESS;
    },
  };
}

/**
 * WASI preview1 for one instance (a shared WASI object would let a second
 * instance's calls touch the first one's memory on Node 24+). No preopens, no
 * environment, fixed args, empty stdin; stdout and stderr go to the service
 * log (wasi-output.ts), never to the process's own streams.
 *
 * Only the functions the module imports are built (`names`): ours where we
 * have one, else node:wasi's, created for the instance at its first use
 * (wasi-node.ts).
 */
export function createWasi(options: {
  guard: string;
  logger: GuardLogger;
  memory: () => WebAssembly.Memory;
  names: readonly string[];
  /** Bounds the lines stdout and stderr may log (a guard printing in a loop would flood the service log). */
  budget?: LogBudget;
}) {
  const output = createWasiOutput(options);
  const nodeWasi = lazyNodeWasi(options.guard, options.memory);
  const ours = hostFunctions(options.guard, options.memory, output, nodeWasi);
  // JS closures, not node:wasi's native functions: imported as they are,
  // those cost a freshly compiled import wrapper each at every instantiation
  // (about 0.2 ms apiece on Node 20); closures share the wrappers V8 caches
  // per module.
  const fromNode = (name: string) => (...args: number[]) => nodeWasi()[name]!(...args);
  // A function node:wasi lacks stays missing, so instantiation names it as a missing import.
  const imports: WasiImports = {};
  for (const name of options.names) {
    const fn = ours[name] ?? (wasiFunctionNames().has(name) ? fromNode(name) : undefined);
    if (fn) imports[name] = fn;
  }
  return {
    imports,
    /** Logs what the guard wrote without a final newline; called at the end of every guard call. */
    flush: output.flush,
  };
}
