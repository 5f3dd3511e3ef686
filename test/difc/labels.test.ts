import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LabelError } from '../../src/difc/errors.js';
import { formatTags, Label, Labels, WILDCARD } from '../../src/difc/labels.js';
import { rawTags, tags } from './arbitraries.js';

describe('Label normalisation', () => {
  it('trims, drops empty tags, removes duplicates and sorts', () => {
    expect(Label.of([' b', 'a ', '', '   ', 'b', 'a']).tags).toEqual(['a', 'b']);
  });

  it('keeps tags that differ only inside as different tags', () => {
    expect(Label.of(['private:octo/x', 'private:octo/X']).tags).toEqual(['private:octo/X', 'private:octo/x']);
  });

  it('treats null and undefined as the empty label', () => {
    expect(Label.of(null).isEmpty()).toBe(true);
    expect(Label.of(undefined)).toBe(Label.EMPTY);
  });

  it('refuses non-string tags rather than dropping them', () => {
    expect(() => Label.of(['a', 3 as unknown as string])).toThrow(LabelError);
    expect(() => Label.of([null as unknown as string])).toThrow(/tag 0 is null/);
  });

  it('is immutable: neither the label nor its tag array can change', () => {
    const label = Label.of(['a']);
    expect(() => (label.tags as string[]).push('b')).toThrow(TypeError);
    expect(Object.isFrozen(label)).toBe(true);
    const copy = label.toArray();
    copy.push('b');
    expect(label.tags).toEqual(['a']);
  });

  it('serialises as its sorted tag array', () => {
    expect(JSON.stringify({ s: Label.of(['z', 'a']) })).toBe('{"s":["a","z"]}');
    expect(Label.of([' y', 'x', 'y']).toArray()).toEqual(['x', 'y']);
    expect(Label.of(['b', 'a']).toString()).toBe('[a, b]');
    expect(formatTags([])).toBe('[]');
  });

  it('normalisation is idempotent and order-independent (property)', () => {
    fc.assert(
      fc.property(rawTags, (raw) => {
        const once = Label.of(raw);
        expect(Label.of(once.tags).tags).toEqual(once.tags);
        expect(Label.of([...raw].reverse()).equals(once)).toBe(true);
        expect(once.tags.every((t) => t === t.trim() && t !== '')).toBe(true);
        expect(new Set(once.tags).size).toBe(once.size);
        expect([...once.tags].sort()).toEqual(once.tags);
      }),
    );
  });

  it('short and long arrays and other iterables normalise alike, and lookups agree in small and large labels (property)', () => {
    // Past 8 tags a label keeps a Set for lookups and arrays take the general path; below, neither.
    const messy = fc.array(fc.oneof(fc.string({ maxLength: 3 }), fc.string({ maxLength: 3 }).map((t) => ` ${t}\t`)), { maxLength: 24 });
    fc.assert(
      fc.property(messy, fc.string({ maxLength: 3 }), (raw, probe) => {
        const label = Label.of(raw);
        const reference = [...new Set(raw.map((t) => t.trim()).filter((t) => t !== ''))].sort();
        expect(label.tags).toEqual(reference);
        expect(Label.of(new Set(raw)).tags).toEqual(reference);
        expect(label.has(probe)).toBe(reference.includes(probe));
        for (const t of reference) expect(label.has(t)).toBe(true);
      }),
    );
  });
});

describe('subset checks', () => {
  it('reports exactly the tags the superset lacks, sorted', () => {
    expect(Label.of(['c', 'a', 'b']).missingFrom(Label.of(['b']))).toEqual(['a', 'c']);
    expect(Label.of(['a']).check(Label.of(['a', 'b']))).toEqual({ ok: true, missing: [] });
    expect(Label.of(['a', 'x']).check(Label.of(['a']))).toEqual({ ok: false, missing: ['x'] });
  });

  it('the empty label is a subset of everything', () => {
    expect(Label.EMPTY.isSubsetOf(Label.EMPTY)).toBe(true);
    expect(Label.EMPTY.isSubsetOf(Label.of(['a']))).toBe(true);
    expect(Label.of(['a']).isSubsetOf(Label.EMPTY)).toBe(false);
  });

  it('a wildcard on the superset side covers any tags', () => {
    expect(Label.of(['a', 'b']).missingFrom(Label.of([WILDCARD]))).toEqual([]);
    expect(Label.of(['a', 'b']).isSubsetOf(Label.of(['x', '*']))).toBe(true);
  });

  it('a wildcard on the subset side is an ordinary tag', () => {
    expect(Label.of(['*']).missingFrom(Label.of(['a']))).toEqual(['*']);
    expect(Label.of(['*']).isSubsetOf(Label.of(['*']))).toBe(true);
  });

  it('matches the set definition of ⊆ when no wildcard is involved (property)', () => {
    fc.assert(
      fc.property(tags, tags, (a, b) => {
        const missing = Label.of(a).missingFrom(Label.of(b));
        expect(missing).toEqual([...a].filter((t) => !b.includes(t)).sort());
        expect(Label.of(a).isSubsetOf(Label.of(b))).toBe(missing.length === 0);
      }),
    );
  });
});

describe('set operations', () => {
  it('union, intersect and without return normalised labels', () => {
    const ab = Label.of(['a', 'b']);
    const bc = Label.of(['b', 'c']);
    expect(ab.union(bc).tags).toEqual(['a', 'b', 'c']);
    expect(ab.intersect(bc).tags).toEqual(['b']);
    expect(ab.without(['a', 'z']).tags).toEqual(['b']);
  });

  it('meet treats a wildcard as the label with every tag', () => {
    const a = Label.of(['a']);
    const star = Label.of(['*']);
    expect(a.meet(star).tags).toEqual(['a']);
    expect(star.meet(a).tags).toEqual(['a']);
    expect(star.meet(Label.of(['*', 'b'])).tags).toEqual(['*']);
    expect(Label.of(['a', 'b']).meet(Label.of(['b', 'c'])).tags).toEqual(['b']);
  });

  it('union is the least superset and intersect the greatest subset (property)', () => {
    fc.assert(
      fc.property(tags, tags, (a, b) => {
        const la = Label.of(a);
        const lb = Label.of(b);
        const u = la.union(lb);
        const i = la.intersect(lb);
        expect(la.isSubsetOf(u) && lb.isSubsetOf(u)).toBe(true);
        expect(i.isSubsetOf(la) && i.isSubsetOf(lb)).toBe(true);
        expect(u.size).toBe(new Set([...a, ...b]).size);
        expect(u.equals(lb.union(la))).toBe(true);
      }),
    );
  });
});

describe('Labels', () => {
  it('builds from JSON, keeps the description, and serialises normalised', () => {
    const labels = Labels.of({ description: 'repo', secrecy: [' s', 's'], integrity: ['i'] });
    expect(labels.toJSON()).toEqual({ description: 'repo', secrecy: ['s'], integrity: ['i'] });
    expect(labels.toLabelsJson()).toEqual({ secrecy: ['s'], integrity: ['i'] });
    expect(Labels.of(labels)).toBe(labels);
  });

  it('treats missing fields as empty labels', () => {
    expect(Labels.of({}).toJSON()).toEqual({ secrecy: [], integrity: [] });
    expect(Labels.of(null)).toBe(Labels.EMPTY);
  });

  it('combine joins secrecy and meets integrity', () => {
    const a = Labels.of({ secrecy: ['s1'], integrity: ['i1', 'i2'] });
    const b = Labels.of({ secrecy: ['s2'], integrity: ['i2', 'i3'] });
    expect(a.combine(b).toLabelsJson()).toEqual({ secrecy: ['s1', 's2'], integrity: ['i2'] });
  });
});
