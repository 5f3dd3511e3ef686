import { ResponseTooLargeError } from './backend.js';

/**
 * Passes the chunks of a response body through, counting bytes as they
 * arrive: once more than `maxBytes` came in it fails with
 * ResponseTooLargeError. Leaving the loop, by that error or by the consumer
 * stopping early, closes the source (for a Node stream, destroys it, which
 * makes undici drop the connection), so nothing past the limit is read.
 */
export async function* limitBytes(body: AsyncIterable<Uint8Array>, maxBytes: number): AsyncGenerator<Uint8Array, void, undefined> {
  let seen = 0;
  for await (const chunk of body) {
    seen += chunk.byteLength;
    if (seen > maxBytes) throw new ResponseTooLargeError(maxBytes, seen);
    yield chunk;
  }
}

/** Reads a whole body of at most `maxBytes` bytes. */
export async function readLimited(body: AsyncIterable<Uint8Array>, maxBytes: number): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of limitBytes(body, maxBytes)) {
    chunks.push(chunk);
    total += chunk.byteLength;
  }
  return Buffer.concat(chunks, total);
}
