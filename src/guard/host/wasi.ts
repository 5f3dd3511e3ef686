import { createRequire } from 'node:module';
import type { WASI as WasiClass } from 'node:wasi';
import type { GuardLogger } from '../logger.js';
import { readBytes } from './memory-view.js';

let WASI: typeof WasiClass | undefined;

/**
 * Loads node:wasi on first use without its ExperimentalWarning: the warning
 * would print on every start and in every worker, and says nothing an
 * operator can act on (preview1 is what guards target, and it is frozen).
 */
function loadWasi(): typeof WasiClass {
  if (WASI) return WASI;
  const emitWarning = process.emitWarning;
  process.emitWarning = () => {};
  try {
    WASI = (createRequire(import.meta.url)('node:wasi') as typeof import('node:wasi')).WASI;
  } finally {
    process.emitWarning = emitWarning;
  }
  return WASI;
}

/** Thrown by our proc_exit so the exit ends the call, never the process. */
export class WasiExit {
  constructor(readonly code: number) {}
}

const ERRNO_SUCCESS = 0;
const ERRNO_FAULT = 21;
const decoder = new TextDecoder();

type WasiImports = Record<string, (...args: number[]) => number>;

/**
 * WASI preview1 for one instance (a shared WASI object would let a second
 * instance's calls touch the first one's memory on Node 24+). No preopens, no
 * environment, fixed args, empty stdin; stdout and stderr go to the service
 * log, never to the process's own streams.
 */
export function createWasi(options: { guard: string; logger: GuardLogger; memory: () => WebAssembly.Memory }) {
  const { guard, logger } = options;
  // returnOnExit must stay true: false makes proc_exit end the whole process, even from a worker.
  const wasi = new (loadWasi())({ version: 'preview1', args: [guard], env: {}, preopens: {}, returnOnExit: true });
  const native = (wasi.getImportObject() as { wasi_snapshot_preview1: unknown }).wasi_snapshot_preview1 as WasiImports;
  // Imported as they are, node:wasi's native functions cost a freshly compiled
  // import wrapper each at every instantiation (about 0.2 ms apiece on Node 20:
  // 1.2 ms for a Rust guard's six); JS closures share the wrappers V8 caches
  // per module, so instantiation stays near 0.1 ms.
  const base: WasiImports = {};
  for (const [name, fn] of Object.entries(native)) base[name] = (...args: number[]) => fn(...args);

  // Line-buffered per stream: Rust's stderr is unbuffered, so one eprintln!
  // or panic message arrives as many small writes; a record per write would
  // split it into fragments. Complete lines are logged as they arrive, the
  // rest at the end of the guard call (flush) or when it gets long.
  const MAX_LINE = 4096;
  const pending: Record<1 | 2, string> = { 1: '', 2: '' };
  const emit = (fd: 1 | 2, text: string) => {
    const level = fd === 1 ? 'debug' : 'warn';
    if (text.trim()) logger[level]({ guard, stream: fd === 1 ? 'stdout' : 'stderr' }, text.trimEnd().slice(0, MAX_LINE));
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

  const imports: WasiImports = {
    ...base,
    proc_exit: (code: number) => {
      throw new WasiExit(code);
    },
    fd_write: (fd, iovs, iovsLen, nwritten) =>
      fd === 1 || fd === 2 ? writeToLog(fd, iovs, iovsLen, nwritten) : base.fd_write!(fd, iovs, iovsLen, nwritten),
    fd_read: (fd, iovs, iovsLen, nread) => {
      if (fd !== 0) return base.fd_read!(fd, iovs, iovsLen, nread);
      const memory = options.memory();
      if (readBytes(memory, nread >>> 0, 4) === undefined) return ERRNO_FAULT;
      new DataView(memory.buffer).setUint32(nread >>> 0, 0, true); // stdin is always at end of file
      return ERRNO_SUCCESS;
    },
  };

  return {
    imports,
    /**
     * Binds WASI to the instance's memory without running anything: Node's
     * initialize() refuses modules exporting _start and would itself call
     * _initialize, and we decide about both ourselves.
     */
    bind(memory: WebAssembly.Memory) {
      wasi.initialize({ exports: { memory } });
    },
    /** Logs what the guard wrote without a final newline; called at the end of every guard call. */
    flush() {
      for (const fd of [1, 2] as const) {
        if (pending[fd]) emit(fd, pending[fd]);
        pending[fd] = '';
      }
    },
  };
}
