import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import {
  GUARD_DEFAULTS,
  GuardInputTooLargeError,
  defaultMaxQueue,
  GuardOverloadedError,
  GuardPoolClosedError,
  GuardTimeoutError,
  GuardUnavailableError,
  guardErrorFromData,
  type GuardFunction,
  type GuardLogger,
  type InstanceSource,
} from '../guard/index.js';
import { guardedObserver, type EvictionReason, type PoolObserver } from './observer.js';
import { InstanceSlot, replacementFor, replacesInBatch, type InstanceState, type InstanceStop } from './instance-lifecycle.js';
import { PolicyIds } from './policy-ids.js';
import { PoolCounts, type Counts } from './pool-counts.js';
import { Replacer } from './replacement.js';
import { Scheduler, type Slot, type Waiter } from './scheduler.js';
import type { PooledReply } from '../guard/reply-buffers.js';
import { WorkerHost, type BackendHandler, type BatchOutcome, type CallInput, type CallOutcome, type WorkerCall } from './worker-host.js';

export interface PoolOptions {
  /** Instances (one per worker thread) the pool grows to. Default: available cores. */
  size?: number;
  /**
   * Instances started with the pool; the others start one at a time when calls have to wait, up to
   * `size`, and then stay. Default: all of them. The service starts one (issue 20: each is a worker
   * thread of about 12 MB, and a guard that sees a call now and then never needs a second).
   */
  warm?: number;
  /** Instances started with the pool, from `warm` to `size` (default: `warm`): a reload starts what the version it replaces had grown to. */
  initial?: number;
  /**
   * An instance past the `warm` ones that has been idle this long (ms) is stopped and its worker
   * terminated, the last one grown first, so a pool that grew for a burst gives its memory back.
   * 0 (the default): grown instances stay. The service stops them after a minute (GUARD_DEFAULTS.poolIdleMs).
   */
  idleMs?: number;
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
  /**
   * Once a worker has had to be replaced, keep one started worker in reserve so the next is replaced in
   * microseconds, not 30 ms. Not before: most guards never lose a worker, and a reserve worker per guard
   * is about 12 MB of idle memory.
   */
  spare?: boolean;
}

export interface PoolCall {
  fn: GuardFunction;
  /**
   * Input JSON for label_resource / label_response (ignored for label_agent, whose input is the policy);
   * a response job's in parts, written into the channel back to back (so a large body is never copied
   * into one string first, and its bytes are copied as they came).
   */
  input?: CallInput;
  /** The policy the instance must label under; absent = the guard's built-in defaults (a fresh instance). */
  policy?: { key: string; json: string };
  /** label_response only: `input` is a response job the worker runs whole (src/guard/response-job.ts); the output is its reply. */
  job?: boolean;
}

export interface PoolResult {
  output: string;
  /** A response job's reply, as bytes (`output` is then empty); whoever takes it releases it. */
  reply?: PooledReply;
  /** label_agent output, when the call had to initialise the instance with the policy first. */
  agentOutput?: string;
}

/** Never reached: a pool without a backend has its workers answer call_backend themselves. */
const NO_BACKEND: BackendHandler = async () => undefined;

export interface PoolState extends Counts {
  size: number;
  healthy: boolean;
  instances: Record<InstanceState, number>;
  queueLength: number;
  consecutiveFailures: number;
}

/** Failures in a row after which a guard with no live instance is reported unhealthy and refused at once. */
const UNHEALTHY_AFTER = 3;
const MiB = 1024 * 1024;

/**
 * A pool of instances of one guard, each in its own worker thread: `warm`
 * of them started with it, more (up to `size`) while calls wait. Calls go
 * to an idle instance (preferring one already initialised with the call's
 * policy) or wait in a bounded queue; a worker that comes free takes every
 * waiting call (up to MAX_BATCH) in one batch (scheduler.ts). An instance
 * that traps is never used again: it is replaced as instance-lifecycle.ts
 * decides and replacement.ts carries out, with backoff when the guard keeps
 * failing. A call past its deadline gets its worker terminated.
 */
export class GuardPool {
  readonly guard: string;
  readonly #source: InstanceSource;
  readonly #slots: Slot[] = [];
  readonly #options: Required<Omit<PoolOptions, 'backend' | 'observer'>> & Pick<PoolOptions, 'observer'>;
  readonly #backend: BackendHandler | undefined;
  readonly #policies = new PolicyIds();
  readonly #counts: PoolCounts;
  readonly #scheduler: Scheduler;
  readonly #replacer: Replacer;
  /** The worker of the instance being added because calls wait (#grow); one at a time. */
  #growing: WorkerHost | undefined;
  /** When the next look for idle instances to stop is due (#shrinkLater). */
  #shrinkTimer: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;
  #drained: (() => void) | undefined;

  private constructor(source: InstanceSource, options: PoolOptions) {
    this.guard = source.name;
    this.#source = source;
    const size = Math.max(1, options.size ?? availableParallelism());
    const warm = Math.min(size, Math.max(1, options.warm ?? size));
    this.#options = {
      size,
      warm,
      idleMs: Math.max(0, options.idleMs ?? 0),
      initial: Math.min(size, Math.max(warm, options.initial ?? warm)),
      timeoutMs: options.timeoutMs ?? GUARD_DEFAULTS.timeoutMs,
      maxQueue: options.maxQueue ?? defaultMaxQueue(size),
      queueTimeoutMs: options.queueTimeoutMs ?? GUARD_DEFAULTS.queueTimeoutMs,
      logger: options.logger,
      logLevel: options.logLevel ?? 'info',
      backoff: options.backoff ?? { baseMs: 10, maxMs: 5000 },
      spare: options.spare ?? true,
      observer: guardedObserver(options.observer, options.logger),
    };
    this.#backend = options.backend;
    const { limits } = source;
    const { observer, logger, maxQueue, queueTimeoutMs, spare, timeoutMs } = this.#options;
    this.#counts = new PoolCounts(this.guard, observer, logger);
    this.#scheduler = new Scheduler(this.#slots, {
      guard: this.guard,
      maxQueue,
      queueTimeoutMs,
      // The channel carries the policy plus input one way, label_agent plus label output the other.
      channelBytes: 2 * Math.max(limits.maxInputBytes, limits.maxOutputBytes) + MiB,
      observer,
      runBatch: (slot, waiters) => void this.#runBatch(slot, waiters),
      dequeued: () => this.#checkDrained(),
    });
    this.#replacer = new Replacer({
      spare,
      timeoutMs,
      newHost: () => this.#newHost(),
      closing: () => this.#closing !== undefined,
      attached: (slot) => this.#watch(slot),
      replaced: (slot, reason) => this.#replaced(slot, reason),
      startFailed: (slot, error) => this.#startFailed(slot, error),
    });
  }

  /** Starts the warm workers; resolves when all are ready, rejects with the guard's error if one cannot start. */
  static async start(source: InstanceSource, options: PoolOptions): Promise<GuardPool> {
    const pool = new GuardPool(source, options);
    await pool.#startAll();
    return pool;
  }

  async #startAll(): Promise<void> {
    const hosts = Array.from({ length: this.#options.initial }, () => this.#newHost());
    const started = await Promise.allSettled(hosts.map((h) => h.ready));
    const failure = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) {
      await Promise.all(hosts.map((h) => h.terminate()));
      throw failure.reason;
    }
    // No spare yet: it is started by the first new-worker replacement (replacement.ts).
    hosts.forEach((host, id) => this.#slots.push(this.#watch(new InstanceSlot(id, host))));
    // Started past the warm ones (a reload carrying a grown pool over): stopped if they stay idle.
    this.#shrinkLater(this.#options.idleMs);
  }

  #newHost(): WorkerHost {
    const { logger, logLevel, timeoutMs } = this.#options;
    const dataBytes = this.#scheduler.options.channelBytes;
    return new WorkerHost(this.#source, { logger, logLevel, dataBytes, timeoutMs, hasBackend: this.#backend !== undefined });
  }

  #watch(slot: Slot): Slot {
    const host = slot.host!;
    host.onExit(() => {
      // A worker that dies while idle is replaced; one that dies mid-call is handled by that call.
      if (slot.host === host && slot.state === 'idle' && !this.#closing) this.#replace(slot, { reason: 'crash', workerAlive: false });
    });
    return slot;
  }

  /** Instances the pool has grown to: each one running, starting, or stopped and waiting for its replacement. */
  get started(): number {
    return this.#slots.length;
  }

  get healthy(): boolean {
    return this.#slots.some((s) => s.live) || this.#counts.consecutiveFailures < UNHEALTHY_AFTER;
  }

  state(): PoolState {
    const instances: Record<InstanceState, number> = { starting: 0, idle: 0, busy: 0, poisoned: 0 };
    for (const slot of this.#slots) instances[slot.state]++;
    return {
      size: this.#options.size,
      healthy: this.healthy,
      instances,
      queueLength: this.#scheduler.waiting(),
      consecutiveFailures: this.#counts.consecutiveFailures,
      ...this.#counts.snapshot(),
    };
  }

  call(call: PoolCall): Promise<PoolResult> {
    const guard = this.guard;
    if (this.#closing) {
      this.#options.observer?.rejected?.(guard, 'closed');
      return Promise.reject(new GuardPoolClosedError(`guard ${guard} is shutting down`, { guard }));
    }
    const { maxInputBytes } = this.#source.limits;
    // A response job's input is a request body no larger than the input limit (decision-service.ts), plus the
    // job; the guard input the worker builds from it is held to the limit there.
    const inputJson = call.fn === 'label_agent' ? call.policy?.json : call.job || typeof call.input !== 'string' ? undefined : call.input;
    for (const [fn, json] of [[call.fn, inputJson], ['label_agent', call.policy?.json]] as const) {
      // A UTF-16 unit encodes to at most 3 UTF-8 bytes: only strings that could be over the limit are measured.
      if (json === undefined || json.length * 3 <= maxInputBytes) continue;
      const size = Buffer.byteLength(json);
      if (size > maxInputBytes) return Promise.reject(new GuardInputTooLargeError(size, maxInputBytes, { guard, fn }));
    }
    const scheduler = this.#scheduler;
    const policyId = this.#policies.idOf(call.policy);
    const slot = scheduler.pick(call, policyId);
    if (slot) {
      const waits = slot.gathering !== undefined;
      if (waits) this.#grow();
      return new Promise((resolve, reject) => scheduler.gather(slot, { call, policyId, enqueuedAt: performance.now(), waits, resolve, reject }));
    }
    if (!this.healthy) {
      this.#options.observer?.rejected?.(guard, 'unavailable');
      return Promise.reject(
        new GuardUnavailableError(`guard ${guard} has no live instance: it failed ${this.#counts.consecutiveFailures} times in a row`, { guard }),
      );
    }
    if (scheduler.full) {
      this.#options.observer?.rejected?.(guard, 'queue_full');
      return Promise.reject(
        new GuardOverloadedError(`guard ${guard} is overloaded: ${scheduler.waiting()} calls already waiting (limit ${this.#options.maxQueue})`, 1, {
          guard,
        }),
      );
    }
    this.#grow();
    return new Promise<PoolResult>((resolve, reject) =>
      scheduler.enqueue({ call, policyId, enqueuedAt: performance.now(), waits: true, resolve, reject }),
    );
  }

  /**
   * A call has to wait (queued, or gathered behind another call): start one more instance, unless the
   * pool has reached its size or one is starting already (so a burst that the running instances absorb
   * does not start them all). Once ready it takes the queue's head; a start that fails is a failed start
   * like a replacement's (counted, retried after the backoff).
   */
  #grow(): void {
    if (this.#growing || this.#closing || this.#slots.length >= this.#options.size) return;
    const slot: Slot = new InstanceSlot(this.#slots.length, undefined);
    slot.starting();
    this.#slots.push(slot);
    const host = this.#newHost();
    this.#growing = host;
    host.ready.then(
      () => {
        this.#growing = undefined;
        slot.host = host;
        // Ready while the pool closes: never served (close() may have terminated it already).
        if (this.#closing) {
          slot.poison();
          void host.terminate();
          return;
        }
        this.#release(this.#watch(slot));
      },
      (error: unknown) => {
        this.#growing = undefined;
        void host.terminate();
        if (this.#closing) slot.poison();
        else this.#startFailed(slot, error);
      },
    );
  }

  /** Runs calls as one batch on `slot` and settles each; calls the batch did not reach go back to the queue. */
  async #runBatch(slot: Slot, waiters: Waiter[]): Promise<void> {
    slot.reserve();
    this.#options.observer?.batch?.(this.guard, waiters.length);
    const calls: WorkerCall[] = waiters.map(({ call, policyId }) => ({ fn: call.fn, policyId, policy: call.policy?.json, input: call.input, job: call.job }));
    let batch: BatchOutcome;
    try {
      const { queueTimeoutMs, timeoutMs } = this.#options;
      // A call that waits in the batch behind others keeps its wait bound: the worker skips it once that has passed.
      const until = waiters.map((w) => (w.waits ? w.enqueuedAt + queueTimeoutMs : Infinity));
      slot.handedOver = calls.length;
      const replaceInline = replacesInBatch(this.#counts.consecutiveFailures);
      const waits = { until, expired: (i: number) => this.#scheduler.waitedTooLong(waiters[i]!) };
      batch = await slot.host!.runBatch(calls, timeoutMs, this.#backend ?? NO_BACKEND, waits, replaceInline);
    } catch (error) {
      slot.handedOver = 0;
      // Not a guard failure: a bug on this side. The calls fail closed and the worker is not trusted again.
      for (const waiter of waiters) waiter.reject(error);
      this.#evict(slot, 'crash');
      this.#replace(slot, { reason: 'crash', workerAlive: false });
      return;
    }
    slot.handedOver = 0;
    batch.outcomes.forEach((outcome, i) => {
      this.#settle(waiters[i]!, outcome);
      if (outcome.replaced) this.#replacedInBatch(slot, calls[i]!.fn, outcome);
    });
    // The worker says which policy its instance holds now (a worker that failed says nothing: it is replaced).
    if (!batch.failed) slot.policyId = batch.policyId;
    this.#afterBatch(slot, waiters, calls, batch);
  }

  /** What the batch left behind: calls to run again, and an instance that is idle, to replace, or retired for good. */
  #afterBatch(slot: Slot, waiters: Waiter[], calls: WorkerCall[], batch: BatchOutcome): void {
    const { failed } = batch;
    const finished = batch.outcomes.length;
    if (failed && this.#closing && !(failed.error instanceof GuardTimeoutError)) {
      // close() terminated the worker at the end of its grace period: not the guard's fault, nothing to replace.
      slot.poison();
      for (const waiter of waiters.slice(finished)) {
        waiter.reject(new GuardPoolClosedError(`guard ${this.guard} closed before the call finished`, { guard: this.guard }));
      }
      this.#checkDrained();
      return;
    }
    // The calls the worker did not finish run again, except the one that failed (unless it never started).
    const rest = waiters.slice(finished).filter((_, i) => failed?.starting || finished + i !== failed?.item);
    for (const waiter of rest.reverse()) if (!waiter.expired) this.#scheduler.enqueue(waiter, true);
    if (failed?.starting) {
      // The call before it stopped the instance, and the fresh instance's start overran the deadline:
      // both are counted, as the stop and as a start that failed; the worker is replaced.
      const stopped = finished - 1;
      this.#counts.eviction(slot.id, this.#counts.stop(calls[stopped]!.fn, batch.outcomes[stopped]));
      this.#counts.startFailure(slot.id, failed.error);
      this.#evict(slot, 'start_failed');
      this.#replace(slot, { reason: 'start_failed', workerAlive: false });
    } else if (failed) {
      const fn = calls[failed.item]!.fn;
      const reason: EvictionReason = failed.error instanceof GuardTimeoutError ? 'deadline' : 'crash';
      this.#options.observer?.callDuration?.(this.guard, fn, (performance.now() - failed.startedAt) / 1000, 'error');
      this.#counts.trap(fn, reason === 'deadline' ? 'deadline' : 'host');
      waiters[failed.item]!.reject(failed.error);
      this.#evict(slot, reason);
      // Terminated at its deadline, or died: the worker is not trusted again.
      this.#replace(slot, { reason, workerAlive: false });
    } else if (batch.retired) {
      const reason = this.#counts.stop(calls[finished - 1]!.fn, batch.outcomes.at(-1));
      this.#evict(slot, reason);
      // The worker answered: only its instance stopped.
      this.#replace(slot, { reason, workerAlive: true });
    } else {
      this.#release(slot);
    }
  }

  /** The worker replaced the instance that `outcome`'s call stopped, and went on with the batch. */
  #replacedInBatch(slot: Slot, fn: GuardFunction, outcome: CallOutcome): void {
    const reason = this.#counts.stop(fn, outcome);
    this.#counts.eviction(slot.id, reason);
    this.#counts.replacement(reason);
  }

  /** Resolves or rejects one call of a batch with its outcome. */
  #settle(waiter: Waiter, outcome: CallOutcome): void {
    if (outcome.cancelled) return; // answered when its wait ran out
    const { call } = waiter;
    if (waiter.waits) this.#options.observer?.queueWait?.(this.guard, Math.max(0, outcome.startedAt - waiter.enqueuedAt) / 1000);
    const { regrowths } = outcome;
    if (regrowths.hinted || regrowths.doubled) this.#counts.regrowths(call.fn, regrowths);
    this.#options.observer?.callDuration?.(this.guard, call.fn, outcome.elapsedMs / 1000, outcome.ok ? 'ok' : 'error');
    if (!outcome.ok) return waiter.reject(guardErrorFromData(outcome.error!));
    this.#counts.succeeded();
    const result: PoolResult = { output: outcome.output };
    if (outcome.reply) result.reply = outcome.reply;
    if (outcome.agentOutput !== undefined) result.agentOutput = outcome.agentOutput;
    waiter.resolve(result);
  }

  #evict(slot: Slot, reason: EvictionReason): void {
    slot.poison();
    this.#counts.eviction(slot.id, reason);
    this.#failQueueIfUnavailable();
    // The call that ended here may have been the last one close() waits for.
    this.#checkDrained();
  }

  /** Replaces a stopped instance the way instance-lifecycle.ts decides (never in-batch here: the batch is over). */
  #replace(slot: Slot, stop: InstanceStop): void {
    const failures = Math.max(this.#counts.consecutiveFailures, slot.failedStarts);
    const replacement = replacementFor(stop, failures, this.#options.backoff);
    if (replacement.path === 'in-batch') throw new Error('an instance that stopped outside a batch cannot be replaced in one');
    this.#replacer.carryOut(slot, replacement, stop.reason);
  }

  #replaced(slot: Slot, reason: EvictionReason): void {
    this.#counts.replacement(reason);
    slot.replaced();
    this.#takeQueued(slot);
    if (slot.state === 'idle') this.#shrinkLater(this.#options.idleMs);
  }

  #startFailed(slot: Slot, error: unknown): void {
    slot.failedStarts++;
    this.#counts.startFailure(slot.id, error);
    this.#evict(slot, 'start_failed');
    this.#replace(slot, { reason: 'start_failed', workerAlive: slot.host !== undefined && !slot.host.exited });
  }

  /** Once a guard is unhealthy, calls waiting for it would only time out: fail them now. */
  #failQueueIfUnavailable(): void {
    if (this.healthy) return;
    const { guard } = this;
    this.#scheduler.failQueued(
      () => new GuardUnavailableError(`guard ${guard} has no live instance`, { guard }),
      () => this.#options.observer?.rejected?.(guard, 'unavailable'),
    );
  }

  #release(slot: Slot): void {
    slot.release();
    this.#takeQueued(slot);
    if (slot.state === 'idle') this.#shrinkLater(this.#options.idleMs);
  }

  /** Looks for idle instances to stop in `delayMs`, unless a look is due already or the pool is at its warm size. */
  #shrinkLater(delayMs: number): void {
    if (this.#shrinkTimer || this.#options.idleMs === 0 || this.#closing || this.#slots.length <= this.#options.warm) return;
    // unref: an idle pool's timer never keeps the process alive.
    this.#shrinkTimer = setTimeout(() => {
      this.#shrinkTimer = undefined;
      this.#shrink();
    }, delayMs).unref();
  }

  /**
   * Stops the last instances while they are idle and have been for `idleMs`, down to the warm ones.
   * Only from the end: slot ids stay the indexes of the slots, and the scheduler hands calls to the
   * first idle slot, so under light load the last ones are those that stay idle.
   */
  #shrink(): void {
    const { idleMs, warm } = this.#options;
    const now = performance.now();
    while (this.#slots.length > warm) {
      const last = this.#slots.at(-1)!;
      if (last.state !== 'idle') return this.#shrinkLater(idleMs);
      const idleFor = now - last.idleSince;
      if (idleFor < idleMs) return this.#shrinkLater(idleMs - idleFor);
      this.#slots.pop();
      // Poisoned first: its worker's exit is then not taken for a crash to replace (#watch).
      last.poison();
      const host = last.host;
      last.host = undefined;
      void host?.terminate();
      this.#options.logger.info({ guard: this.guard, instances: this.#slots.length, idleMs }, 'stopped a guard instance that stayed idle');
    }
  }

  /** An idle slot takes the queue's head as its next batch. */
  #takeQueued(slot: Slot): void {
    if (this.#scheduler.queued > 0) return void this.#runBatch(slot, this.#scheduler.takeBatch());
    this.#checkDrained();
  }

  #checkDrained(): void {
    if (this.#drained && this.#scheduler.queued === 0 && !this.#slots.some((s) => s.state === 'busy')) this.#drained();
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
    clearTimeout(this.#shrinkTimer);
    const spare = this.#replacer.stop();
    const { guard } = this;
    this.#scheduler.failQueued(() => new GuardPoolClosedError(`guard ${guard} closed before the call could run`, { guard }));
    await Promise.all([...this.#slots.map((s) => s.host), spare, this.#growing].map((h) => h?.terminate()));
  }
}
