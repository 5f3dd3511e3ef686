import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ResponseTooLargeError } from '../../src/backend/backend.js';
import { limitBytes, readLimited } from '../../src/backend/limited-body.js';

/** A stream that would produce `total` bytes in `chunk`-byte pieces, counting what was pulled from it. */
function source(total: number, chunk: number) {
  const state = { produced: 0, destroyed: false };
  const stream = new Readable({
    highWaterMark: chunk,
    read() {
      if (state.produced >= total) return void this.push(null);
      const n = Math.min(chunk, total - state.produced);
      state.produced += n;
      this.push(Buffer.alloc(n, 0x61));
    },
    destroy(error, callback) {
      state.destroyed = true;
      callback(error);
    },
  });
  return { stream, state };
}

describe('readLimited', () => {
  it('reads a body up to and including the limit', async () => {
    const { stream } = source(1000, 100);
    expect((await readLimited(stream, 1000)).length).toBe(1000);
    expect((await readLimited(Readable.from([Buffer.from('{"a":1}')]), 7)).toString()).toBe('{"a":1}');
    expect((await readLimited(Readable.from([]), 10)).length).toBe(0);
  });

  it('stops reading as soon as the limit is passed and destroys the source', async () => {
    const { stream, state } = source(100 * 1024 * 1024, 16 * 1024);
    const error = await readLimited(stream, 100_000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResponseTooLargeError);
    expect((error as ResponseTooLargeError).outcome).toBe('too_large');
    expect((error as ResponseTooLargeError).details).toMatchObject({ limit: 100_000 });
    expect(state.destroyed).toBe(true);
    // Only what was needed to see the limit passed (plus the stream's read-ahead), not 100 MiB.
    expect(state.produced).toBeLessThan(200_000);
  });

  it('counts bytes, not chunks or characters', async () => {
    const euro = Buffer.from('€'); // 3 bytes
    await expect(readLimited(Readable.from([euro, euro]), 6)).resolves.toHaveLength(6);
    await expect(readLimited(Readable.from([euro, euro, euro]), 8)).rejects.toBeInstanceOf(ResponseTooLargeError);
  });
});

describe('limitBytes', () => {
  it('a consumer that stops early closes the source', async () => {
    const { stream, state } = source(10 * 1024 * 1024, 1024);
    let seen = 0;
    for await (const chunk of limitBytes(stream, 20 * 1024 * 1024)) {
      seen += chunk.length;
      if (seen >= 4096) break;
    }
    expect(state.destroyed).toBe(true);
    expect(state.produced).toBeLessThan(64 * 1024);
  });

  it('passes chunks through unchanged under the limit', async () => {
    const chunks: string[] = [];
    for await (const c of limitBytes(Readable.from([Buffer.from('ab'), Buffer.from('cd')]), 4)) chunks.push(Buffer.from(c).toString());
    expect(chunks).toEqual(['ab', 'cd']);
  });
});
