import { Worker } from 'node:worker_threads';
import { guardErrorFromData, GuardTimeoutError, GuardTrapError, type GuardErrorData, type GuardFunction, type GuardLogger, type InstanceSource } from '../guard/index.js';
import { createChannel, Flag, FUNCTIONS, H, handOver, Op, openChannel, spinWhile, State, Status, waitWhile, type Channel } from './channel.js';
import type { GuardWorkerData } from './worker.js';
import type { WorkerLogMessage } from './worker-log.js';

/** The asynchronous side of call_backend, performed on the main thread. */
export type BackendHandler = (tool: string, argsJson: string, signal: AbortSignal) => Promise<Uint8Array | string | undefined>;

export interface WorkerRequest {
  op: 'call' | 'reset';
  fn?: GuardFunction;
  policy?: string;
  input?: string;
  applyPolicy?: boolean;
  freshInstance?: boolean;
}

export interface WorkerResponse {
  ok: boolean;
  output: string;
  agentOutput?: string;
  error?: GuardErrorData;
  /** The instance stopped (trap, exit) and must be replaced before the next call. */
  retired: boolean;
  regrowths: { hinted: number; doubled: number };
  memoryBytes: number;
}

type WorkerStartMessage = WorkerLogMessage | { type: 'instantiating' } | { type: 'ready' } | { type: 'failed'; error: GuardErrorData };

/**
 * How long the main thread spins for a response before it sleeps in
 * Atomics.waitAsync (about what waking it again costs on an idle CPU), and
 * how many calls are in flight on this thread (it spins only for a lone one).
 */
const MAIN_SPIN_MS = 0.03;
let inFlight = 0;

const here = import.meta.url;
const fromSources = here.endsWith('.ts');

/** Where the worker module is: the compiled .js in production, the .ts source (via tsx) under test. */
function workerSpec(): { file: URL; extra: Record<string, string> } {
  if (!fromSources) return { file: new URL('./worker.js', here), extra: {} };
  return { file: new URL('./dev-worker-boot.mjs', here), extra: { workerEntry: new URL('./worker.ts', here).href } };
}

/**
 * One guard worker as seen from the main thread: starts it, runs one request
 * at a time through its channel, enforces the deadline by terminating it.
 */
export class WorkerHost {
  readonly channel: Channel;
  readonly ready: Promise<void>;
  readonly #worker: Worker;
  readonly #source: InstanceSource;
  #exited = false;
  #terminating: Promise<void> | undefined;
  #onExit: (() => void) | undefined;

  /** `timeoutMs` bounds the instantiation in the worker (module loading is not counted), as it bounds a call. */
  constructor(source: InstanceSource, options: { logger: GuardLogger; logLevel: string; dataBytes: number; timeoutMs: number }) {
    this.#source = source;
    const sab = createChannel(options.dataBytes);
    this.channel = openChannel(sab);
    const { file, extra } = workerSpec();
    const data: GuardWorkerData & Record<string, unknown> = { source, sab, logLevel: options.logLevel, ...extra };
    this.#worker = new Worker(file, { workerData: data, stdout: false, stderr: false });
    this.#worker.unref();
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

  /** Encodes the request into the channel; the pool has checked that it fits. */
  #write(request: WorkerRequest): void {
    const { header, data } = this.channel;
    let policyLen = 0;
    let inputLen = 0;
    if (request.policy !== undefined) policyLen = data.write(request.policy, 0);
    if (request.input !== undefined) inputLen = data.write(request.input, policyLen);
    header[H.OP] = request.op === 'reset' ? Op.RESET : Op.CALL;
    header[H.FN] = request.fn ? FUNCTIONS.indexOf(request.fn) : 0;
    header[H.FLAGS] = (request.applyPolicy ? Flag.APPLY_POLICY : 0) | (request.freshInstance ? Flag.FRESH_INSTANCE : 0);
    header[H.POLICY_LEN] = policyLen;
    header[H.INPUT_LEN] = inputLen;
  }

  /**
   * Runs one request. `deadline` is an absolute performance.now() time; past
   * it the worker is terminated and the call fails with GuardTimeoutError.
   */
  async run(request: WorkerRequest, deadline: number, backend: BackendHandler): Promise<WorkerResponse> {
    const { header, data } = this.channel;
    this.#write(request);
    handOver(this.channel, State.REQUEST);
    const alone = ++inFlight === 1;
    try {
      // The only call in flight: a short one is cheaper to wait for by spinning than by a wake-up of the event loop.
      if (alone) spinWhile(this.channel, State.REQUEST, MAIN_SPIN_MS);
      await this.#awaitResponse(request.fn, deadline, backend);
    } finally {
      inFlight--;
    }
    Atomics.store(header, H.STATE, State.IDLE);
    const outLen = header[H.OUT_LEN]!;
    const agentLen = header[H.AGENT_LEN]!;
    const ok = header[H.STATUS] === Status.OK;
    const response: WorkerResponse = {
      ok,
      output: '',
      retired: header[H.RETIRED] === 1,
      regrowths: { hinted: header[H.REGROW_HINTED]!, doubled: header[H.REGROW_DOUBLED]! },
      memoryBytes: header[H.MEMORY_BYTES]!,
    };
    if (!ok) {
      response.error = JSON.parse(data.toString('utf8', 0, outLen)) as GuardErrorData;
      return response;
    }
    if (agentLen > 0) response.agentOutput = data.toString('utf8', 0, agentLen);
    response.output = data.toString('utf8', agentLen, agentLen + outLen);
    return response;
  }

  async #awaitResponse(fn: GuardFunction | undefined, deadline: number, backend: BackendHandler): Promise<void> {
    const { header } = this.channel;
    for (;;) {
      const state = Atomics.load(header, H.STATE);
      if (state === State.RESPONSE) return;
      if (this.exited) throw this.#crashError(fn);
      if (state === State.BACKEND_REQUEST) {
        if (!(await this.#serveBackend(deadline, backend))) throw this.#timedOut(fn);
        continue;
      }
      const outcome = await waitWhile(this.channel, state, deadline - performance.now());
      if (outcome === 'timed-out' && Atomics.load(header, H.STATE) === state) throw this.#timedOut(fn);
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
    const toolLen = header[H.BACKEND_TOOL_LEN]!;
    const tool = data.toString('utf8', 0, toolLen);
    const args = data.toString('utf8', toolLen, toolLen + header[H.BACKEND_ARGS_LEN]!);
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
    if (bytes && bytes.length <= data.length) {
      data.set(bytes, 0);
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
