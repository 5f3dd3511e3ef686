import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { scanText, walkValue } from '../../src/difc/json-nesting.js';
import { parseStrictJson } from '../../src/difc/strict-json.js';
import { referenceStrictJson } from '../support/json-readers.reference.js';
import { jsonText } from '../support/json-texts.js';

/** Nesting depth of a JSON value: scalars 0, each array or object one more than its deepest member. */
function depth(value: unknown): number {
  if (Array.isArray(value)) return 1 + Math.max(0, ...value.map(depth));
  if (value !== null && typeof value === 'object') return 1 + Math.max(0, ...Object.values(value).map(depth));
  return 0;
}

function members(value: unknown): number {
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + members(v), 0);
  if (value !== null && typeof value === 'object') return Object.values(value).reduce((n: number, v) => n + 1 + members(v), 0);
  return 0;
}

// Strings full of brackets, colons, quotes and backslashes must not count.
const tricky = fc.string({ unit: fc.constantFrom('[', ']', '{', '}', '"', '\\', ':', 'a', ' ') });
const json = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, tricky, fc.integer(), fc.constant(null), tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 4 }),
  object: fc.dictionary(tricky, tie('value'), { maxKeys: 4 }),
})).value;

describe('walkValue', () => {
  it('agrees with the real nesting depth and member count of any JSON value', () => {
    fc.assert(
      fc.property(json, fc.integer({ min: 0, max: 8 }), (value, limit) => {
        const found = walkValue(value, limit);
        expect(found.tooDeep).toBe(depth(value) > limit);
        if (!found.tooDeep) expect(found.members).toBe(members(value));
      }),
      { numRuns: 500 },
    );
  });

  it('walks a value far deeper than the stack would allow, and stops at the limit', () => {
    const deep = JSON.parse(`${'['.repeat(200_000)}${']'.repeat(200_000)}`) as unknown;
    expect(walkValue(deep, 128).tooDeep).toBe(true);
    expect(walkValue(deep, 200_000).tooDeep).toBe(false);
    expect(walkValue(deep, 199_999).tooDeep).toBe(true);
  });

  it.each([
    ['{"__proto__": 1}', true],
    ['[{"a": {"__proto__": {}}}]', true],
    ['{"\\u005f_proto__": 1}', true],
    ['{"constructor": {"prototype": 1}}', true],
    ['{"a": [{"constructor": {"prototype": null}}]}', true],
    ['{"constructor": 1}', false],
    ['{"constructor": null}', false],
    ['{"constructor": {"x": {"prototype": 1}}}', false],
    ['{"constructor": [1]}', false],
    ['{"prototype": {"constructor": 1}}', false],
    ['{"a": "__proto__"}', false],
  ])('%s: a prototype key %s, as secure-json-parse says', (text, found) => {
    expect(walkValue(JSON.parse(text), 64).prototypeKey).toBe(found);
  });
});

describe('scanText', () => {
  it('agrees with the real nesting depth and member count of any JSON document, however laid out', () => {
    fc.assert(
      fc.property(json, fc.integer({ min: 0, max: 8 }), (value, limit) => {
        for (const text of [JSON.stringify(value), JSON.stringify(value, null, 2)]) {
          const found = scanText(text, limit);
          expect(found.tooDeep).toBe(depth(value) > limit);
          if (!found.tooDeep) expect(found.members).toBe(members(value));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('stops at the limit on hostile text without parsing it', () => {
    expect(scanText('['.repeat(1_000_000), 128).tooDeep).toBe(true);
    expect(scanText(`${'['.repeat(128)}${']'.repeat(128)}`, 128).tooDeep).toBe(false);
    expect(scanText(`${'['.repeat(129)}${']'.repeat(129)}`, 128).tooDeep).toBe(true);
    expect(scanText('{"a": "unterminated', 0)).toEqual({ tooDeep: true, members: 0 });
    expect(scanText('"unterminated [[[', 1)).toEqual({ tooDeep: false, members: 0 });
  });
});

describe('parseStrictJson against the scan-first reader it replaced', () => {
  const same = (text: string, limit: number, indent?: string) => {
    const now = parseStrictJson(text, limit, indent);
    const before = referenceStrictJson(text, limit, indent);
    expect(now.ok).toBe(before.ok);
    if (now.ok && before.ok) {
      expect(now.text).toBe(before.text);
      expect(JSON.stringify(now.value)).toBe(JSON.stringify(before.value));
    } else expect(now).toEqual(before);
  };

  it('gives the same answer, and the same problem, on random texts', () => {
    fc.assert(
      fc.property(jsonText, fc.constantFrom(undefined, '  '), ({ text, limit }, indent) => same(text, limit, indent)),
      { numRuns: 2000 },
    );
  });

  it.each([
    ['a deep member a later duplicate replaced', '{"k": [[[[1]]]], "k": 1}'],
    ['the same, as its own layout', '{"k":[[[[1]]]],"k":1}'],
    ['deep text that is not JSON', '[[[[[1]]]]'],
    ['deep text with a byte order mark', '\uFEFF[[[[[]]]]]'],
    ['a duplicate __proto__', '{"__proto__": 1, "__proto__": 2}'],
    ['an escaped duplicate', '{"a":1,"\\u0061":2}'],
    ['nesting exactly at the limit', '[[[[]]]]'],
    ['one past it', '[[[[[]]]]]'],
  ])('%s', (_, text) => same(text, 4));
});
