/** Per-guard limits of DESIGN.md section 2; every one is configurable per guard. */
export interface GuardLimits {
  maxInputBytes: number;
  initialOutputBytes: number;
  maxOutputBytes: number;
  /** Calls of one label function per invocation, counting the first: regrowths are attempts - 1. */
  maxOutputAttempts: number;
  memoryLimitBytes: number;
  maxBackendCalls: number;
  /** host_log: longest message kept (longer ones are cut) and messages per second per instance. */
  maxLogMessageBytes: number;
  maxLogMessagesPerSecond: number;
}

const MiB = 1024 * 1024;

export const DEFAULT_LIMITS: Readonly<GuardLimits> = Object.freeze({
  maxInputBytes: 8 * MiB,
  initialOutputBytes: 4 * MiB,
  maxOutputBytes: 16 * MiB,
  maxOutputAttempts: 3,
  memoryLimitBytes: 32 * MiB,
  maxBackendCalls: 50,
  maxLogMessageBytes: 4096,
  maxLogMessagesPerSecond: 100,
});

export function resolveLimits(overrides?: Partial<GuardLimits>): GuardLimits {
  const limits = { ...DEFAULT_LIMITS };
  for (const [key, value] of Object.entries(overrides ?? {})) {
    if (value !== undefined) (limits as Record<string, number>)[key] = value;
  }
  return limits;
}
