/**
 * The lean transport between the event loop and a guard worker: one
 * SharedArrayBuffer per worker, a small Int32 header and a data region. The
 * worker blocks in Atomics.wait (it has nothing else to do, and a blocked
 * worker is what makes call_backend synchronous for the guard); the main
 * thread waits with Atomics.waitAsync, so it never blocks. JSON is encoded
 * once, straight into the shared buffer; no structured clone, no postMessage
 * on the hot path.
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

export const Flag = {
  /** Run label_agent with the policy before the call. */
  APPLY_POLICY: 1,
  /** Replace the instance with a fresh one before the call ("no policy" needs one that never ran label_agent). */
  FRESH_INSTANCE: 2,
} as const;

export const Status = { OK: 0, ERROR: 1 } as const;

/** Header slots (Int32 indexes). */
export const H = {
  STATE: 0,
  OP: 1,
  FN: 2,
  FLAGS: 3,
  POLICY_LEN: 4,
  INPUT_LEN: 5,
  STATUS: 6,
  OUT_LEN: 7,
  AGENT_LEN: 8,
  REGROW_HINTED: 9,
  REGROW_DOUBLED: 10,
  BACKEND_TOOL_LEN: 11,
  BACKEND_ARGS_LEN: 12,
  BACKEND_STATUS: 13,
  BACKEND_LEN: 14,
  RETIRED: 15,
  MEMORY_BYTES: 16,
} as const;

export const HEADER_BYTES = 128;

export const FUNCTIONS = ['label_agent', 'label_resource', 'label_response'] as const;

export interface Channel {
  sab: SharedArrayBuffer;
  header: Int32Array;
  /** The data region as a Buffer (Buffer reads and writes shared memory, TextDecoder does not). */
  data: Buffer;
}

export function createChannel(dataBytes: number): SharedArrayBuffer {
  return new SharedArrayBuffer(HEADER_BYTES + dataBytes);
}

export function openChannel(sab: SharedArrayBuffer): Channel {
  return {
    sab,
    header: new Int32Array(sab, 0, HEADER_BYTES / 4),
    data: Buffer.from(sab, HEADER_BYTES),
  };
}

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
