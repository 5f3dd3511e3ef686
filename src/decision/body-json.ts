/**
 * A large request body's JSON text, beside the body the event loop parsed
 * from it. The response check takes the text to run whole in the guard's
 * worker, which parses the tool result there (guard/response-job.ts). Taking
 * it also lets go of the parsed result: while the worker checks, the event
 * loop then holds the result once (the job's text), not three times (text,
 * parsed value, job). Each check in flight lives a few milliseconds, long
 * enough for the young generation's collections to copy and promote what it
 * holds; with 16 connections of 70 KB results that was most of what the
 * event loop's collector did.
 */
export class BodyJson {
  #text: string | undefined;
  #body: { result?: unknown } | undefined;
  readonly #keepParsed: boolean;

  /**
   * `body`: the value parsed from `text`, whose `result` member is the tool result. `keepParsed`: leave
   * that member in place when the text is taken (the decision log writes it when asked to log tool data).
   */
  constructor(text: string, body: { result?: unknown }, keepParsed = false) {
    this.#text = text;
    this.#body = body;
    this.#keepParsed = keepParsed;
  }

  /** The text's length in UTF-16 units (0 once taken). */
  get length(): number {
    return this.#text?.length ?? 0;
  }

  /** The text's length in UTF-8 bytes (0 once taken). */
  byteLength(): number {
    return this.#text === undefined ? 0 : Buffer.byteLength(this.#text);
  }

  /** The parsed tool result, for a check that runs on the event loop; undefined once the text was taken. */
  get result(): unknown {
    return this.#body?.result;
  }

  /** The text, once, for the worker: this and the parsed body let go of the tool result. */
  take(): string {
    const text = this.#text;
    if (text === undefined) throw new Error('the body JSON was taken already');
    this.#text = undefined;
    if (!this.#keepParsed && this.#body) this.#body.result = undefined;
    this.#body = undefined;
    return text;
  }
}
