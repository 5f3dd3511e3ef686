import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mergeLabels, normaliseLabels, sameLabels } from '../../src/session/merge.js';
import { labels } from './store-contract.js';

const subset = (a: string[], b: string[]) => a.every((t) => b.includes(t));

describe('mergeLabels: the session lattice (secrecy ∪, integrity ∩)', () => {
  it('is commutative, associative and idempotent, so merge order does not matter', () => {
    fc.assert(
      fc.property(labels, labels, labels, (a, b, c) => {
        expect(mergeLabels(a, b)).toEqual(mergeLabels(b, a));
        expect(mergeLabels(mergeLabels(a, b), c)).toEqual(mergeLabels(a, mergeLabels(b, c)));
        expect(mergeLabels(a, a)).toEqual(normaliseLabels(a));
      }),
    );
  });

  it('only moves labels in the restrictive direction', () => {
    fc.assert(
      fc.property(labels, labels, (stored, computed) => {
        const merged = mergeLabels(stored, computed);
        expect(subset(stored.secrecy, merged.secrecy)).toBe(true);
        expect(subset(merged.integrity, stored.integrity)).toBe(true);
        // and is the least such move: nothing beyond what either side holds
        expect(subset(merged.secrecy, [...stored.secrecy, ...computed.secrecy])).toBe(true);
        expect(subset(merged.integrity, computed.integrity)).toBe(true);
      }),
    );
  });

  it('a caller cannot reset a session by sending its old labels back', () => {
    const lowered = { secrecy: ['private:octo/x'], integrity: [] };
    const old = { secrecy: [], integrity: ['approved:github', 'unapproved:github'] };
    expect(mergeLabels(lowered, old)).toEqual(lowered);
    expect(sameLabels(mergeLabels(lowered, old), lowered)).toBe(true);
  });
});
