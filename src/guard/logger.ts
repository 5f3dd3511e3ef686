/** The subset of pino's Logger the guard runtime uses, so a worker can pass a forwarding logger. */
export interface GuardLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  isLevelEnabled(level: string): boolean;
}

/** Discards everything; the default when no logger is given. */
export const silentLogger: GuardLogger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  isLevelEnabled: () => false,
};
