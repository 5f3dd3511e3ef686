import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ScratchBytes } from '../../src/pool/scratch-bytes.js';

const encoder = new TextEncoder();

describe('ScratchBytes', () => {
  it('encodes any text as TextEncoder does (lone surrogates as U+FFFD), call after call', () => {
    const scratch = new ScratchBytes(64);
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary', maxLength: 40 }), { minLength: 1, maxLength: 5 }), (texts) => {
        for (const text of texts) expect(Buffer.compare(scratch.encode(text), encoder.encode(text))).toBe(0);
      }),
      { numRuns: 500 },
    );
  });

  it('copies the first bytes of a source', () => {
    const source = Buffer.from('abcdefgh');
    expect(new ScratchBytes(16).copyOf(source, 5).toString()).toBe('abcde');
  });

  // Reuse shows as an earlier result's bytes being overwritten by the next use.
  it('reuses one buffer while what it holds fits, growing it at need', () => {
    const scratch = new ScratchBytes(1024);
    const first = scratch.encode('x'.repeat(10));
    expect(scratch.copyOf(Buffer.from('y'.repeat(20)), 20).toString()).toBe('y'.repeat(20));
    expect(first.toString()).toBe('y'.repeat(10));
    const larger = scratch.encode('z'.repeat(200));
    expect(larger.toString()).toBe('z'.repeat(200));
    scratch.encode('w');
    expect(larger.toString()).toBe(`w${'z'.repeat(199)}`);
  });

  it('does not keep a buffer larger than keepBytes', () => {
    const scratch = new ScratchBytes(100);
    const kept = scratch.encode('a');
    const large = scratch.encode('b'.repeat(500));
    expect(large.toString()).toBe('b'.repeat(500));
    expect(kept.toString()).toBe('a');
    scratch.encode('c');
    expect(kept.toString()).toBe('c');
    expect(large.toString()).toBe('b'.repeat(500));
  });
});

describe('ScratchBytes.encodeParts', () => {
  it('writes each part as TextEncoder encodes it, back to back, in a kept buffer or a larger one alike', () => {
    for (const keep of [16, 4096]) {
      const scratch = new ScratchBytes(keep);
      fc.assert(
        fc.property(fc.array(fc.string({ unit: 'binary', maxLength: 30 }), { maxLength: 6 }), (parts) => {
          const expected = Buffer.concat(parts.map((part) => encoder.encode(part)));
          expect(Buffer.compare(scratch.encodeParts(parts), expected)).toBe(0);
        }),
        { numRuns: 300 },
      );
    }
  });
});
