/**
 * The lean transport between the event loop and a guard worker: one
 * SharedArrayBuffer per worker, a small Int32 header, a table of up to
 * MAX_BATCH calls and a data region. The worker blocks in Atomics.wait (it
 * has nothing else to do, and a blocked worker is what makes call_backend
 * synchronous for the guard); the main thread waits with Atomics.waitAsync,
 * so it never blocks. JSON is encoded once, straight into the shared buffer;
 * no structured clone, no postMessage on the hot path.
 *
 * Calls travel in batches: every call waiting when a worker comes free goes
 * over in one hand-over and comes back in one. Waking a thread costs tens of
 * µs on a VM, more than a short guard call; a batch pays it once.
 */

/** Whose turn it is. The worker runs in REQUEST and BACKEND_REPLY, the main thread otherwise. */
export const State = {
  IDLE: 0,
  REQUEST: 1,
  RESPONSE: 2,
  BACKEND_REQUEST: 3,
  BACKEND_REPLY: 4,
} as const;

export const Op = { CALL: 1, RESET: 2 } as const;

export const Status = { OK: 0, ERROR: 1, CANCELLED: 2 } as const;

/** Who owns a call of the batch: the worker claims it to run it, the main thread to cancel it (its wait ran out). */
export const Claim = { PENDING: 0, RUNNING: 1, CANCELLED: 2 } as const;

/** Header slots (Int32 indexes). */
export const H = {
  STATE: 0,
  OP: 1,
  /** Calls in the batch. */
  COUNT: 2,
  /**
   * Calls whose results are in the table and the data region, published call
   * by call: the worker may stop early (trap, no room for more output), and a
   * worker terminated at a deadline leaves the results of the calls it finished.
   */
  DONE: 3,
  /** The call running now, and when it started, in µs after the batch was handed over (for its deadline). */
  ITEM: 4,
  ITEM_STARTED_US: 5,
  BACKEND_TOOL_LEN: 6,
  BACKEND_ARGS_LEN: 7,
  BACKEND_STATUS: 8,
  BACKEND_LEN: 9,
  /** The instance stopped (trap, exit) and must be replaced before the next call. */
  RETIRED: 10,
  /** Outcome of a reset, with its error JSON (OUT_LEN bytes at the start of the region). */
  STATUS: 11,
  OUT_LEN: 12,
  /** Where a call_backend exchange (tool, args, then the reply) sits in the data region: after the batch's outputs so far. */
  BACKEND_OFF: 13,
  /**
   * Set by the main thread when the guard is not failing again and again: a
   * call that stops the instance (trap, exit) may have it replaced by the
   * worker, which then goes on with the batch. Otherwise the batch ends there
   * and the pool replaces the instance, with its backoff.
   */
  REPLACE_INLINE: 14,
  /**
   * The policy number the worker's instance holds once it has served the
   * batch or reset (0 = none, -1 = one label_agent refused): what the pool
   * records for policy affinity.
   */
  POLICY_HELD: 15,
} as const;

/** Float64 slots of the header: when the main thread handed the batch over (performance.timeOrigin + now, ms). */
export const HF = { HANDED_OVER_AT: 8 } as const;

/** Int32 fields of one call in the table. */
export const I = {
  FN: 0,
  /** Per-pool number of the call's policy; 0 = no policy (a fresh instance, never given one). */
  POLICY_ID: 1,
  POLICY_OFF: 2,
  POLICY_LEN: 3,
  INPUT_OFF: 4,
  INPUT_LEN: 5,
  STATUS: 6,
  /** Output: label_agent's (when the call had to apply its policy first), then the call's own, back to back. */
  OUT_OFF: 7,
  AGENT_LEN: 8,
  OUT_LEN: 9,
  REGROW_HINTED: 10,
  REGROW_DOUBLED: 11,
  ELAPSED_US: 12,
  CLAIM: 13,
  /** When the call started, in µs after the hand-over. */
  STARTED_US: 14,
  /** 1: this call stopped the instance, and the worker replaced it before going on with the batch. */
  REPLACED: 15,
} as const;
const ITEM_FIELDS = 16;

/** Most calls in one batch. */
export const MAX_BATCH = 32;
const HEADER_INTS = 32;
const HEADER_BYTES = HEADER_INTS * 4 + MAX_BATCH * ITEM_FIELDS * 4;

export const FUNCTIONS = ['label_agent', 'label_resource', 'label_response'] as const;
/** I.FN of a label_response call whose input is a response job (src/guard/response-job.ts): the worker runs the whole check. */
export const RESPONSE_JOB_FN = FUNCTIONS.length;

export interface Channel {
  sab: SharedArrayBuffer;
  header: Int32Array;
  times: Float64Array;
  /** The call table: call i's field f is items[i * ITEM_FIELDS + f]. */
  items: Int32Array;
  /** The data region as a Buffer (Buffer reads and writes shared memory, TextDecoder does not). */
  data: Buffer;
}

export function createChannel(dataBytes: number): SharedArrayBuffer {
  return new SharedArrayBuffer(HEADER_BYTES + dataBytes);
}

export function openChannel(sab: SharedArrayBuffer): Channel {
  return {
    sab,
    header: new Int32Array(sab, 0, HEADER_INTS),
    times: new Float64Array(sab, 0, HEADER_INTS / 2),
    items: new Int32Array(sab, HEADER_INTS * 4, MAX_BATCH * ITEM_FIELDS),
    data: Buffer.from(sab, HEADER_BYTES),
  };
}

/** Index of field `field` of call `item` in `channel.items`. */
export const slotOf = (item: number, field: number): number => item * ITEM_FIELDS + field;

/** A wall clock both threads share (performance.now() has a different origin in each thread). */
export const sharedNow = (): number => performance.timeOrigin + performance.now();

/** Sets the state and wakes the other side. */
export function handOver(channel: Channel, state: number): void {
  Atomics.store(channel.header, H.STATE, state);
  Atomics.notify(channel.header, H.STATE);
}

type WaitAsync = (
  array: Int32Array,
  index: number,
  value: number,
  timeout?: number,
) => { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };

const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

/**
 * Main thread: resolves once the state is no longer `value`, or with
 * 'timed-out' after `timeoutMs`.
 */
export async function waitWhile(channel: Channel, value: number, timeoutMs: number): Promise<'changed' | 'timed-out'> {
  const result = waitAsync(channel.header, H.STATE, value, Math.max(0, timeoutMs));
  const outcome = result.async ? await result.value : result.value;
  return outcome === 'timed-out' ? 'timed-out' : 'changed';
}

/** Main thread: spins for at most `spinMs` while the state is `value` (never long: it holds up the event loop). */
export function spinWhile(channel: Channel, value: number, spinMs: number): void {
  const until = performance.now() + spinMs;
  while (Atomics.load(channel.header, H.STATE) === value && performance.now() < until);
}

/**
 * Worker: blocks until the state is `wanted`, first spinning for up to
 * `spinMs`: waking a thread that sleeps in Atomics.wait costs tens of µs
 * when its CPU has gone idle, more than a whole short guard call. Returns
 * how long it waited, in ms, so the caller can adapt its spin budget.
 */
export function blockUntil(channel: Channel, wanted: number, spinMs = 0): number {
  const { header } = channel;
  const started = performance.now();
  if (spinMs > 0) {
    const until = started + spinMs;
    do {
      for (let i = 0; i < 64; i++) if (Atomics.load(header, H.STATE) === wanted) return performance.now() - started;
    } while (performance.now() < until);
  }
  for (;;) {
    const current = Atomics.load(header, H.STATE);
    if (current === wanted) return performance.now() - started;
    Atomics.wait(header, H.STATE, current);
  }
}

/**
 * The worker's spin budget between calls, adapted like an adaptive mutex:
 * a request that came within the full budget earns it back; a longer gap
 * halves it (down to no spin). A pool fed faster than a thread wakes keeps
 * spinning; one fed slower stops burning the CPU its own event loop needs.
 */
export class SpinBudget {
  #ms: number;

  constructor(readonly maxMs: number) {
    this.#ms = maxMs;
  }

  get ms(): number {
    return this.#ms;
  }

  /** Records how long the last wait for a request took. */
  waited(ms: number): void {
    this.#ms = ms <= this.maxMs ? this.maxMs : this.#ms / 2 < this.maxMs / 32 ? 0 : this.#ms / 2;
  }
}
