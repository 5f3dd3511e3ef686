import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import {
  GuardExitError,
  GuardInputTooLargeError,
  GuardOverloadedError,
  GuardPoolClosedError,
  GuardTimeoutError,
  GuardTrapError,
  GuardUnavailableError,
  guardErrorFromData,
  type GuardFunction,
  type GuardLogger,
  type InstanceSource,
  type TrapKind,
} from '../guard/index.js';
import { guardedObserver, type EvictionReason, type PoolObserver } from './observer.js';
import { MAX_BATCH } from './channel.js';
import { WorkerHost, type BackendHandler, type BatchOutcome, type CallOutcome, type WorkerCall } from './worker-host.js';

export interface PoolOptions {
  /** Instances (one per worker thread). Default: available cores. */
  size?: number;
  /** Deadline of one guard call, in ms. */
  timeoutMs?: number;
  /** Calls allowed to wait for an instance; past it calls are refused at once. */
  maxQueue?: number;
  /** Longest a call may wait for an instance, in ms. */
  queueTimeoutMs?: number;
  logger: GuardLogger;
  logLevel?: string;
  backend?: BackendHandler;
  observer?: PoolObserver;
  /** Replacement delay after repeated failures: base * 2^(n-2), capped. */
  backoff?: { baseMs: number; maxMs: number };
  /** Keep one started worker in reserve so a terminated one is replaced in microseconds, not 30 ms. */
  spare?: boolean;
}

export interface PoolCall {
  fn: GuardFunction;
  /** Input JSON for label_resource / label_response (ignored for label_agent, whose input is the policy). */
  input?: string;
  /** The policy the instance must label under; absent = the guard's built-in defaults (a fresh instance). */
  policy?: { key: string; json: string };
}

export interface PoolResult {
  output: string;
  /** label_agent output, when the call had to initialise the instance with the policy first. */
  agentOutput?: string;
}

/** Never reached: a pool without a backend has its workers answer call_backend themselves. */
const NO_BACKEND: BackendHandler = async () => undefined;

type SlotState = 'starting' | 'idle' | 'busy' | 'poisoned';
/** An instance that ran label_agent with a policy that failed: labels under no known policy. */
const DIRTY = Symbol('dirty');

const holdsPolicy = (slot: Slot) => slot.policy !== null && slot.policy !== DIRTY;

interface Slot {
  id: number;
  host: WorkerHost | undefined;
  state: SlotState;
  /** Calls reserved to this slot in the current turn of the event loop, handed over together when it ends. */
  gathering?: { waiters: Waiter[]; bytes: number };
  /** Calls in the batch handed over to the worker. */
  handedOver: number;
  /** Policy key the instance was initialised with; null = never ran label_agent. */
  policy: string | null | typeof DIRTY;
}

interface Waiter {
  call: PoolCall;
  enqueuedAt: number;
  /** It found no idle instance: it waits (queued, or gathered behind another call) and its wait is bounded and observed. */
  waits: boolean;
  /** Answered already (its wait ran out while it sat in a batch): never run again. */
  expired?: boolean;
  timer?: NodeJS.Timeout;
  resolve: (result: PoolResult) => void;
  reject: (error: unknown) => void;
}

export interface PoolState {
  size: number;
  healthy: boolean;
  instances: Record<SlotState, number>;
  queueLength: number;
  consecutiveFailures: number;
  evictions: Partial<Record<EvictionReason, number>>;
  replacements: Partial<Record<EvictionReason, number>>;
  traps: Partial<Record<TrapKind, number>>;
  regrowths: Partial<Record<GuardFunction, { hinted: number; doubled: number }>>;
}

/** Failures in a row after which a guard with no live instance is reported unhealthy and refused at once. */
const UNHEALTHY_AFTER = 3;
const MiB = 1024 * 1024;
/** Policies numbered before the numbering starts over (a renumbered policy costs one label_agent run). */
const POLICY_IDS_LIMIT = 4096;

/** Most bytes a call can take in the channel: a UTF-16 unit encodes to at most 3 UTF-8 bytes. */
const channelBytesBound = (call: PoolCall) => 3 * ((call.policy?.json.length ?? 0) + (call.input?.length ?? 0));

/**
 * A pool of instances of one guard, each in its own worker thread. Calls go
 * to an idle instance (preferring one already initialised with the call's
 * policy) or wait in a bounded queue; a worker that comes free takes every
 * waiting call (up to MAX_BATCH) in one batch. An instance that traps is never used
 * again: it is replaced in the background, with backoff when the guard keeps
 * failing. A call past its deadline gets its worker terminated.
 */
export class GuardPool {
  readonly guard: string;
  readonly #source: InstanceSource;
  readonly #slots: Slot[] = [];
  readonly #queue: Waiter[] = [];
  readonly #options: Required<Omit<PoolOptions, 'backend' | 'observer'>> & Pick<PoolOptions, 'observer'>;
  readonly #backend: BackendHandler | undefined;
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #policyIds = new Map<string, number>();
  #nextPolicyId = 1;
  readonly #channelBytes: number;
  #spare: WorkerHost | undefined;
  #consecutiveFailures = 0;
  #closing: Promise<void> | undefined;
  #drained: (() => void) | undefined;
  readonly #counts: Pick<PoolState, 'evictions' | 'replacements' | 'traps' | 'regrowths'> = {
    evictions: {},
    replacements: {},
    traps: {},
    regrowths: {},
  };

  private constructor(source: InstanceSource, options: PoolOptions) {
    this.guard = source.name;
    this.#source = source;
    const size = Math.max(1, options.size ?? availableParallelism());
    this.#options = {
      size,
      timeoutMs: options.timeoutMs ?? 1000,
      maxQueue: options.maxQueue ?? size * 64,
      queueTimeoutMs: options.queueTimeoutMs ?? 1000,
      logger: options.logger,
      logLevel: options.logLevel ?? 'info',
      backoff: options.backoff ?? { baseMs: 10, maxMs: 5000 },
      spare: options.spare ?? true,
      observer: guardedObserver(options.observer, options.logger),
    };
    this.#backend = options.backend;
    const { limits } = source;
    // The channel carries the policy plus input one way, label_agent plus label output the other.
    this.#channelBytes = 2 * Math.max(limits.maxInputBytes, limits.maxOutputBytes) + MiB;
  }

  /** Starts every worker; resolves when all are ready, rejects with the guard's error if none can start. */
  static async start(source: InstanceSource, options: PoolOptions): Promise<GuardPool> {
    const pool = new GuardPool(source, options);
    await pool.#startAll();
    return pool;
  }

  async #startAll(): Promise<void> {
    const hosts = Array.from({ length: this.#options.size }, () => this.#newHost());
    const started = await Promise.allSettled(hosts.map((h) => h.ready));
    const failure = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) {
      await Promise.all(hosts.map((h) => h.terminate()));
      throw failure.reason;
    }
    hosts.forEach((host, id) => this.#slots.push(this.#watch({ id, host, state: 'idle', policy: null, handedOver: 0 })));
    this.#refillSpare();
  }

  #newHost(): WorkerHost {
    const { logger, logLevel, timeoutMs } = this.#options;
    return new WorkerHost(this.#source, { logger, logLevel, dataBytes: this.#channelBytes, timeoutMs, hasBackend: this.#backend !== undefined });
  }

  #watch(slot: Slot): Slot {
    const host = slot.host!;
    host.onExit(() => {
      // A worker that dies while idle is replaced; one that dies mid-call is handled by that call.
      if (slot.host === host && slot.state === 'idle' && !this.#closing) this.#replaceWorker(slot, 'crash');
    });
    return slot;
  }

  #refillSpare(): void {
    if (!this.#options.spare || this.#closing || this.#spare) return;
    const spare = this.#newHost();
    this.#spare = spare;
    spare.ready.catch(() => {
      if (this.#spare === spare) this.#spare = undefined;
    });
  }

  get healthy(): boolean {
    return this.#liveSlots() > 0 || this.#consecutiveFailures < UNHEALTHY_AFTER;
  }

  #liveSlots(): number {
    return this.#slots.filter((s) => s.state === 'idle' || s.state === 'busy').length;
  }

  state(): PoolState {
    const instances: Record<SlotState, number> = { starting: 0, idle: 0, busy: 0, poisoned: 0 };
    for (const slot of this.#slots) instances[slot.state]++;
    return {
      size: this.#options.size,
      healthy: this.healthy,
      instances,
      queueLength: this.#waiting(),
      consecutiveFailures: this.#consecutiveFailures,
      ...structuredClone(this.#counts),
    };
  }

  call(call: PoolCall): Promise<PoolResult> {
    const guard = this.guard;
    if (this.#closing) {
      this.#options.observer?.rejected?.(guard, 'closed');
      return Promise.reject(new GuardPoolClosedError(`guard ${guard} is shutting down`, { guard }));
    }
    const { maxInputBytes } = this.#source.limits;
    const inputJson = call.fn === 'label_agent' ? call.policy?.json : call.input;
    for (const [fn, json] of [[call.fn, inputJson], ['label_agent', call.policy?.json]] as const) {
      // A UTF-16 unit encodes to at most 3 UTF-8 bytes: only strings that could be over the limit are measured.
      if (json === undefined || json.length * 3 <= maxInputBytes) continue;
      const size = Buffer.byteLength(json);
      if (size > maxInputBytes) return Promise.reject(new GuardInputTooLargeError(size, maxInputBytes, { guard, fn }));
    }
    const slot = this.#pickIdle(call) ?? this.#pickGathering(call);
    if (slot) {
      const waits = slot.gathering !== undefined;
      return new Promise((resolve, reject) => this.#gather(slot, { call, enqueuedAt: performance.now(), waits, resolve, reject }));
    }
    if (!this.healthy) {
      this.#options.observer?.rejected?.(guard, 'unavailable');
      return Promise.reject(
        new GuardUnavailableError(`guard ${guard} has no live instance: it failed ${this.#consecutiveFailures} times in a row`, { guard }),
      );
    }
    if (this.#waiting() >= this.#options.maxQueue) {
      this.#options.observer?.rejected?.(guard, 'queue_full');
      return Promise.reject(
        new GuardOverloadedError(`guard ${guard} is overloaded: ${this.#waiting()} calls already waiting (limit ${this.#options.maxQueue})`, 1, {
          guard,
        }),
      );
    }
    return new Promise<PoolResult>((resolve, reject) => this.#enqueue({ call, enqueuedAt: performance.now(), waits: true, resolve, reject }));
  }

  /** Queues a call with its wait timeout; calls that must run again (their batch stopped early) go to the front. */
  #enqueue(waiter: Waiter, front = false): void {
    if (front) {
      // Back from a batch that stopped early: it waits again, with a fresh bound.
      waiter.waits = true;
      waiter.enqueuedAt = performance.now();
    }
    waiter.timer = setTimeout(() => {
      const index = this.#queue.indexOf(waiter);
      if (index >= 0) this.#queue.splice(index, 1);
      this.#waitedTooLong(waiter);
      this.#checkDrained();
    }, this.#options.queueTimeoutMs);
    if (front) this.#queue.unshift(waiter);
    else this.#queue.push(waiter);
  }

  #waitedTooLong(waiter: Waiter): void {
    waiter.expired = true;
    this.#options.observer?.rejected?.(this.guard, 'wait_timeout');
    waiter.reject(
      new GuardOverloadedError(`guard ${this.guard} is overloaded: no instance free within ${this.#options.queueTimeoutMs} ms`, 1, {
        guard: this.guard,
      }),
    );
  }

  /**
   * Calls waiting for an instance: in the queue, gathered behind the first
   * call of a batch, or in a worker's batch behind the call it runs.
   */
  #waiting(): number {
    let waiting = this.#queue.length;
    for (const slot of this.#slots) {
      if (slot.gathering) waiting += slot.gathering.waiters.length - 1;
      if (slot.handedOver > 1 && slot.host) waiting += Math.max(0, slot.handedOver - 1 - slot.host.runningCall());
    }
    return waiting;
  }

  /**
   * A slot gathering a batch that has room for the call (the one with the
   * fewest calls, so a burst is spread over the instances).
   */
  #pickGathering(call: PoolCall): Slot | undefined {
    if (this.#waiting() >= this.#options.maxQueue) return undefined;
    const size = channelBytesBound(call);
    let best: Slot | undefined;
    for (const slot of this.#slots) {
      const batch = slot.gathering;
      if (!batch || batch.waiters.length >= MAX_BATCH || batch.bytes + size > this.#channelBytes) continue;
      if (!best || batch.waiters.length < best.gathering!.waiters.length) best = slot;
    }
    return best;
  }

  /**
   * Reserves the call to the slot. The batch is handed over once this turn of
   * the event loop has run (setImmediate), so that the requests read from
   * the network in one turn reach a worker with one wake-up, not one each.
   */
  #gather(slot: Slot, waiter: Waiter): void {
    if (slot.gathering) {
      slot.gathering.waiters.push(waiter);
      slot.gathering.bytes += channelBytesBound(waiter.call);
      return;
    }
    slot.state = 'busy';
    slot.gathering = { waiters: [waiter], bytes: channelBytesBound(waiter.call) };
    setImmediate(() => {
      const { waiters } = slot.gathering!;
      slot.gathering = undefined;
      void this.#runBatch(slot, waiters);
    });
  }

  /** An idle instance, preferring one already in the call's policy state (so label_agent need not run again). */
  #pickIdle(call: PoolCall): Slot | undefined {
    const wanted = call.policy?.key ?? null;
    let fallback: Slot | undefined;
    for (const slot of this.#slots) {
      if (slot.state !== 'idle') continue;
      if (slot.policy === wanted) return slot;
      // Otherwise one with no policy worth keeping, so another policy's warm instance is not taken over.
      if (!fallback || (holdsPolicy(fallback) && !holdsPolicy(slot))) fallback = slot;
    }
    return fallback;
  }

  /** The number the worker knows a policy by (0 = no policy). */
  #policyId(policy: PoolCall['policy']): number {
    if (!policy) return 0;
    let id = this.#policyIds.get(policy.key);
    if (id === undefined) {
      if (this.#policyIds.size >= POLICY_IDS_LIMIT) this.#policyIds.clear();
      id = this.#nextPolicyId++;
      this.#policyIds.set(policy.key, id);
    }
    return id;
  }

  /** Runs calls as one batch on `slot` and settles each; calls the batch did not reach go back to the queue. */
  async #runBatch(slot: Slot, waiters: Waiter[]): Promise<void> {
    slot.state = 'busy';
    this.#options.observer?.batch?.(this.guard, waiters.length);
    const calls: WorkerCall[] = waiters.map(({ call }) => ({ fn: call.fn, policyId: this.#policyId(call.policy), policy: call.policy?.json, input: call.input }));
    let batch: BatchOutcome;
    try {
      // A call that waits in the batch behind others keeps its wait bound: the worker skips it once that has passed.
      const until = waiters.map((w) => (w.waits ? w.enqueuedAt + this.#options.queueTimeoutMs : Infinity));
      slot.handedOver = calls.length;
      // An isolated failure is replaced inside the batch; a guard failing again and again waits out its backoff.
      const replaceInline = this.#consecutiveFailures === 0;
      const waits = { until, expired: (i: number) => this.#waitedTooLong(waiters[i]!) };
      batch = await slot.host!.runBatch(calls, this.#options.timeoutMs, this.#backend ?? NO_BACKEND, waits, replaceInline);
    } catch (error) {
      slot.handedOver = 0;
      // Not a guard failure: a bug on this side. The calls fail closed and the worker is not trusted again.
      for (const waiter of waiters) waiter.reject(error);
      this.#evict(slot, 'crash');
      this.#replaceWorker(slot, 'crash');
      return;
    }
    slot.handedOver = 0;
    batch.outcomes.forEach((outcome, i) => {
      this.#settle(slot, waiters[i]!, outcome);
      if (outcome.replaced) this.#replacedInBatch(slot, calls[i]!.fn, outcome);
    });
    const { failed } = batch;
    const finished = batch.outcomes.length;
    // The calls the worker did not finish run again, except the one that failed (unless it never started).
    const rest = waiters.slice(finished).filter((_, i) => failed?.starting || finished + i !== failed?.item);
    if (failed && this.#closing && !(failed.error instanceof GuardTimeoutError)) {
      // close() terminated the worker at the end of its grace period: not the guard's fault, nothing to replace.
      slot.state = 'poisoned';
      for (const waiter of waiters.slice(finished)) {
        waiter.reject(new GuardPoolClosedError(`guard ${this.guard} closed before the call finished`, { guard: this.guard }));
      }
      this.#checkDrained();
      return;
    }
    for (const waiter of rest.reverse()) if (!waiter.expired) this.#enqueue(waiter, true);
    if (failed?.starting) {
      // The call before it stopped the instance, and the fresh instance's start overran the deadline:
      // both are counted, as the stop and as a start that failed; the worker is replaced.
      const stopped = finished - 1;
      this.#countEviction(slot, this.#countStop(calls[stopped]!.fn, batch.outcomes[stopped]));
      this.#countStartFailure(slot, failed.error);
      this.#replaceWorker(slot, 'start_failed');
    } else if (failed) {
      const fn = calls[failed.item]!.fn;
      const reason: EvictionReason = failed.error instanceof GuardTimeoutError ? 'deadline' : 'crash';
      this.#options.observer?.callDuration?.(this.guard, fn, (performance.now() - failed.startedAt) / 1000, 'error');
      this.#countTrap(fn, reason === 'deadline' ? 'deadline' : 'host');
      waiters[failed.item]!.reject(failed.error);
      this.#evict(slot, reason);
      this.#replaceWorker(slot, reason);
    } else if (batch.retired) {
      const last = batch.outcomes.at(-1);
      const reason = this.#countStop(calls[batch.outcomes.length - 1]!.fn, last);
      this.#evict(slot, reason);
      this.#scheduleReset(slot, reason);
    } else {
      this.#release(slot);
    }
  }

  /** Counts what stopped the instance in `outcome` (a trap, or an exit, which is no trap); returns the eviction reason. */
  #countStop(fn: GuardFunction, outcome: CallOutcome | undefined): EvictionReason {
    const error = outcome && !outcome.ok ? guardErrorFromData(outcome.error!) : undefined;
    if (error instanceof GuardExitError) return 'exit';
    if (error) this.#countTrap(fn, error instanceof GuardTrapError ? error.kind : 'runtime');
    return 'trap';
  }

  /** The worker replaced the instance that `outcome`'s call stopped, and went on with the batch. */
  #replacedInBatch(slot: Slot, fn: GuardFunction, outcome: CallOutcome): void {
    const reason = this.#countStop(fn, outcome);
    this.#countEviction(slot, reason);
    this.#countReplacement(reason);
  }

  /** Resolves or rejects one call of a batch with its outcome. */
  #settle(slot: Slot, waiter: Waiter, outcome: CallOutcome): void {
    if (outcome.cancelled) return; // answered when its wait ran out
    const { call } = waiter;
    if (waiter.waits) this.#options.observer?.queueWait?.(this.guard, Math.max(0, outcome.startedAt - waiter.enqueuedAt) / 1000);
    const { regrowths } = outcome;
    if (regrowths.hinted || regrowths.doubled) this.#countRegrowths(call.fn, regrowths);
    this.#options.observer?.callDuration?.(this.guard, call.fn, outcome.elapsedMs / 1000, outcome.ok ? 'ok' : 'error');
    if (!outcome.ok) {
      // Which policy the instance holds after a failure is not known here: the worker knows, and the hint is dropped.
      slot.policy = DIRTY;
      waiter.reject(guardErrorFromData(outcome.error!));
      return;
    }
    slot.policy = call.policy?.key ?? null;
    this.#consecutiveFailures = 0;
    waiter.resolve(outcome.agentOutput === undefined ? { output: outcome.output } : { output: outcome.output, agentOutput: outcome.agentOutput });
  }

  #countTrap(fn: GuardFunction | 'instantiate', kind: TrapKind): void {
    this.#counts.traps[kind] = (this.#counts.traps[kind] ?? 0) + 1;
    this.#options.observer?.trap?.(this.guard, fn, kind);
  }

  #countRegrowths(fn: GuardFunction, regrowths: { hinted: number; doubled: number }): void {
    const counts = (this.#counts.regrowths[fn] ??= { hinted: 0, doubled: 0 });
    counts.hinted += regrowths.hinted;
    counts.doubled += regrowths.doubled;
    if (regrowths.hinted) this.#options.observer?.regrowth?.(this.guard, fn, 'hinted', regrowths.hinted);
    if (regrowths.doubled) this.#options.observer?.regrowth?.(this.guard, fn, 'doubled', regrowths.doubled);
  }

  #evict(slot: Slot, reason: EvictionReason): void {
    slot.state = 'poisoned';
    this.#countEviction(slot, reason);
    this.#failQueueIfUnavailable();
    // The call that ended here may have been the last one close() waits for.
    this.#checkDrained();
  }

  #countEviction(slot: Slot, reason: EvictionReason): void {
    this.#consecutiveFailures++;
    this.#counts.evictions[reason] = (this.#counts.evictions[reason] ?? 0) + 1;
    this.#options.observer?.eviction?.(this.guard, reason);
    this.#options.logger.warn({ guard: this.guard, slot: slot.id, reason }, 'guard instance evicted');
  }

  #replaced(slot: Slot, reason: EvictionReason): void {
    this.#countReplacement(reason);
    slot.policy = null;
    this.#release(slot);
  }

  #countReplacement(reason: EvictionReason): void {
    this.#counts.replacements[reason] = (this.#counts.replacements[reason] ?? 0) + 1;
    this.#options.observer?.replacement?.(this.guard, reason);
  }

  /** 0 for an isolated failure; exponential once the guard keeps failing. */
  #backoffMs(): number {
    const n = this.#consecutiveFailures;
    if (n <= 1) return 0;
    const { baseMs, maxMs } = this.#options.backoff;
    return Math.min(maxMs, baseMs * 2 ** (n - 2));
  }

  #later(fn: () => void): void {
    const delay = this.#backoffMs();
    if (delay === 0) return void queueMicrotask(fn);
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, delay);
    this.#timers.add(timer);
  }

  /** A trapped instance is replaced inside its worker: instantiation from the cached module takes microseconds. */
  #scheduleReset(slot: Slot, reason: EvictionReason): void {
    this.#later(async () => {
      if (this.#closing) return;
      slot.state = 'starting';
      try {
        await slot.host!.reset(this.#options.timeoutMs);
        this.#replaced(slot, reason);
      } catch (error) {
        this.#startFailed(slot, error);
      }
    });
  }

  /** A terminated or crashed worker is replaced by the spare (if ready) or a new worker. */
  #replaceWorker(slot: Slot, reason: EvictionReason): void {
    slot.state = 'poisoned';
    const old = slot.host;
    slot.host = undefined;
    void old?.terminate();
    this.#later(async () => {
      if (this.#closing) return;
      slot.state = 'starting';
      let host = this.#spare;
      this.#spare = undefined;
      if (!host || host.exited) host = this.#newHost();
      this.#refillSpare();
      try {
        await host.ready;
      } catch (error) {
        void host.terminate();
        this.#startFailed(slot, error);
        return;
      }
      if (this.#closing) return void host.terminate();
      slot.host = host;
      this.#watch(slot);
      this.#replaced(slot, reason);
    });
  }

  #startFailed(slot: Slot, error: unknown): void {
    this.#countStartFailure(slot, error);
    if (slot.host && !slot.host.exited) this.#scheduleReset(slot, 'start_failed');
    else this.#replaceWorker(slot, 'start_failed');
  }

  #countStartFailure(slot: Slot, error: unknown): void {
    this.#options.logger.error({ guard: this.guard, slot: slot.id, err: error }, 'guard instance could not be started');
    this.#countTrap('instantiate', error instanceof GuardTrapError ? error.kind : error instanceof GuardTimeoutError ? 'deadline' : 'runtime');
    this.#evict(slot, 'start_failed');
  }

  /** Once a guard is unhealthy, calls waiting for it would only time out: fail them now. */
  #failQueueIfUnavailable(): void {
    if (this.healthy) return;
    for (const waiter of this.#queue.splice(0)) {
      clearTimeout(waiter.timer);
      this.#options.observer?.rejected?.(this.guard, 'unavailable');
      waiter.reject(new GuardUnavailableError(`guard ${this.guard} has no live instance`, { guard: this.guard }));
    }
  }

  #release(slot: Slot): void {
    slot.state = 'idle';
    if (this.#queue.length > 0) return void this.#runBatch(slot, this.#takeBatch());
    this.#checkDrained();
  }

  /** The calls at the head of the queue that fit in one batch (always at least one). */
  #takeBatch(): Waiter[] {
    const batch: Waiter[] = [];
    let bytes = 0;
    while (this.#queue.length > 0 && batch.length < MAX_BATCH) {
      const waiter = this.#queue[0]!;
      const size = channelBytesBound(waiter.call);
      if (batch.length > 0 && bytes + size > this.#channelBytes) break;
      this.#queue.shift();
      clearTimeout(waiter.timer);
      bytes += size;
      batch.push(waiter);
    }
    return batch;
  }

  #checkDrained(): void {
    if (this.#drained && this.#queue.length === 0 && !this.#slots.some((s) => s.state === 'busy')) this.#drained();
  }

  /**
   * Stops taking calls, lets calls in flight and in the queue finish for at
   * most `graceMs`, then terminates every worker. Idempotent.
   */
  close(graceMs = 5000): Promise<void> {
    this.#closing ??= this.#close(graceMs);
    return this.#closing;
  }

  async #close(graceMs: number): Promise<void> {
    const drained = new Promise<void>((resolve) => {
      this.#drained = resolve;
    });
    this.#checkDrained();
    let graceTimer: NodeJS.Timeout | undefined;
    await Promise.race([drained, new Promise((resolve) => (graceTimer = setTimeout(resolve, graceMs)))]);
    clearTimeout(graceTimer);
    for (const timer of this.#timers) clearTimeout(timer);
    for (const waiter of this.#queue.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(new GuardPoolClosedError(`guard ${this.guard} closed before the call could run`, { guard: this.guard }));
    }
    const hosts = [...this.#slots.map((s) => s.host), this.#spare];
    this.#spare = undefined;
    await Promise.all(hosts.map((h) => h?.terminate()));
  }
}

