/** The depth check that runs before a request body is parsed. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exceedsDepth } from '../../src/http/json-body.js';

/** Nesting depth of a JSON value: scalars 0, each array or object one more than its deepest member. */
function depth(value: unknown): number {
  if (Array.isArray(value)) return 1 + Math.max(0, ...value.map(depth));
  if (value !== null && typeof value === 'object') return 1 + Math.max(0, ...Object.values(value).map(depth));
  return 0;
}

describe('exceedsDepth', () => {
  it('agrees with the real nesting depth of any JSON document, whatever its strings hold', () => {
    // Strings full of brackets, quotes and backslashes must not count.
    const tricky = fc.string({ unit: fc.constantFrom('[', ']', '{', '}', '"', '\\', 'a', ' ') });
    const json = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, tricky, fc.integer(), fc.constant(null), tie('array'), tie('object')),
      array: fc.array(tie('value'), { maxLength: 4 }),
      object: fc.dictionary(tricky, tie('value'), { maxKeys: 4 }),
    })).value;
    fc.assert(
      fc.property(json, fc.integer({ min: 0, max: 8 }), (value, limit) => {
        const text = JSON.stringify(value);
        expect(exceedsDepth(text, limit)).toBe(depth(value) > limit);
        // Pretty-printed text has the same depth.
        expect(exceedsDepth(JSON.stringify(value, null, 2), limit)).toBe(depth(value) > limit);
      }),
      { numRuns: 500 },
    );
  });

  it('stops at the limit on hostile input without parsing it', () => {
    expect(exceedsDepth('['.repeat(1_000_000), 128)).toBe(true);
    expect(exceedsDepth(`${'['.repeat(128)}${']'.repeat(128)}`, 128)).toBe(false);
    expect(exceedsDepth(`${'['.repeat(129)}${']'.repeat(129)}`, 128)).toBe(true);
  });
});
