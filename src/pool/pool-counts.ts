import {
  GuardExitError,
  GuardTimeoutError,
  GuardTrapError,
  guardErrorFromData,
  type GuardFunction,
  type GuardLogger,
  type TrapKind,
} from '../guard/index.js';
import type { EvictionReason, PoolObserver } from './observer.js';
import type { CallOutcome } from './worker-host.js';

export interface Counts {
  evictions: Partial<Record<EvictionReason, number>>;
  replacements: Partial<Record<EvictionReason, number>>;
  traps: Partial<Record<TrapKind, number>>;
  regrowths: Partial<Record<GuardFunction, { hinted: number; doubled: number }>>;
}

/**
 * What happened to a pool's instances, counted for PoolState and reported to
 * the observer (the metrics) and the log as it happens; and the guard's
 * failures in a row, which drive the backoff and the health.
 */
export class PoolCounts {
  readonly #counts: Counts = { evictions: {}, replacements: {}, traps: {}, regrowths: {} };
  #consecutiveFailures = 0;

  constructor(
    readonly guard: string,
    readonly observer: PoolObserver | undefined,
    readonly logger: GuardLogger,
  ) {}

  get consecutiveFailures(): number {
    return this.#consecutiveFailures;
  }

  /** A call succeeded: the guard is not failing any more. */
  succeeded(): void {
    this.#consecutiveFailures = 0;
  }

  snapshot(): Counts {
    return structuredClone(this.#counts);
  }

  trap(fn: GuardFunction | 'instantiate', kind: TrapKind): void {
    this.#counts.traps[kind] = (this.#counts.traps[kind] ?? 0) + 1;
    this.observer?.trap?.(this.guard, fn, kind);
  }

  /** Counts what stopped the instance in `outcome` (a trap, or an exit, which is no trap); returns the eviction reason. */
  stop(fn: GuardFunction, outcome: CallOutcome | undefined): EvictionReason {
    const error = outcome && !outcome.ok ? guardErrorFromData(outcome.error!) : undefined;
    if (error instanceof GuardExitError) return 'exit';
    if (error) this.trap(fn, error instanceof GuardTrapError ? error.kind : 'runtime');
    return 'trap';
  }

  /** An instance or its worker could not be started: logged, and counted as a trap of 'instantiate'. */
  startFailure(slot: number, error: unknown): void {
    this.logger.error({ guard: this.guard, slot, err: error }, 'guard instance could not be started');
    this.trap('instantiate', error instanceof GuardTrapError ? error.kind : error instanceof GuardTimeoutError ? 'deadline' : 'runtime');
  }

  regrowths(fn: GuardFunction, regrowths: { hinted: number; doubled: number }): void {
    const counts = (this.#counts.regrowths[fn] ??= { hinted: 0, doubled: 0 });
    counts.hinted += regrowths.hinted;
    counts.doubled += regrowths.doubled;
    if (regrowths.hinted) this.observer?.regrowth?.(this.guard, fn, 'hinted', regrowths.hinted);
    if (regrowths.doubled) this.observer?.regrowth?.(this.guard, fn, 'doubled', regrowths.doubled);
  }

  /** An instance stopped: one more failure in a row. */
  eviction(slot: number, reason: EvictionReason): void {
    this.#consecutiveFailures++;
    this.#counts.evictions[reason] = (this.#counts.evictions[reason] ?? 0) + 1;
    this.observer?.eviction?.(this.guard, reason);
    this.logger.warn({ guard: this.guard, slot, reason }, 'guard instance evicted');
  }

  replacement(reason: EvictionReason): void {
    this.#counts.replacements[reason] = (this.#counts.replacements[reason] ?? 0) + 1;
    this.observer?.replacement?.(this.guard, reason);
  }
}
