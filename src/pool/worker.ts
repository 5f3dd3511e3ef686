/**
 * Guard worker: hosts one guard instance and serves batches of calls from its
 * channel. It blocks between batches; the pool terminates it when a call
 * overruns its deadline, which is the only way to stop a wasm loop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { GuardError, GuardInstance, isPlacementFailure, type GuardLogger, type InstanceSource } from '../guard/index.js';
import type { BackendCaller, BackendReply } from '../guard/host/backend.js';
import { runResponseJob, TOO_LARGE } from '../guard/response-job.js';
import { blockUntil, Claim, SpinBudget, FUNCTIONS, H, handOver, HF, I, Op, openChannel, RESPONSE_JOB_FN, sharedNow, slotOf, State, Status } from './channel.js';
import { ScratchBytes } from './scratch-bytes.js';
import { forwardingLogger } from './worker-log.js';
import { REFUSED_POLICY as REFUSED } from './instance-lifecycle.js';

export interface GuardWorkerData {
  source: InstanceSource;
  sab: SharedArrayBuffer;
  logLevel: string;
  /** The pool has a backend: without one every call_backend gets -1 here, without a round trip to the main thread. */
  hasBackend: boolean;
}

const { source, sab, logLevel, hasBackend } = workerData as GuardWorkerData;
const channel = openChannel(sab);
const { header, items, data, times } = channel;
const logger: GuardLogger = forwardingLogger(logLevel, (message) => parentPort!.postMessage(message));
const regrowths = { hinted: 0, doubled: 0 };

/**
 * Bytes kept from batch to batch: a copy of the batch's inputs, and a response job's guard input
 * and reply (src/pool/scratch-bytes.ts). Up to 4 MiB each; a larger batch or job allocates its own.
 */
const batchInputs = new ScratchBytes(4 * 1024 * 1024);
const encoded = new ScratchBytes(4 * 1024 * 1024);

/** How long a response job's guard call took (ms): what the call's duration reports, not the job's host work. */
let guardCallMs: number | undefined;

/** Where this call's call_backend exchanges go in the data region: after the outputs the batch has written. */
let exchangeAt = 0;

/**
 * call_backend: hands the request to the main thread and sleeps until the
 * reply is in the channel. The batch's requests were copied out before its
 * first call ran; the exchange goes after the outputs written so far.
 */
const backend: BackendCaller = {
  call(tool: string, argsJson: string): BackendReply {
    if (!hasBackend) return { ok: false };
    const toolLen = Buffer.byteLength(tool);
    const argsLen = Buffer.byteLength(argsJson);
    if (toolLen + argsLen > data.length - exchangeAt) return { ok: false };
    data.write(tool, exchangeAt);
    data.write(argsJson, exchangeAt + toolLen);
    header[H.BACKEND_OFF] = exchangeAt;
    header[H.BACKEND_TOOL_LEN] = toolLen;
    header[H.BACKEND_ARGS_LEN] = argsLen;
    handOver(channel, State.BACKEND_REQUEST);
    blockUntil(channel, State.BACKEND_REPLY);
    Atomics.store(header, H.STATE, State.REQUEST);
    if (header[H.BACKEND_STATUS] !== Status.OK) return { ok: false };
    // A copy: the region is reused.
    return { ok: true, json: Buffer.from(data.subarray(exchangeAt, exchangeAt + header[H.BACKEND_LEN]!)) };
  },
};

const create = () =>
  GuardInstance.create(source, {
    logger,
    backend,
    observer: { regrowth: (_fn, how) => regrowths[how]++ },
  });

function toErrorData(error: unknown) {
  return error instanceof GuardError ? error.toData() : { name: 'GuardError', code: 'WG_ERR_GUARD', message: String(error) };
}

let instance: GuardInstance | undefined;
/** The policy number the instance was given with label_agent; 0 = none; -1 = a policy it refused (labels under none known). */
let policyId = 0;
let startupError: GuardError | undefined;
// From here the host bounds the start by the call deadline (_initialize could loop).
parentPort!.postMessage({ type: 'instantiating' });
try {
  instance = create();
} catch (error) {
  startupError = error as GuardError;
}
parentPort!.postMessage(startupError ? { type: 'failed', error: toErrorData(startupError) } : { type: 'ready' });

function fresh(): GuardInstance {
  instance = create();
  policyId = 0;
  return instance;
}

const EMPTY = new Uint8Array(0);

interface Outcome {
  status: number;
  agent?: Uint8Array;
  out: Uint8Array;
}

/** Runs call `i` of the batch, whose policy and input are in `requests` (a private copy of the region). */
function runCall(i: number, requests: Buffer): Outcome {
  const field = (f: number) => items[slotOf(i, f)]!;
  const job = field(I.FN) === RESPONSE_JOB_FN;
  const fn = job ? 'label_response' : FUNCTIONS[field(I.FN)]!;
  const wantedPolicy = field(I.POLICY_ID);
  const policy = requests.subarray(field(I.POLICY_OFF), field(I.POLICY_OFF) + field(I.POLICY_LEN));
  const input = requests.subarray(field(I.INPUT_OFF), field(I.INPUT_OFF) + field(I.INPUT_LEN));
  let isFresh = !instance || instance.poisoned || (wantedPolicy === 0 && policyId !== 0);
  let current = isFresh ? fresh() : instance!;
  for (;;) {
    try {
      let agent: Uint8Array | undefined;
      if (fn === 'label_agent' || (wantedPolicy !== 0 && wantedPolicy !== policyId)) {
        policyId = REFUSED;
        agent = current.applyPolicy(policy);
        policyId = wantedPolicy;
        if (fn === 'label_agent') return { status: Status.OK, out: agent };
      }
      return { status: Status.OK, agent, out: job ? runJob(input, current) : current.invoke(fn, input) };
    } catch (error) {
      // An instance whose memory earlier calls filled to the cap cannot place this call's buffers, nor any
      // later one's: retire it and run the call once more on a fresh instance, which has the room.
      if (isFresh || !isPlacementFailure(error)) throw error;
      logger.warn({ guard: source.name, fn }, 'instance memory is full at the cap: replaced, and the call retried on a fresh instance');
      current = fresh();
      isFresh = true;
    }
  }
}

/**
 * A response job: the host's parse, labelling and serialisation around the
 * guard's label_response. The call's deadline is the guard's: it starts
 * again when the guard is called, so parsing a large result does not count
 * against it (the judging and serialising after it do). The guard's input
 * and the reply are encoded into the worker's scratch bytes: the guard
 * copies its input into its memory, and serveBatch the reply into the
 * channel, before either is used again.
 */
function runJob(input: Buffer, instance: GuardInstance): Uint8Array {
  let guardOutput: Uint8Array | undefined;
  const reply = encoded.encodeParts(
    runResponseJob(input, (guardInput) => {
      const bytes = encoded.encodeParts(guardInput);
      const started = sharedNow();
      Atomics.store(header, H.ITEM_STARTED_US, Math.max(0, Math.round((started - times[HF.HANDED_OVER_AT]!) * 1000)));
      try {
        return (guardOutput = instance.invoke('label_response', bytes));
      } finally {
        guardCallMs = sharedNow() - started;
      }
    }),
  );
  // The region holds two of the largest guard outputs; a reply (labels for every item) can be larger: then the
  // guard's output goes back in its place, and the main thread checks the result on it.
  return reply.length <= data.length / 2 ? reply : Buffer.concat([Buffer.from(TOO_LARGE), guardOutput ?? EMPTY]);
}

/**
 * Replaces the stopped instance in the middle of a batch, when the pool
 * allows it and calls remain (once per batch: a second failure is the pool's
 * to handle, with backoff). The instantiation counts against the next call's
 * deadline, so a module whose start never ends gets the worker terminated.
 */
function replaceInline(i: number, count: number, handedOverAt: number): boolean {
  if (header[H.REPLACE_INLINE] !== 1 || i + 1 >= count) return false;
  Atomics.store(header, H.ITEM_STARTED_US, Math.max(0, Math.round((sharedNow() - handedOverAt) * 1000)));
  Atomics.store(header, H.ITEM, i + 1);
  try {
    fresh();
  } catch {
    return false; // the pool replaces it, and reports why it cannot start
  }
  header[H.REPLACE_INLINE] = 0;
  items[slotOf(i, I.REPLACED)] = 1;
  return true;
}

function serveBatch(): void {
  const count = header[H.COUNT]!;
  const handedOverAt = times[HF.HANDED_OVER_AT]!;
  let requestBytes = 0;
  for (let i = 0; i < count; i++) requestBytes = Math.max(requestBytes, items[slotOf(i, I.INPUT_OFF)]! + items[slotOf(i, I.INPUT_LEN)]!);
  // A private copy: the outputs and call_backend exchanges reuse the region.
  const requests = batchInputs.copyOf(data, requestBytes);
  let outputBytes = 0;
  for (let i = 0; i < count; i++) {
    const started = sharedNow();
    const startedUs = Math.max(0, Math.round((started - handedOverAt) * 1000));
    Atomics.store(header, H.ITEM_STARTED_US, startedUs);
    Atomics.store(header, H.ITEM, i);
    items[slotOf(i, I.STARTED_US)] = startedUs;
    regrowths.hinted = 0;
    regrowths.doubled = 0;
    guardCallMs = undefined;
    exchangeAt = outputBytes;
    let outcome: Outcome;
    if (Atomics.compareExchange(items, slotOf(i, I.CLAIM), Claim.PENDING, Claim.RUNNING) !== Claim.PENDING) {
      // The main thread gave up on this call (it waited too long) and has answered it already.
      outcome = { status: Status.CANCELLED, out: EMPTY };
    } else {
      try {
        outcome = runCall(i, requests);
      } catch (error) {
        outcome = { status: Status.ERROR, out: Buffer.from(JSON.stringify(toErrorData(error))) };
      }
    }
    const { status, agent, out } = outcome;
    const agentLen = agent?.length ?? 0;
    // No room left for this output: it and the calls after it go back to the pool's queue and run again.
    // (The first call's always fits: the region holds two of the largest outputs.)
    if (i > 0 && outputBytes + agentLen + out.length > data.length) break;
    if (agent) data.set(agent, outputBytes);
    data.set(out, outputBytes + agentLen);
    items[slotOf(i, I.STATUS)] = status;
    items[slotOf(i, I.OUT_OFF)] = outputBytes;
    items[slotOf(i, I.AGENT_LEN)] = agentLen;
    items[slotOf(i, I.OUT_LEN)] = out.length;
    items[slotOf(i, I.REGROW_HINTED)] = regrowths.hinted;
    items[slotOf(i, I.REGROW_DOUBLED)] = regrowths.doubled;
    items[slotOf(i, I.ELAPSED_US)] = Math.round((guardCallMs ?? sharedNow() - started) * 1000);
    items[slotOf(i, I.REPLACED)] = 0;
    outputBytes += agentLen + out.length;
    // After the call's fields and bytes: a main thread that sees DONE sees them too.
    Atomics.store(header, H.DONE, i + 1);
    // A poisoned instance serves no further call: it is replaced here, or the rest of the batch goes back to the pool.
    if ((!instance || instance.poisoned) && !replaceInline(i, count, handedOverAt)) break;
  }
}

/** Replaces the instance (after a trap); a failure to start comes back as error data in the region. */
function reset(): void {
  try {
    fresh();
    header[H.STATUS] = Status.OK;
  } catch (error) {
    header[H.OUT_LEN] = data.write(JSON.stringify(toErrorData(error)), 0);
    header[H.STATUS] = Status.ERROR;
  }
}

function serve(): void {
  Atomics.store(header, H.DONE, 0);
  try {
    if (header[H.OP] === Op.RESET) reset();
    else serveBatch();
  } finally {
    header[H.RETIRED] = !instance || instance.poisoned ? 1 : 0;
    header[H.POLICY_HELD] = policyId;
  }
}

// Between batches the worker spins (up to 100 µs) before it sleeps, while batches keep coming sooner than a sleeping thread wakes.
const spin = new SpinBudget(0.1);
for (;;) {
  spin.waited(blockUntil(channel, State.REQUEST, spin.ms));
  serve();
  handOver(channel, State.RESPONSE);
}
