/**
 * One deadline for every Redis call, kept with one timer.
 *
 * ioredis's own `commandTimeout` arms a setTimeout per command and clears it
 * (with a `delete`, which turns the command into a slow dictionary object)
 * when the reply comes: about 5 µs of event-loop time per session evaluate,
 * which makes two calls. Every call here has the same timeout, so deadlines
 * fall in the order calls start: pending calls are a queue in deadline order,
 * and one timer, armed for the oldest still-pending call, is enough. Calls on
 * one connection are answered in order, so the queue's head moves on as
 * replies arrive and the queue stays short.
 */
interface Pending {
  deadline: number;
  settled: boolean;
  reject: (error: Error) => void;
}

/** The message ioredis gave a command past its commandTimeout, kept so logs and 503 details read the same. */
export const TIMED_OUT = 'Command timed out';

/** Past this many settled calls at its front, the queue's array is cut down (not on every call: shifting is O(n)). */
const COMPACT_AFTER = 1024;

export class CallDeadline {
  #queue: Pending[] = [];
  #head = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(readonly timeoutMs: number) {}

  /** `call`'s outcome, or a rejection with Error(TIMED_OUT) once it is older than the timeout; a late reply is dropped. */
  guard<T>(call: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const pending: Pending = { deadline: performance.now() + this.timeoutMs, settled: false, reject };
      this.#queue.push(pending);
      if (this.#timer === undefined) this.#arm(pending.deadline);
      call.then(
        (value) => {
          if (this.#settle(pending)) resolve(value);
        },
        (error: unknown) => {
          if (this.#settle(pending)) reject(error);
        },
      );
    });
  }

  /** Whether the call was still pending; drops settled calls from the queue's front. */
  #settle(pending: Pending): boolean {
    if (pending.settled) return false;
    pending.settled = true;
    this.#dropSettled();
    return true;
  }

  #dropSettled(): void {
    const queue = this.#queue;
    while (this.#head < queue.length && queue[this.#head]!.settled) this.#head++;
    if (this.#head === queue.length) {
      queue.length = 0;
      this.#head = 0;
    } else if (this.#head >= COMPACT_AFTER) {
      this.#queue = queue.slice(this.#head);
      this.#head = 0;
    }
  }

  #arm(deadline: number): void {
    this.#timer = setTimeout(this.#expire, Math.max(0, deadline - performance.now()));
    // A pending deadline alone must not keep the process alive.
    this.#timer.unref();
  }

  readonly #expire = (): void => {
    this.#timer = undefined;
    const now = performance.now();
    const queue = this.#queue;
    for (let i = this.#head; i < queue.length; i++) {
      const pending = queue[i]!;
      if (pending.settled) continue;
      if (pending.deadline > now) break;
      pending.settled = true;
      pending.reject(new Error(TIMED_OUT));
    }
    this.#dropSettled();
    if (this.#head < this.#queue.length) this.#arm(this.#queue[this.#head]!.deadline);
  };
}
