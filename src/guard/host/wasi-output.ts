import type { GuardLogger } from '../logger.js';
import type { LogBudget } from './log.js';
import { readBytes } from './memory-view.js';
import { ERRNO_FAULT, ERRNO_SUCCESS } from './wasi-errno.js';

/** Longest line logged; a longer unfinished line is logged in pieces. */
const MAX_LINE = 4096;
const decoder = new TextDecoder();

/**
 * A guard's stdout (debug) and stderr (warn), sent to the service log and
 * never to the process's own streams. Line-buffered per stream: Rust's
 * stderr is unbuffered, so one eprintln! or panic message arrives as many
 * small writes; a record per write would split it into fragments. Complete
 * lines are logged as they arrive, the rest at the end of the guard call
 * (flush) or when it gets long. Text is not decoded when the level is off.
 */
export function createWasiOutput(options: {
  guard: string;
  logger: GuardLogger;
  memory: () => WebAssembly.Memory;
  /** Bounds the lines stdout and stderr may log (a guard printing in a loop would flood the service log). */
  budget?: LogBudget;
}) {
  const { guard, logger } = options;
  const pending: Record<1 | 2, string> = { 1: '', 2: '' };
  const emit = (fd: 1 | 2, text: string) => {
    const level = fd === 1 ? 'debug' : 'warn';
    if (text.trim() && (options.budget?.take() ?? true)) logger[level]({ guard, stream: fd === 1 ? 'stdout' : 'stderr' }, text.trimEnd().slice(0, MAX_LINE));
  };

  /** Logs complete lines, keeps the rest for the next write. */
  const buffer = (fd: 1 | 2, text: string) => {
    text = pending[fd] + text;
    const end = text.lastIndexOf('\n');
    if (end >= 0) emit(fd, text.slice(0, end));
    pending[fd] = text.slice(end + 1);
    if (pending[fd].length > MAX_LINE) {
      emit(fd, pending[fd]);
      pending[fd] = '';
    }
  };

  return {
    /** fd_write to stdout (1) or stderr (2): reads the iovecs, reports every byte written. */
    write(fd: 1 | 2, iovs: number, iovsLen: number, nwritten: number): number {
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
      if (enabled) buffer(fd, text);
      return ERRNO_SUCCESS;
    },
    /** Logs what the guard wrote without a final newline. */
    flush(): void {
      for (const fd of [1, 2] as const) {
        if (pending[fd]) emit(fd, pending[fd]);
        pending[fd] = '';
      }
    },
  };
}
