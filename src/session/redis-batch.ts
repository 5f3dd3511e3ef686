/**
 * Store calls made in the same turn of the event loop, sent to Redis as one
 * script call (redis-store.ts: the turn's session reads and decision writes).
 *
 * A session evaluate makes two Redis calls (read the session, keep the
 * decision). Each ioredis command costs the event loop a Command, a script
 * wrapper, promises, its place in an auto-pipeline and its reply's
 * conversion, besides the garbage all of that leaves: under load that was
 * about as much CPU as the rest of the request. Under load many requests
 * arrive in one turn, and others finish in it: their reads and writes share one call.
 * This replaces ioredis's auto-pipelining (off in redis-store.ts), with the
 * same wait (setImmediate) but fewer commands, and without its limit of one
 * pipeline in flight: each batch goes out when its turn ends.
 *
 * Each caller still gets its own outcome: the scripts answer per key, and an
 * error for one key (an Error in the reply) fails only that caller.
 */
interface Waiting<I, R> {
  item: I;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

/** Past this many calls a batch goes at once: one script call must not keep Redis (single-threaded) busy for long. */
export const MAX_BATCH = 256;

export class RedisBatch<I, R> {
  #waiting: Array<Waiting<I, R>> = [];

  /** `send` makes one call for `items` and answers one result (or Error) per item, in their order. */
  constructor(readonly send: (items: I[]) => Promise<Array<R | Error>>) {}

  add(item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      if (this.#waiting.push({ item, resolve, reject }) === 1) setImmediate(this.#flush);
      else if (this.#waiting.length >= MAX_BATCH) this.#flush();
    });
  }

  readonly #flush = (): void => {
    const batch = this.#waiting;
    if (batch.length === 0) return;
    this.#waiting = [];
    let sent: Promise<Array<R | Error>>;
    try {
      sent = this.send(batch.map((w) => w.item));
    } catch (error) {
      sent = Promise.reject(error);
    }
    sent.then(
      (results) => {
        for (let i = 0; i < batch.length; i++) {
          const result = results[i];
          if (result instanceof Error) batch[i]!.reject(result);
          else if (i < results.length) batch[i]!.resolve(result as R);
          else batch[i]!.reject(new Error(`Redis answered ${results.length} results for ${batch.length} calls`));
        }
      },
      (error: unknown) => {
        for (const w of batch) w.reject(error);
      },
    );
  };
}
