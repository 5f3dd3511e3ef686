/**
 * Reusable memory for response-job replies on the event loop (issue 20).
 *
 * A 100-item reply decoded to a string cost the event loop three 66 KB heap
 * strings a check: the decode, Fastify's byte count flattening head and
 * members into one, and the socket write flattening the HTTP header and the
 * body into another. A fresh Buffer per reply instead is an ArrayBuffer
 * outside the heap, whose churn V8 answers with more full collections
 * (README, "Tried and not kept"). So a reply is copied out of the worker's
 * channel once, into memory taken from a free list; the reply's head is
 * written in the room left before it and its closing brace after it; the
 * socket writes those bytes as they are; and the memory goes back to the
 * list once the response has finished.
 */

/** Bytes left free before a reply for its head (decision id, digest, agent labels, reason, notice). */
export const HEAD_ROOM = 2048;
/** Bytes left free after a reply for what closes it. */
export const TAIL_ROOM = 16;
const MIN_SIZE = 64 * 1024;
/** A reply larger than this gets memory of its own, never kept: few checks are that large. */
const MAX_POOLED_SIZE = 4 * 1024 * 1024;
/** Memory the free list keeps at most, across all sizes. */
const IDLE_LIMIT = 16 * 1024 * 1024;

/** Free ArrayBuffers by size (powers of two from 64 KiB), holding at most `idleLimit` bytes. */
export class ReplyBuffers {
  readonly #free = new Map<number, ArrayBuffer[]>();
  #idleBytes = 0;

  constructor(readonly idleLimit = IDLE_LIMIT) {}

  /** Bytes held in the free list. */
  get idleBytes(): number {
    return this.#idleBytes;
  }

  /** An ArrayBuffer of at least `bytes`; its contents are whatever its last user left. */
  take(bytes: number): ArrayBuffer {
    const size = sizeFor(bytes);
    const kept = this.#free.get(size)?.pop();
    if (kept === undefined) return new ArrayBuffer(size);
    this.#idleBytes -= size;
    return kept;
  }

  /** Gives memory back for reuse: the caller must hold no view of it any more. */
  give(buffer: ArrayBuffer): void {
    const size = buffer.byteLength;
    if (size > MAX_POOLED_SIZE || size !== sizeFor(size) || this.#idleBytes + size > this.idleLimit) return;
    const list = this.#free.get(size) ?? [];
    list.push(buffer);
    this.#free.set(size, list);
    this.#idleBytes += size;
  }
}

/** The size class of a request: the smallest power of two from 64 KiB that holds it. */
function sizeFor(bytes: number): number {
  let size = MIN_SIZE;
  while (size < bytes) size *= 2;
  return size;
}

/** The event loop's free list: replies come back to the one thread that sends them. */
export const replyBuffers = new ReplyBuffers();

/**
 * A reply's bytes in memory from a ReplyBuffers, with room before and after
 * them. Once released the memory may hold another check's reply, so every
 * read after that throws rather than returns those bytes.
 */
export class PooledReply {
  #memory: Buffer | undefined;
  #start: number;
  readonly #end: number;
  readonly #pool: ReplyBuffers;

  private constructor(pool: ReplyBuffers, memory: Buffer, start: number, end: number) {
    this.#pool = pool;
    this.#memory = memory;
    this.#start = start;
    this.#end = end;
  }

  /** Copies `source[from, to)` into memory from `pool`, with HEAD_ROOM before it and TAIL_ROOM after. */
  static copyOf(source: Uint8Array, from: number, to: number, pool: ReplyBuffers = replyBuffers): PooledReply {
    const length = to - from;
    const memory = Buffer.from(pool.take(HEAD_ROOM + length + TAIL_ROOM));
    memory.set(source.subarray(from, to), HEAD_ROOM);
    return new PooledReply(pool, memory, HEAD_ROOM, HEAD_ROOM + length);
  }

  get length(): number {
    return this.#end - this.#start;
  }

  /** Where `byte` first occurs in the reply, or -1. */
  indexOf(byte: number): number {
    const at = this.#held().indexOf(byte, this.#start);
    return at === -1 || at >= this.#end ? -1 : at - this.#start;
  }

  /** The reply's bytes `[from, to)` as UTF-8 text. */
  text(from = 0, to = this.length): string {
    return this.#held().toString('utf8', this.#start + from, this.#start + Math.min(to, this.length));
  }

  /** Leaves out the reply's first `count` bytes: their space joins the room before it. */
  drop(count: number): void {
    this.#held();
    this.#start += Math.min(count, this.length);
  }

  /**
   * The bytes of `prefix`, the reply and `suffix`, in that order: written
   * around the reply in place when they fit its room, else copied into a
   * new Buffer. Valid until release().
   */
  framed(prefix: string, suffix: string): Buffer {
    const memory = this.#held();
    const before = Buffer.byteLength(prefix);
    const after = Buffer.byteLength(suffix);
    if (before > this.#start || this.#end + after > memory.length) {
      return Buffer.concat([Buffer.from(prefix), memory.subarray(this.#start, this.#end), Buffer.from(suffix)]);
    }
    memory.write(prefix, this.#start - before);
    memory.write(suffix, this.#end);
    return memory.subarray(this.#start - before, this.#end + after);
  }

  /** Gives the memory back (once; later calls do nothing). */
  release(): void {
    const memory = this.#memory;
    if (memory === undefined) return;
    this.#memory = undefined;
    this.#pool.give(memory.buffer as ArrayBuffer);
  }

  #held(): Buffer {
    if (this.#memory === undefined) throw new Error('a response reply was read after its memory was released');
    return this.#memory;
  }
}
