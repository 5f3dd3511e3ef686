import type { GuardLogger } from '../logger.js';
import { readString } from './memory-view.js';

export interface HostLogOptions {
  guard: string;
  logger: GuardLogger;
  maxMessageBytes: number;
  maxMessagesPerSecond: number;
  memory: () => WebAssembly.Memory;
}

// Guard debug and info go to our debug level: real guards log dozens of info
// lines per call, which would drown the service's own info log.
const LEVELS = ['debug', 'debug', 'warn', 'error'] as const;

/**
 * env.host_log. Checks the level before decoding so a disabled level costs
 * nothing, and meters messages per instance with a token bucket so a guard
 * cannot flood the log; dropped messages are summarised, not lost silently.
 */
export function createHostLog(options: HostLogOptions & { budget?: LogBudget }): (level: number, ptr: number, len: number) => void {
  const { guard, logger, maxMessageBytes } = options;
  const budget = options.budget ?? createLogBudget(options);

  return (level, ptr, len) => {
    try {
      const pinoLevel = LEVELS[level] ?? 'debug';
      if (!logger.isLevelEnabled(pinoLevel)) return;
      if (!budget.take()) return;
      const length = len >>> 0;
      const truncated = length > maxMessageBytes;
      const text = readString(options.memory(), ptr, truncated ? maxMessageBytes : length);
      if (text === undefined) return;
      logger[pinoLevel]({ guard, guardLevel: level, ...(truncated ? { truncatedFrom: length } : {}) }, text);
    } catch {
      // A logging problem must never become a guard trap.
    }
  };
}

/** Log lines one instance may still write this second; shared by host_log and WASI stdout/stderr. */
export interface LogBudget {
  /** false: drop this line (counted, and summarised in one warn line when the next second begins). */
  take(): boolean;
}

/** A token bucket of `maxMessagesPerSecond` lines, refilled each second. */
export function createLogBudget(options: Pick<HostLogOptions, 'guard' | 'logger' | 'maxMessagesPerSecond'>): LogBudget {
  const { guard, logger, maxMessagesPerSecond } = options;
  let tokens = maxMessagesPerSecond;
  let lastRefill = Date.now();
  let dropped = 0;
  return {
    take() {
      const now = Date.now();
      if (now - lastRefill >= 1000) {
        if (dropped > 0) logger.warn({ guard, dropped }, 'guard log messages dropped by the rate limit');
        tokens = maxMessagesPerSecond;
        lastRefill = now;
        dropped = 0;
      }
      if (tokens <= 0) {
        dropped++;
        return false;
      }
      tokens--;
      return true;
    },
  };
}
