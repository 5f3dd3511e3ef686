import { performance } from 'node:perf_hooks';
/**
 * One guard instance's life in the pool (docs/instance-lifecycle.md): its
 * states, the policy it holds, and the one decision of how it is replaced
 * once it has stopped. replacement.ts carries that decision out; the worker
 * replaces an instance in the middle of a batch only when the pool said so
 * beforehand (H.REPLACE_INLINE).
 */
import type { WorkerHost } from './worker-host.js';
import type { EvictionReason } from './observer.js';

/**
 * starting: a new instance (or worker) is being started; idle: ready, fresh or
 * policy-bound; busy: reserved for a batch or running one; poisoned: stopped
 * (trap, exit, deadline, crash, failed start), waiting for its replacement,
 * or retired for good when the pool is closing.
 */
export type InstanceState = 'starting' | 'idle' | 'busy' | 'poisoned';

/** The policy numbers an instance can hold besides a policy's own (> 0); the worker uses the same. */
export const NO_POLICY = 0;
/** label_agent refused the last policy: the instance labels under none known, and is given one again before use. */
export const REFUSED_POLICY = -1;

/** Calls reserved to a slot in the current turn of the event loop, handed over together when it ends (scheduler.ts). */
export interface Gathering<W> {
  waiters: W[];
  bytes: number;
}

/** One instance of the pool: the worker it lives in, its state, the policy it holds. */
export class InstanceSlot<W = unknown> {
  state: InstanceState;
  /**
   * The policy number the instance holds, as its worker last reported it
   * (NO_POLICY for a fresh instance): the one record the scheduler reads
   * for policy affinity.
   */
  policyId = NO_POLICY;
  gathering: Gathering<W> | undefined;
  /** Calls in the batch handed over to the worker. */
  handedOver = 0;
  /**
   * Starts of this slot's instance that failed in a row. They set its backoff with the guard's failures in
   * a row, which any call that succeeds on another instance sets back to 0: without them a slot whose
   * instance can no longer start would retry at once, a worker start after another.
   */
  failedStarts = 0;

  constructor(
    readonly id: number,
    public host: WorkerHost | undefined,
  ) {
    this.state = 'idle';
    this.idleSince = performance.now();
  }

  /** Ready and serving: idle or busy. */
  get live(): boolean {
    return this.state === 'idle' || this.state === 'busy';
  }

  /** Holds a policy worth keeping for calls under it. */
  get holdsPolicy(): boolean {
    return this.policyId > NO_POLICY;
  }

  /** Reserved for a batch (idle → busy). */
  reserve(): void {
    this.state = 'busy';
  }

  /** When it last became idle (performance.now()): the pool stops instances past its warm ones that stay idle. */
  idleSince = 0;

  /** Free for the next batch (busy or starting → idle). */
  release(): void {
    this.state = 'idle';
    this.idleSince = performance.now();
  }

  /** Stopped: serves no call until replaced, or ever if the pool is closing. */
  poison(): void {
    this.state = 'poisoned';
  }

  /** Its replacement is being started. */
  starting(): void {
    this.state = 'starting';
  }

  /** A fresh instance replaced the stopped one: it holds no policy (nor does its worker). */
  replaced(): void {
    this.policyId = NO_POLICY;
    this.failedStarts = 0;
    this.release();
  }
}

/**
 * How a stopped instance is replaced:
 * - in-batch: by its worker, at once, before the next call of the same batch;
 * - same-worker: a new instance in the same worker (Op.RESET), after `delayMs`;
 * - new-worker: a started worker (the spare when it is ready, else a new one), after `delayMs`.
 */
export type Replacement = { path: 'in-batch' } | { path: 'same-worker'; delayMs: number } | { path: 'new-worker'; delayMs: number };

export interface InstanceStop {
  reason: EvictionReason;
  /** The worker thread still runs and can be trusted: only its wasm instance stopped. */
  workerAlive: boolean;
  /** The stop happens inside a batch that has calls left to run. */
  midBatch?: boolean;
}

export interface Backoff {
  baseMs: number;
  maxMs: number;
}

/** 0 for an isolated failure; base * 2^(n-2), capped, once the guard has failed n >= 2 times in a row. */
export function backoffDelay(consecutiveFailures: number, backoff: Backoff): number {
  if (consecutiveFailures <= 1) return 0;
  return Math.min(backoff.maxMs, backoff.baseMs * 2 ** (consecutiveFailures - 2));
}

/** Asked before each batch: may the worker replace an instance that stops mid-batch and go on (replacementFor's in-batch rule)? */
export function replacesInBatch(consecutiveFailures: number): boolean {
  return consecutiveFailures === 0;
}

/**
 * The one place that decides how a stopped instance is replaced, given the
 * guard's failures in a row (the stop itself included, except for a worker
 * that died idle, which is not counted as a failure, and for a
 * mid-batch stop, which is decided before the batch starts):
 * - a worker that was terminated (deadline, a start that overran) or died
 *   is not trusted again: a new worker;
 * - a stop mid-batch of a guard that is not failing (no failure in a row) is
 *   replaced by the worker, so the rest of the batch is not sent back to
 *   the queue: instantiation from the cached module takes microseconds;
 * - otherwise a new instance in the same worker;
 * and a guard that keeps failing waits out its backoff first.
 */
export function replacementFor(stop: InstanceStop, consecutiveFailures: number, backoff: Backoff): Replacement {
  if (!stop.workerAlive) return { path: 'new-worker', delayMs: backoffDelay(consecutiveFailures, backoff) };
  if (stop.midBatch && replacesInBatch(consecutiveFailures)) return { path: 'in-batch' };
  return { path: 'same-worker', delayMs: backoffDelay(consecutiveFailures, backoff) };
}
