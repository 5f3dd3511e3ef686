/**
 * A byte buffer a worker reuses from call to call. A fresh buffer of tens
 * or hundreds of KB per batch or per response job costs more than the
 * bytes copied into it: an allocation that large is fresh pages for the
 * kernel to fault in and zero (a batch's 70 KB of input copied out of the
 * channel: 10-40 µs into a new Buffer, under 1 µs into a kept one; 210 KB:
 * 28-117 µs against 2.5). What it holds is valid until its next use.
 */
export class ScratchBytes {
  #buffer: Buffer = Buffer.allocUnsafe(0);

  /** Buffers larger than `keepBytes` are not kept: a rare large batch does not hold its memory for ever. */
  constructor(readonly keepBytes: number) {}

  /** The first `length` bytes of `source`, copied. */
  copyOf(source: Buffer, length: number): Buffer {
    const target = this.#room(length);
    source.copy(target, 0, 0, length);
    return target.subarray(0, length);
  }

  /** `text` encoded as UTF-8. */
  encode(text: string): Buffer {
    return this.encodeParts([text]);
  }

  /**
   * `parts` encoded as UTF-8 one after the other, never joined into one string first (a large
   * joined string is a fresh V8 large object each time). Each part is encoded on its own, so a
   * surrogate pair split across two parts would be two U+FFFD: JSON split at its own syntax never is.
   */
  encodeParts(parts: readonly string[]): Buffer {
    let units = 0;
    for (const part of parts) units += part.length;
    // A UTF-16 unit takes at most 3 bytes: measure exactly only when that bound is past what is kept.
    const bound = units * 3;
    let bytes = bound;
    if (bound > this.keepBytes) {
      bytes = 0;
      for (const part of parts) bytes += Buffer.byteLength(part);
    }
    const target = this.#room(bytes);
    let at = 0;
    for (const part of parts) at += target.write(part, at);
    return target.subarray(0, at);
  }

  #room(bytes: number): Buffer {
    if (bytes <= this.#buffer.length) return this.#buffer;
    if (bytes > this.keepBytes) return Buffer.allocUnsafe(bytes);
    this.#buffer = Buffer.allocUnsafe(Math.min(this.keepBytes, Math.max(bytes, this.#buffer.length * 2)));
    return this.#buffer;
  }
}
