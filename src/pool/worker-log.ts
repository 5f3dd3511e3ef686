import type { GuardLogger } from '../guard/index.js';

export interface WorkerLogMessage {
  type: 'log';
  level: 'debug' | 'info' | 'warn' | 'error';
  obj: object;
  msg?: string;
}

const LEVEL_VALUES: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

/**
 * A logger for the worker that forwards to the main thread's pino. Level
 * checks happen here, so disabled guard logging never crosses the thread.
 */
export function forwardingLogger(level: string, post: (message: WorkerLogMessage) => void): GuardLogger {
  const threshold = LEVEL_VALUES[level] ?? LEVEL_VALUES.info!;
  const enabled = (l: string) => (LEVEL_VALUES[l] ?? 0) >= threshold;
  const at =
    (l: WorkerLogMessage['level']) =>
    (obj: object, msg?: string): void => {
      if (enabled(l)) post({ type: 'log', level: l, obj, msg });
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), isLevelEnabled: enabled };
}
