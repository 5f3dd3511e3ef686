/**
 * What a guard gets for every per-guard setting its configuration leaves out
 * (docs/contract.md §2 "Default limits", the README's "Configuration"). One
 * table: config/ resolves a guard's entry against it, guard/limits.ts builds
 * an instance's limits from it, and the pool sizes its queue by it.
 *
 * The pool size has no fixed default: config/pool-sizing.ts chooses it from
 * the cores and the container's CPU and memory limits.
 */

const MiB = 1024 * 1024;

export const GUARD_DEFAULTS = Object.freeze({
  /** Deadline of one guard call; past it the call's worker is terminated (WASMGUARD_CALL_TIMEOUT_MS, `timeoutMs`). */
  timeoutMs: 1000,
  /**
   * Instances of a guard started with it; the others start one at a time while calls wait, up to the pool
   * size (WASMGUARD_POOL_WARM, `poolWarm`). One: each is a worker thread of about 12 MB (issue 20).
   */
  poolWarm: 1,
  /**
   * An instance past the warm ones that stays idle this long (ms) is stopped, its worker with it
   * (WASMGUARD_POOL_IDLE_MS, `poolIdleMs`; 0 keeps them): a pool grown for a burst gives its memory
   * back, and starting one again when calls wait takes about 30 ms.
   */
  poolIdleMs: 60_000,
  /** Linear memory cap of each instance, also for a module that declares no maximum (WASMGUARD_MEMORY_LIMIT_MB, `memoryLimitMb`). */
  memoryLimitMb: 32,
  /** Calls that may wait per instance: the queue holds `poolSize × queuePerInstance` unless `maxQueue` says otherwise. */
  queuePerInstance: 64,
  /** Longest a call waits in the queue before it is refused with 503 (`queueTimeoutMs`). */
  queueTimeoutMs: 1000,
  /** The guard's buffers and call budget (`limits.*`). */
  limits: Object.freeze({
    maxInputBytes: 8 * MiB,
    /** The output buffer of a call's first attempt; it grows, up to maxOutputBytes, when the guard asks for more. */
    initialOutputBytes: 4 * MiB,
    maxOutputBytes: 16 * MiB,
    /** Calls of one label function per invocation, counting the first: regrowths are attempts - 1. */
    maxOutputAttempts: 3,
    /** call_backend calls per guard call; the next one gets -1. */
    maxBackendCalls: 50,
    /** host_log: longest message kept (longer ones are cut) and messages per second per instance. */
    maxLogMessageBytes: 4096,
    maxLogMessagesPerSecond: 100,
  }),
});

/** The queue of a pool of `poolSize` instances when the guard sets no `maxQueue`. */
export function defaultMaxQueue(poolSize: number): number {
  return poolSize * GUARD_DEFAULTS.queuePerInstance;
}
