import type { GuardFunction, GuardLogger, TrapKind } from '../guard/index.js';

export type EvictionReason = 'trap' | 'exit' | 'deadline' | 'crash' | 'start_failed';

/** What a pool reports as it works; the metrics module implements it. All optional. */
export interface PoolObserver {
  callDuration?(guard: string, fn: GuardFunction, seconds: number, outcome: 'ok' | 'error'): void;
  queueWait?(guard: string, seconds: number): void;
  /** A batch of `size` calls was handed to a worker. */
  batch?(guard: string, size: number): void;
  trap?(guard: string, fn: GuardFunction | 'instantiate', kind: TrapKind): void;
  regrowth?(guard: string, fn: GuardFunction, how: 'hinted' | 'doubled', count: number): void;
  eviction?(guard: string, reason: EvictionReason): void;
  replacement?(guard: string, reason: EvictionReason): void;
  rejected?(guard: string, reason: 'queue_full' | 'wait_timeout' | 'unavailable' | 'closed'): void;
}

/**
 * Wraps an observer so that an exception in it (a metrics bug) is logged and
 * never escapes into the pool, where it would leave an instance marked busy.
 */
export function guardedObserver(observer: PoolObserver | undefined, logger: GuardLogger): PoolObserver | undefined {
  if (!observer) return undefined;
  const guarded: PoolObserver = {};
  for (const [name, fn] of Object.entries(observer) as Array<[keyof PoolObserver, ((...args: unknown[]) => void) | undefined]>) {
    if (typeof fn !== 'function') continue;
    (guarded as Record<string, unknown>)[name] = (...args: unknown[]) => {
      try {
        fn.apply(observer, args);
      } catch (error) {
        logger.error({ err: error, callback: name }, 'pool observer failed');
      }
    };
  }
  return guarded;
}
