import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HEAD_ROOM, PooledReply, ReplyBuffers, TAIL_ROOM } from '../../src/guard/reply-buffers.js';

const KiB = 1024;

describe('ReplyBuffers', () => {
  it('hands out memory in sizes of powers of two from 64 KiB, and the same memory again once given back', () => {
    const pool = new ReplyBuffers();
    const small = pool.take(1);
    expect(small.byteLength).toBe(64 * KiB);
    expect(pool.take(64 * KiB + 1).byteLength).toBe(128 * KiB);
    pool.give(small);
    expect(pool.idleBytes).toBe(64 * KiB);
    expect(pool.take(10)).toBe(small);
    expect(pool.idleBytes).toBe(0);
    expect(pool.take(10)).not.toBe(small);
  });

  it('keeps no more than its idle limit, nothing larger than 4 MiB, and nothing it did not size', () => {
    const pool = new ReplyBuffers(256 * KiB);
    const taken = [pool.take(128 * KiB), pool.take(128 * KiB), pool.take(128 * KiB)];
    for (const buffer of taken) pool.give(buffer);
    expect(pool.idleBytes).toBe(256 * KiB);
    const huge = new ReplyBuffers(64 * 1024 * KiB);
    huge.give(huge.take(5 * 1024 * KiB));
    huge.give(new ArrayBuffer(100 * KiB));
    expect(huge.idleBytes).toBe(0);
  });
});

describe('PooledReply', () => {
  const bytes = (text: string) => new TextEncoder().encode(text);

  it('copies a range of the source, reads it as text and bytes, and drops a prefix', () => {
    const reply = PooledReply.copyOf(bytes('xx{"a":1}\n"result":[]yy'), 2, 21, new ReplyBuffers());
    expect(reply.length).toBe(19);
    expect(reply.text()).toBe('{"a":1}\n"result":[]');
    const split = reply.indexOf(0x0a);
    expect(reply.text(0, split)).toBe('{"a":1}');
    reply.drop(split + 1);
    expect(reply.text()).toBe('"result":[]');
    expect(reply.indexOf(0x0a)).toBe(-1);
    expect(reply.indexOf(0x79), 'the source bytes after the range are not the reply').toBe(-1);
  });

  it('writes head and tail around the reply in place, in the memory it came in', () => {
    const pool = new ReplyBuffers();
    const reply = PooledReply.copyOf(bytes('"result":[1]'), 0, 12, pool);
    const framed = reply.framed('{"decision":"allow",', '}');
    expect(framed.toString()).toBe('{"decision":"allow","result":[1]}');
    reply.release();
    expect(pool.take(1), 'the framed bytes were in the pooled memory').toBe(framed.buffer);
  });

  it('copies into new memory a head larger than the room before the reply, and a tail larger than the room after', () => {
    const reply = PooledReply.copyOf(bytes('"r":0'), 0, 5, new ReplyBuffers());
    const head = `{"reason":"${'é'.repeat(HEAD_ROOM)}",`;
    expect(JSON.parse(reply.framed(head, '}').toString())).toEqual({ reason: 'é'.repeat(HEAD_ROOM), r: 0 });
    expect(reply.framed('{', `,"t":"${'x'.repeat(TAIL_ROOM + 64 * KiB)}"}`).toString()).toMatch(/^\{"r":0,"t":"x+"\}$/);
  });

  it('frames any head and members as their concatenation (with non-ASCII text)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 700 }), fc.string({ unit: 'grapheme', maxLength: 3000 }), fc.nat(40), (head, members, dropped) => {
        const source = bytes(`${'h'.repeat(dropped)}${members}`);
        const reply = PooledReply.copyOf(source, 0, source.length, new ReplyBuffers());
        reply.drop(dropped);
        expect(reply.framed(head, '}').toString()).toBe(`${head}${members}}`);
      }),
    );
  });

  it('refuses every read once released, and gives its memory back once', () => {
    const pool = new ReplyBuffers();
    const reply = PooledReply.copyOf(bytes('"a":1'), 0, 5, pool);
    reply.release();
    reply.release();
    expect(pool.idleBytes).toBe(64 * KiB);
    expect(() => reply.text()).toThrow(/read after its memory was released/);
    expect(() => reply.framed('{', '}')).toThrow(/released/);
    expect(() => reply.indexOf(0x0a)).toThrow(/released/);
  });
});
