import { GUARD_DEFAULTS } from './defaults.js';

/** Per-guard limits of docs/contract.md §2; every one is configurable per guard (defaults in defaults.ts). */
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

export const DEFAULT_LIMITS: Readonly<GuardLimits> = Object.freeze({
  ...GUARD_DEFAULTS.limits,
  memoryLimitBytes: GUARD_DEFAULTS.memoryLimitMb * 1024 * 1024,
});

export function resolveLimits(overrides?: Partial<GuardLimits>): GuardLimits {
  const limits = { ...DEFAULT_LIMITS };
  for (const [key, value] of Object.entries(overrides ?? {})) {
    if (value !== undefined) (limits as Record<string, number>)[key] = value;
  }
  return limits;
}
