import { performance } from 'node:perf_hooks';
import { GuardOverloadedError } from '../guard/index.js';
import { MAX_BATCH } from './channel.js';
import type { InstanceSlot } from './instance-lifecycle.js';
import type { PoolObserver } from './observer.js';
import type { PoolCall, PoolResult } from './guard-pool.js';

export interface Waiter {
  call: PoolCall;
  /** The number the worker knows the call's policy by (0 = none). */
  policyId: number;
  enqueuedAt: number;
  /** It found no idle instance: it waits (queued, or gathered behind another call) and its wait is bounded and observed. */
  waits: boolean;
  /** Answered already (its wait ran out while it sat in a batch): never run again. */
  expired?: boolean;
  timer?: NodeJS.Timeout;
  resolve: (result: PoolResult) => void;
  reject: (error: unknown) => void;
}

export type Slot = InstanceSlot<Waiter>;

export interface SchedulerOptions {
  guard: string;
  maxQueue: number;
  queueTimeoutMs: number;
  /** Bytes of the channel's data region: a batch's requests must fit in it. */
  channelBytes: number;
  observer: PoolObserver | undefined;
  /** Hands a batch to the slot's worker (the slot is busy). */
  runBatch: (slot: Slot, waiters: Waiter[]) => void;
  /** A call left the queue without running (its wait ran out). */
  dequeued: () => void;
}

/** Most bytes a call can take in the channel: a UTF-16 unit encodes to at most 3 UTF-8 bytes; bytes are copied as they are. */
const channelBytesBound = ({ policy, input }: PoolCall) => textBound(policy?.json) + inputBound(input);

const textBound = (text: string | undefined): number => 3 * (text?.length ?? 0);

const inputBound = (input: PoolCall['input']): number => {
  if (typeof input !== 'object') return textBound(input);
  let bytes = 0;
  for (const part of input) bytes += typeof part === 'string' ? textBound(part) : part.length;
  return bytes;
};

/**
 * Which instance runs a call, and when: an idle one at once (preferring the
 * one that holds the call's policy), gathered with the other calls of this
 * turn of the event loop into one batch, or in a bounded queue whose calls a
 * worker coming free takes as one batch. A call's wait is bounded wherever it
 * waits.
 */
export class Scheduler {
  readonly #queue: Waiter[] = [];

  constructor(
    readonly slots: readonly Slot[],
    readonly options: SchedulerOptions,
  ) {}

  get queued(): number {
    return this.#queue.length;
  }

  /**
   * Calls waiting for an instance: in the queue, gathered behind the first
   * call of a batch, or in a worker's batch behind the call it runs.
   */
  waiting(): number {
    let waiting = this.#queue.length;
    for (const slot of this.slots) {
      if (slot.gathering) waiting += slot.gathering.waiters.length - 1;
      if (slot.handedOver > 1 && slot.host) waiting += Math.max(0, slot.handedOver - 1 - slot.host.runningCall());
    }
    return waiting;
  }

  get full(): boolean {
    return this.waiting() >= this.options.maxQueue;
  }

  /**
   * The slot to run the call on: an idle one, else one gathering a batch that
   * has room for it; undefined when neither (the caller queues or refuses it).
   */
  pick(call: PoolCall, policyId: number): Slot | undefined {
    return this.#pickIdle(policyId) ?? this.#pickGathering(call);
  }

  /** An idle instance, preferring one already in the call's policy state (so label_agent need not run again). */
  #pickIdle(policyId: number): Slot | undefined {
    let fallback: Slot | undefined;
    for (const slot of this.slots) {
      if (slot.state !== 'idle') continue;
      if (slot.policyId === policyId) return slot;
      // Otherwise one with no policy worth keeping, so another policy's warm instance is not taken over.
      if (!fallback || (fallback.holdsPolicy && !slot.holdsPolicy)) fallback = slot;
    }
    return fallback;
  }

  /**
   * A slot gathering a batch that has room for the call (the one with the
   * fewest calls, so a burst is spread over the instances).
   */
  #pickGathering(call: PoolCall): Slot | undefined {
    if (this.full) return undefined;
    const size = channelBytesBound(call);
    let best: Slot | undefined;
    for (const slot of this.slots) {
      const batch = slot.gathering;
      if (!batch || batch.waiters.length >= MAX_BATCH || batch.bytes + size > this.options.channelBytes) continue;
      if (!best || batch.waiters.length < best.gathering!.waiters.length) best = slot;
    }
    return best;
  }

  /**
   * Reserves the call to the slot. The batch is handed over once this turn of
   * the event loop has run (setImmediate), so that the requests read from
   * the network in one turn reach a worker with one wake-up, not one each.
   */
  gather(slot: Slot, waiter: Waiter): void {
    if (slot.gathering) {
      slot.gathering.waiters.push(waiter);
      slot.gathering.bytes += channelBytesBound(waiter.call);
      return;
    }
    slot.reserve();
    slot.gathering = { waiters: [waiter], bytes: channelBytesBound(waiter.call) };
    setImmediate(() => {
      const { waiters } = slot.gathering!;
      slot.gathering = undefined;
      this.options.runBatch(slot, waiters);
    });
  }

  /** Queues a call with its wait timeout; calls that must run again (their batch stopped early) go to the front. */
  enqueue(waiter: Waiter, front = false): void {
    if (front) {
      // Back from a batch that stopped early: it waits again, with a fresh bound.
      waiter.waits = true;
      waiter.enqueuedAt = performance.now();
    }
    waiter.timer = setTimeout(() => {
      const index = this.#queue.indexOf(waiter);
      if (index >= 0) this.#queue.splice(index, 1);
      this.waitedTooLong(waiter);
      this.options.dequeued();
    }, this.options.queueTimeoutMs);
    if (front) this.#queue.unshift(waiter);
    else this.#queue.push(waiter);
  }

  /** Answers a call whose wait ran out (in the queue, or in a batch before the worker reached it). */
  waitedTooLong(waiter: Waiter): void {
    const { guard, queueTimeoutMs } = this.options;
    waiter.expired = true;
    this.options.observer?.rejected?.(guard, 'wait_timeout');
    waiter.reject(new GuardOverloadedError(`guard ${guard} is overloaded: no instance free within ${queueTimeoutMs} ms`, 1, { guard }));
  }

  /** The calls at the head of the queue that fit in one batch (always at least one); none when the queue is empty. */
  takeBatch(): Waiter[] {
    const batch: Waiter[] = [];
    let bytes = 0;
    while (this.#queue.length > 0 && batch.length < MAX_BATCH) {
      const waiter = this.#queue[0]!;
      const size = channelBytesBound(waiter.call);
      if (batch.length > 0 && bytes + size > this.options.channelBytes) break;
      this.#queue.shift();
      clearTimeout(waiter.timer);
      bytes += size;
      batch.push(waiter);
    }
    return batch;
  }

  /** Empties the queue, failing each call with `error()` (the guard became unavailable, or the pool closed). */
  failQueued(error: () => unknown, onEach?: () => void): void {
    for (const waiter of this.#queue.splice(0)) {
      clearTimeout(waiter.timer);
      onEach?.();
      waiter.reject(error());
    }
  }
}
