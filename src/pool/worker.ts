/**
 * Guard worker: hosts one guard instance and serves calls from its channel.
 * It blocks between calls; the pool terminates it when a call overruns its
 * deadline, which is the only way to stop a wasm loop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { GuardError, GuardInstance, type GuardLogger, type InstanceSource } from '../guard/index.js';
import type { BackendCaller, BackendReply } from '../guard/host/backend.js';
import { blockUntil, SpinBudget, Flag, FUNCTIONS, H, handOver, Op, openChannel, State, Status, type Channel } from './channel.js';
import { forwardingLogger } from './worker-log.js';

export interface GuardWorkerData {
  source: InstanceSource;
  sab: SharedArrayBuffer;
  logLevel: string;
}

const { source, sab, logLevel } = workerData as GuardWorkerData;
const channel = openChannel(sab);
const logger: GuardLogger = forwardingLogger(logLevel, (message) => parentPort!.postMessage(message));
const regrowths = { hinted: 0, doubled: 0 };

/** call_backend: hands the request to the main thread and sleeps until the reply is in the channel. */
const backend: BackendCaller = {
  call(tool: string, argsJson: string): BackendReply {
    const { header, data } = channel;
    const toolLen = data.write(tool, 0);
    const argsLen = Buffer.byteLength(argsJson);
    if (toolLen + argsLen > data.length) return { ok: false };
    data.write(argsJson, toolLen);
    header[H.BACKEND_TOOL_LEN] = toolLen;
    header[H.BACKEND_ARGS_LEN] = argsLen;
    handOver(channel, State.BACKEND_REQUEST);
    blockUntil(channel, State.BACKEND_REPLY);
    Atomics.store(header, H.STATE, State.REQUEST);
    if (header[H.BACKEND_STATUS] !== Status.OK) return { ok: false };
    return { ok: true, json: Buffer.from(data.subarray(0, header[H.BACKEND_LEN])) }; // a copy: the region is reused
  },
};

const create = () =>
  GuardInstance.create(source, {
    logger,
    backend,
    observer: { regrowth: (_fn, how) => regrowths[how]++ },
  });

function respond(ch: Channel, parts: Uint8Array[], status: number): void {
  const { header, data } = ch;
  let offset = 0;
  for (const part of parts) {
    data.set(part, offset);
    offset += part.length;
  }
  header[H.STATUS] = status;
}

let instance: GuardInstance | undefined;
let startupError: GuardError | undefined;
// From here the host bounds the start by the call deadline (_initialize could loop).
parentPort!.postMessage({ type: 'instantiating' });
try {
  instance = create();
} catch (error) {
  startupError = error as GuardError;
}
parentPort!.postMessage(startupError ? { type: 'failed', error: toErrorData(startupError) } : { type: 'ready' });

function toErrorData(error: unknown) {
  return error instanceof GuardError ? error.toData() : { name: 'GuardError', code: 'WG_ERR_GUARD', message: String(error) };
}

function serve(): void {
  const { header, data } = channel;
  regrowths.hinted = 0;
  regrowths.doubled = 0;
  header[H.AGENT_LEN] = 0;
  try {
    const flags = header[H.FLAGS]!;
    if (header[H.OP] === Op.RESET || flags & Flag.FRESH_INSTANCE || !instance) instance = create();
    if (header[H.OP] === Op.RESET) {
      header[H.OUT_LEN] = 0;
      respond(channel, [], Status.OK);
      return;
    }
    const fn = FUNCTIONS[header[H.FN]!]!;
    const policyLen = header[H.POLICY_LEN]!;
    const inputLen = header[H.INPUT_LEN]!;
    // Both are consumed (copied into linear memory) before anything is written back.
    const policy = data.subarray(0, policyLen);
    const inChannel = data.subarray(policyLen, policyLen + inputLen);
    // label_agent may call the backend, whose request and reply reuse the channel: keep the input out of its way.
    const input = flags & Flag.APPLY_POLICY ? Buffer.from(inChannel) : inChannel;
    if (fn === 'label_agent') {
      const out = instance.applyPolicy(policy);
      header[H.OUT_LEN] = out.length;
      respond(channel, [out], Status.OK);
      return;
    }
    const agent = flags & Flag.APPLY_POLICY ? instance.applyPolicy(policy) : undefined;
    const out = instance.invoke(fn, input);
    header[H.AGENT_LEN] = agent?.length ?? 0;
    header[H.OUT_LEN] = out.length;
    respond(channel, agent ? [agent, out] : [out], Status.OK);
  } catch (error) {
    const encoded = Buffer.from(JSON.stringify(toErrorData(error)));
    header[H.OUT_LEN] = encoded.length;
    respond(channel, [encoded], Status.ERROR);
  } finally {
    header[H.REGROW_HINTED] = regrowths.hinted;
    header[H.REGROW_DOUBLED] = regrowths.doubled;
    header[H.RETIRED] = !instance || instance.poisoned ? 1 : 0;
    header[H.MEMORY_BYTES] = instance?.memoryBytes ?? 0;
  }
}

// Between calls the worker spins (up to 100 µs) before it sleeps, while requests keep coming sooner than a sleeping thread wakes.
const spin = new SpinBudget(0.1);
for (;;) {
  spin.waited(blockUntil(channel, State.REQUEST, spin.ms));
  serve();
  handOver(channel, State.RESPONSE);
}
