import { Worker } from 'node:worker_threads';
import { guardErrorFromData, GuardTimeoutError, GuardTrapError, type GuardErrorData, type GuardFunction, type GuardLogger, type InstanceSource } from '../guard/index.js';
import { PooledReply } from '../guard/reply-buffers.js';
import { Claim, createChannel, FUNCTIONS, H, RESPONSE_JOB_FN, handOver, HF, I, Op, openChannel, sharedNow, slotOf, spinWhile, State, Status, waitWhile, type Channel } from './channel.js';
import type { GuardWorkerData } from './worker.js';
import type { WorkerLogMessage } from './worker-log.js';

/** The asynchronous side of call_backend, performed on the main thread. */
export type BackendHandler = (tool: string, argsJson: string, signal: AbortSignal) => Promise<Uint8Array | string | undefined>;

/** A call's input: JSON text, or parts written back to back (text encoded, bytes copied as they are). */
export type CallInput = string | readonly (string | Uint8Array)[];

/** One call of a batch, as the worker gets it. */
export interface WorkerCall {
  fn: GuardFunction;
  /** The pool's number for the call's policy (0 = none); the worker re-runs label_agent when it changes. */
  policyId: number;
  policy?: string;
  input?: CallInput;
  /** label_response only: `input` is a response job, and the output the checked reply (src/guard/response-job.ts). */
  job?: boolean;
}

export interface CallOutcome {
  ok: boolean;
  /** The call's wait ran out before the worker reached it: it did not run, and was answered already. */
  cancelled?: boolean;
  /** When the call started in the worker (performance.now() time). */
  startedAt: number;
  output: string;
  /** A response job's reply (`output` is then empty): copied out of the channel as bytes, never decoded here. */
  reply?: PooledReply;
  /** label_agent's output, when the worker had to apply the call's policy first. */
  agentOutput?: string;
  error?: GuardErrorData;
  regrowths: { hinted: number; doubled: number };
  /** Time the call ran in the worker, in ms. */
  elapsedMs: number;
  /** The call stopped the instance (its error says how) and the worker replaced it within the batch. */
  replaced?: boolean;
}

/** How long each call of a batch may wait for the worker to start it (performance.now() times), and what to do when one runs out. */
export interface BatchWaits {
  until: number[];
  expired: (index: number) => void;
}

export interface BatchOutcome {
  /** Outcomes of the first calls of the batch, in order; the calls after them did not run (or must run again). */
  outcomes: CallOutcome[];
  /** The instance stopped (trap, exit): the worker replaces it before its next call. */
  retired: boolean;
  /** The policy number the worker's instance holds now (H.POLICY_HELD); meaningless when `failed`. */
  policyId: number;
  /**
   * The worker was terminated (deadline) or died while running call `item`
   * (started at `startedAt`, performance.now() time): that call failed with
   * `error`. The calls before it finished and are in `outcomes`.
   */
  failed?: {
    item: number;
    startedAt: number;
    error: GuardTimeoutError | GuardTrapError;
    /**
     * The worker was starting a fresh instance for this call, after the call before it stopped the
     * instance (REPLACE_INLINE), and that start is what overran: the call itself never ran.
     */
    starting?: boolean;
  };
}

type WorkerStartMessage = WorkerLogMessage | { type: 'instantiating' } | { type: 'ready' } | { type: 'failed'; error: GuardErrorData };

/**
 * How long the main thread spins for a response before it sleeps in
 * Atomics.waitAsync (about what waking it again costs on an idle CPU), and
 * how many calls are in flight on this thread (it spins only for a lone one).
 */
const MAIN_SPIN_MS = 0.03;
let inFlight = 0;

/**
 * The young generation of a worker's heap. A worker runs one call at a time
 * and keeps nothing between calls, so its collections find little alive and
 * cost little however often they run; V8's default lets each worker's heap
 * grow to about 39 MB under response checks of 100 items. At 16 MB (about
 * 15 MB committed) the service's RSS under that load fell by 15-30 MB with
 * two workers and no loss of throughput; at 6 MB, checks of 1,000 items cost
 * 30% more CPU (their parsed results outlive the smaller collections).
 */
const WORKER_YOUNG_GENERATION_MB = 16;

const here = import.meta.url;
const fromSources = here.endsWith('.ts');

/** Where the worker module is: the compiled .js in production, the .ts source (via tsx) under test. */
function workerSpec(): { file: URL; extra: Record<string, string> } {
  if (!fromSources) return { file: new URL('./worker.js', here), extra: {} };
  return { file: new URL('./dev-worker-boot.mjs', here), extra: { workerEntry: new URL('./worker.ts', here).href } };
}

/**
 * One guard worker as seen from the main thread: starts it, runs one
 * batch at a time through its channel, enforces deadlines by terminating it.
 */
export class WorkerHost {
  /** Worker threads started and not yet exited, across every pool: what shows a leak after reloads. */
  static #live = 0;
  static get live(): number {
    return WorkerHost.#live;
  }

  readonly channel: Channel;
  readonly ready: Promise<void>;
  readonly #worker: Worker;
  readonly #source: InstanceSource;
  #exited = false;
  #terminating: Promise<void> | undefined;
  #onExit: (() => void) | undefined;

  /** `timeoutMs` bounds the instantiation in the worker (module loading is not counted), as it bounds a call. */
  constructor(source: InstanceSource, options: { logger: GuardLogger; logLevel: string; dataBytes: number; timeoutMs: number; hasBackend: boolean }) {
    this.#source = source;
    const sab = createChannel(options.dataBytes);
    this.channel = openChannel(sab);
    const { file, extra } = workerSpec();
    const data: GuardWorkerData & Record<string, unknown> = { source, sab, logLevel: options.logLevel, hasBackend: options.hasBackend, ...extra };
    this.#worker = new Worker(file, { workerData: data, stdout: false, stderr: false, resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB } });
    this.#worker.unref();
    WorkerHost.#live++;
    this.ready = new Promise<void>((resolve, reject) => {
      let instantiating: NodeJS.Timeout | undefined;
      this.#worker.on('message', (message: WorkerStartMessage) => {
        if (message.type === 'log') options.logger[message.level](message.obj, message.msg);
        else if (message.type === 'instantiating') {
          // A guard whose _initialize never returns must not leave the pool waiting for ever.
          instantiating = setTimeout(() => {
            reject(
              new GuardTimeoutError(`guard ${source.name}: instantiation did not finish within ${options.timeoutMs} ms; the worker was terminated`, {
                guard: source.name,
              }),
            );
            void this.terminate();
          }, options.timeoutMs).unref();
        } else {
          clearTimeout(instantiating);
          if (message.type === 'ready') resolve();
          else reject(guardErrorFromData(message.error));
        }
      });
      this.#worker.once('error', (error) => reject(error));
      this.#worker.once('exit', (code) => {
        clearTimeout(instantiating);
        WorkerHost.#live--;
        this.#exited = true;
        this.wakeWaiters();
        reject(new Error(`guard worker exited with code ${code} before it was ready`));
        this.#onExit?.();
      });
    });
    this.ready.catch(() => {});
  }

  /** The worker has ended, or is being terminated: either way it will not serve again. */
  get exited(): boolean {
    return this.#exited || this.#terminating !== undefined;
  }

  /** Called once when the worker thread ends for any reason. */
  onExit(listener: () => void): void {
    this.#onExit = listener;
  }

  /** Encodes the batch into the channel; the pool has checked that it fits. */
  #write(calls: WorkerCall[], replaceInline: boolean): void {
    const { header, items, data } = this.channel;
    header[H.REPLACE_INLINE] = replaceInline ? 1 : 0;
    let offset = 0;
    calls.forEach((call, i) => {
      items[slotOf(i, I.FN)] = call.job ? RESPONSE_JOB_FN : FUNCTIONS.indexOf(call.fn);
      items[slotOf(i, I.POLICY_ID)] = call.policyId;
      items[slotOf(i, I.POLICY_OFF)] = offset;
      items[slotOf(i, I.POLICY_LEN)] = call.policy === undefined ? 0 : data.write(call.policy, offset);
      offset += items[slotOf(i, I.POLICY_LEN)]!;
      items[slotOf(i, I.INPUT_OFF)] = offset;
      items[slotOf(i, I.INPUT_LEN)] = writeInput(data, call.input, offset);
      offset += items[slotOf(i, I.INPUT_LEN)]!;
    });
    header[H.OP] = Op.CALL;
    header[H.COUNT] = calls.length;
  }

  /**
   * Runs a batch of calls, one after the other, in the worker. Each call has
   * `timeoutMs` from its own start; past it the worker is terminated and that
   * call fails with GuardTimeoutError (the others did not finish). With
   * `replaceInline`, a call that stops the instance has it replaced in the
   * worker, and the batch goes on (see H.REPLACE_INLINE).
   */
  async runBatch(
    calls: WorkerCall[],
    timeoutMs: number,
    backend: BackendHandler,
    waits?: BatchWaits,
    replaceInline = false,
  ): Promise<BatchOutcome> {
    this.#write(calls, replaceInline);
    const { failed, handedOver } = await this.#exchange(timeoutMs, backend, calls, waits);
    const { header } = this.channel;
    // After a failure too: the worker publishes each result as its call ends. The failing call has none,
    // even if it finished just as its deadline cut it off.
    const done = Math.min(Atomics.load(header, H.DONE), failed ? failed.item : Infinity);
    const outcomes: CallOutcome[] = [];
    for (let i = 0; i < done; i++) outcomes.push(this.#readOutcome(i, handedOver, calls[i]!.job === true));
    return { outcomes, retired: header[H.RETIRED] === 1, policyId: header[H.POLICY_HELD]!, ...(failed ? { failed } : {}) };
  }

  /** Call `i`'s outcome, as the worker wrote it in the table and the data region. */
  #readOutcome(i: number, handedOver: number, job: boolean): CallOutcome {
    const { items, data } = this.channel;
    const field = (f: number) => items[slotOf(i, f)]!;
    const status = field(I.STATUS);
    const offset = field(I.OUT_OFF);
    const agentLen = field(I.AGENT_LEN);
    const from = offset + agentLen;
    const to = from + field(I.OUT_LEN);
    // A response job's reply stays bytes: the socket writes them as they are (guard/reply-buffers.ts).
    const isReply = job && status === Status.OK;
    const text = isReply ? '' : data.toString('utf8', from, to);
    const outcome: CallOutcome = {
      ok: status === Status.OK,
      output: status === Status.OK ? text : '',
      startedAt: handedOver + field(I.STARTED_US) / 1000,
      regrowths: { hinted: field(I.REGROW_HINTED), doubled: field(I.REGROW_DOUBLED) },
      elapsedMs: field(I.ELAPSED_US) / 1000,
    };
    if (isReply) outcome.reply = PooledReply.copyOf(data, from, to);
    if (status === Status.CANCELLED) outcome.cancelled = true;
    else if (status === Status.ERROR) outcome.error = JSON.parse(text) as GuardErrorData;
    if (field(I.REPLACED) === 1) outcome.replaced = true;
    else if (agentLen > 0) outcome.agentOutput = data.toString('utf8', offset, offset + agentLen);
    return outcome;
  }

  /** Replaces the worker's instance with a fresh one (after a trap). */
  async reset(timeoutMs: number): Promise<void> {
    const { header, data } = this.channel;
    header[H.OP] = Op.RESET;
    header[H.COUNT] = 0;
    const { failed } = await this.#exchange(timeoutMs, async () => undefined);
    if (failed) throw failed.error;
    if (header[H.STATUS] !== Status.OK) throw guardErrorFromData(JSON.parse(data.toString('utf8', 0, header[H.OUT_LEN])) as GuardErrorData);
  }

  /** Hands the channel over and waits for the worker to hand it back, serving its call_backend requests meanwhile. */
  async #exchange(
    timeoutMs: number,
    backend: BackendHandler,
    calls?: WorkerCall[],
    waits?: BatchWaits,
  ): Promise<{ failed: BatchOutcome['failed']; handedOver: number }> {
    const { header, items, times } = this.channel;
    const handedOver = performance.now();
    header[H.ITEM] = 0;
    header[H.ITEM_STARTED_US] = 0;
    for (let i = 0; i < (calls?.length ?? 0); i++) items[slotOf(i, I.CLAIM)] = Claim.PENDING;
    times[HF.HANDED_OVER_AT] = sharedNow();
    handOver(this.channel, State.REQUEST);
    const alone = ++inFlight === 1;
    try {
      // The only call in flight: a short one is cheaper to wait for by spinning than by a wake-up of the event loop.
      if (alone && (calls?.length ?? 0) <= 1) spinWhile(this.channel, State.REQUEST, MAIN_SPIN_MS);
      return { failed: await this.#awaitResponse(handedOver, timeoutMs, backend, calls, waits), handedOver };
    } finally {
      inFlight--;
      Atomics.store(header, H.STATE, State.IDLE);
    }
  }

  /** Index in its batch of the call the worker runs now (or last ran). */
  runningCall(): number {
    return Atomics.load(this.channel.header, H.ITEM);
  }

  /** The call running in the worker now, when it started and its deadline (performance.now() times). */
  #current(handedOver: number, timeoutMs: number): { item: number; startedAt: number; deadline: number } {
    const { header } = this.channel;
    for (;;) {
      // ITEM is stored after ITEM_STARTED_US: reading it on both sides of the time catches a call that just began.
      const item = Atomics.load(header, H.ITEM);
      const startedUs = Atomics.load(header, H.ITEM_STARTED_US);
      if (Atomics.load(header, H.ITEM) === item) {
        const startedAt = handedOver + startedUs / 1000;
        return { item, startedAt, deadline: startedAt + timeoutMs };
      }
    }
  }

  /**
   * Cancels the calls not started yet whose wait ran out (the worker skips
   * them); returns when the next one runs out.
   */
  #expireWaits(waits: BatchWaits | undefined, from: number): number {
    if (!waits) return Infinity;
    const { items } = this.channel;
    const now = performance.now();
    let next = Infinity;
    for (let i = from; i < waits.until.length; i++) {
      const until = waits.until[i]!;
      if (until > now) next = Math.min(next, until);
      else if (Atomics.compareExchange(items, slotOf(i, I.CLAIM), Claim.PENDING, Claim.CANCELLED) === Claim.PENDING) waits.expired(i);
    }
    return next;
  }

  async #awaitResponse(
    handedOver: number,
    timeoutMs: number,
    backend: BackendHandler,
    calls?: WorkerCall[],
    waits?: BatchWaits,
  ): Promise<BatchOutcome['failed']> {
    const { header } = this.channel;
    for (;;) {
      const state = Atomics.load(header, H.STATE);
      if (state === State.RESPONSE) return undefined;
      const { item, startedAt, deadline } = this.#current(handedOver, timeoutMs);
      if (this.exited) return { item, startedAt, error: this.#crashError(calls?.[item]?.fn) };
      if (state === State.BACKEND_REQUEST) {
        if (!(await this.#serveBackend(deadline, backend))) return { item, startedAt, error: this.#timedOut(calls?.[item]?.fn) };
        continue;
      }
      const nextExpiry = this.#expireWaits(waits, item);
      const outcome = await waitWhile(this.channel, state, Math.min(deadline, nextExpiry) - performance.now());
      if (outcome === 'timed-out' && Atomics.load(header, H.STATE) === state) {
        const now = this.#current(handedOver, timeoutMs);
        if (now.item === item && performance.now() >= now.deadline) {
          // A call the worker has published but not started (pending, or cancelled meanwhile by its wait) is one
          // whose fresh instance was still starting.
          const starting = item > 0 && Atomics.load(this.channel.items, slotOf(item, I.CLAIM)) !== Claim.RUNNING;
          return { item, startedAt, error: this.#timedOut(starting ? undefined : calls?.[item]?.fn), ...(starting ? { starting } : {}) };
        }
      }
    }
  }

  /** Terminates the worker (the only way to stop a call) and makes the caller's error. */
  #timedOut(fn: GuardFunction | undefined): GuardTimeoutError {
    void this.terminate();
    return new GuardTimeoutError(`guard ${this.#source.name} ${fn ?? 'reset'} did not finish within its deadline; the worker was terminated`, {
      guard: this.#source.name,
      fn,
    });
  }

  /** Performs one call_backend for the worker; false when the call's deadline passed first. */
  async #serveBackend(deadline: number, backend: BackendHandler): Promise<boolean> {
    const { header, data } = this.channel;
    const at = header[H.BACKEND_OFF]!;
    const toolLen = header[H.BACKEND_TOOL_LEN]!;
    const tool = data.toString('utf8', at, at + toolLen);
    const args = data.toString('utf8', at + toolLen, at + toolLen + header[H.BACKEND_ARGS_LEN]!);
    let reply: Uint8Array | string | undefined;
    // The guard's deadline bounds the backend call too, even a handler that ignores its signal.
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<typeof controller>((resolve) => {
      timer = setTimeout(() => resolve(controller), Math.max(0, deadline - performance.now()));
    });
    try {
      const outcome = await Promise.race([backend(tool, args, controller.signal), expired]);
      if (outcome === controller) {
        controller.abort(new DOMException('the guard call reached its deadline', 'TimeoutError'));
        return false;
      }
      reply = outcome as Uint8Array | string | undefined;
    } catch {
      reply = undefined;
    } finally {
      clearTimeout(timer);
    }
    const bytes = typeof reply === 'string' ? Buffer.from(reply) : reply;
    if (bytes && bytes.length <= data.length - at) {
      data.set(bytes, at);
      header[H.BACKEND_LEN] = bytes.length;
      header[H.BACKEND_STATUS] = Status.OK;
    } else {
      header[H.BACKEND_STATUS] = Status.ERROR;
    }
    handOver(this.channel, State.BACKEND_REPLY);
    return true;
  }

  #crashError(fn: GuardFunction | undefined): GuardTrapError {
    return new GuardTrapError('host', `guard ${this.#source.name} worker stopped unexpectedly`, { guard: this.#source.name, fn });
  }

  terminate(): Promise<void> {
    if (this.#exited) return Promise.resolve();
    this.#terminating ??= this.#worker.terminate().then(() => {});
    return this.#terminating;
  }

  /** Wakes a main-thread waiter when the worker dies mid-call (the exit event cannot reach an Atomics wait otherwise). */
  wakeWaiters(): void {
    Atomics.notify(this.channel.header, H.STATE);
  }
}

/** Writes a call's input (its parts back to back) at `offset` of the data region; its length in bytes. */
function writeInput(data: Buffer, input: CallInput | undefined, offset: number): number {
  if (input === undefined) return 0;
  if (typeof input === 'string') return data.write(input, offset);
  let at = offset;
  for (const part of input) {
    if (typeof part === 'string') at += data.write(part, at);
    else {
      data.set(part, at);
      at += part.length;
    }
  }
  return at - offset;
}
