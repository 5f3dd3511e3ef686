/**
 * A large request body's JSON bytes, beside the body the event loop parsed
 * from them. The response check takes the bytes and the tool result to run
 * whole in the guard's worker, writing the result over the bytes for the
 * worker to read (guard/response-job.ts). Taking
 * them also lets go of the parsed result: while the worker checks, the event
 * loop then holds the result once, as bytes outside its heap, not as text,
 * parsed value and job. Each check in flight lives a few milliseconds, long
 * enough for the young generation's collections to copy and promote what the
 * heap holds; with 16 connections of 70 KB results that was most of what the
 * event loop's collector did.
 */
export class BodyJson {
  #bytes: Buffer | undefined;
  #body: { result?: unknown } | undefined;
  readonly #keepParsed: boolean;

  /**
   * `body`: the value parsed from `bytes`, whose `result` member is the tool result. `keepParsed`: leave
   * that member in place when the bytes are taken (the decision log writes it when asked to log tool data).
   */
  constructor(bytes: Buffer, body: { result?: unknown }, keepParsed = false) {
    this.#bytes = bytes;
    this.#body = body;
    this.#keepParsed = keepParsed;
  }

  /** The body's length in bytes (0 once taken). */
  get byteLength(): number {
    return this.#bytes?.length ?? 0;
  }

  /** The parsed tool result, for a check that runs on the event loop; undefined once the bytes were taken. */
  get result(): unknown {
    return this.#body?.result;
  }

  /** The bytes and the result parsed from them, once, for the worker: this and the parsed body let go of the tool result. */
  take(): { bytes: Buffer; result: unknown } {
    const bytes = this.#bytes;
    if (bytes === undefined) throw new Error('the body JSON was taken already');
    const result = this.#body?.result;
    this.#bytes = undefined;
    if (!this.#keepParsed && this.#body) this.#body.result = undefined;
    this.#body = undefined;
    return { bytes, result };
  }
}
