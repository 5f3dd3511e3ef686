import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JsonPointerError } from '../../src/difc/errors.js';
import {
  escapeToken,
  formatPointer,
  isPrefix,
  parsePointer,
  resolvePointer,
  unescapeToken,
} from '../../src/difc/json-pointer.js';

// The example document of RFC 6901 section 5.
const rfc = JSON.parse(`{
  "foo": ["bar", "baz"], "": 0, "a/b": 1, "c%d": 2, "e^f": 3,
  "g|h": 4, "i\\\\j": 5, "k\\"l": 6, " ": 7, "m~n": 8
}`) as Record<string, unknown>;

describe('RFC 6901 section 5 examples', () => {
  it.each([
    ['', rfc],
    ['/foo', ['bar', 'baz']],
    ['/foo/0', 'bar'],
    ['/', 0],
    ['/a~1b', 1],
    ['/c%d', 2],
    ['/e^f', 3],
    ['/g|h', 4],
    ['/i\\j', 5],
    ['/k"l', 6],
    ['/ ', 7],
    ['/m~0n', 8],
  ])('%j', (pointer, value) => {
    expect(resolvePointer(rfc, pointer)).toEqual(value);
  });
});

function thrown(fn: () => unknown): JsonPointerError {
  try {
    fn();
  } catch (error) {
    if (error instanceof JsonPointerError) return error;
    throw error;
  }
  throw new Error('expected a JsonPointerError');
}

describe('escapes', () => {
  it('decodes ~1 before ~0 is applied, in one pass: "~01" is "~1", not "/"', () => {
    expect(unescapeToken('~01')).toBe('~1');
    expect(parsePointer('/~01')).toEqual(['~1']);
    expect(resolvePointer({ '~1': 'tilde-one', '/': 'slash' }, '/~01')).toBe('tilde-one');
  });

  it('escapes ~ before / so the encoding round-trips', () => {
    expect(escapeToken('a/b~c')).toBe('a~1b~0c');
    expect(formatPointer(['a/b', 'm~n', ''])).toBe('/a~1b/m~0n/');
  });

  it.each(['/a~', '/a~2', '/~x', '/ok/~'])('%j has a bad escape', (pointer) => {
    const error = thrown(() => parsePointer(pointer));
    expect(error.problem).toBe('syntax');
    expect(error.pointer).toBe(pointer);
    expect(error.message).toContain(JSON.stringify(pointer));
  });

  it('rejects pointers that do not start with "/"', () => {
    expect(thrown(() => parsePointer('items/0')).problem).toBe('syntax');
    expect(thrown(() => resolvePointer({ items: [] }, '#/items')).problem).toBe('syntax');
  });

  it('round-trips any token list (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: fc.constantFrom('a', '/', '~', '0', '1', '') })), (tokens) => {
        expect(parsePointer(formatPointer(tokens))).toEqual(tokens);
      }),
    );
  });
});

describe('array indexes', () => {
  const doc = { items: ['a', 'b', 'c'] };

  it('resolves in-range indexes', () => {
    expect(resolvePointer(doc, '/items/0')).toBe('a');
    expect(resolvePointer(doc, '/items/2')).toBe('c');
  });

  it.each([
    ['/items/3', 'missing'],
    ['/items/99999999999999999999', 'missing'],
    ['/items/-', 'missing'],
    ['/items/01', 'bad-index'],
    ['/items/-1', 'bad-index'],
    ['/items/1.0', 'bad-index'],
    ['/items/ 1', 'bad-index'],
    ['/items/', 'bad-index'],
    ['/items/x', 'bad-index'],
  ] as const)('%j is an error (%s) naming the pointer', (pointer, problem) => {
    const error = thrown(() => resolvePointer(doc, pointer));
    expect(error.problem).toBe(problem);
    expect(error.message).toContain(JSON.stringify(pointer));
  });

  it('"-" is refused even on an empty array', () => {
    expect(thrown(() => resolvePointer({ a: [] }, '/a/-')).message).toMatch(/"-"/);
  });
});

describe('objects and non-containers', () => {
  it('a missing member is an error naming the member and where it was looked for', () => {
    const error = thrown(() => resolvePointer({ data: { repos: [] } }, '/data/items/0'));
    expect(error.problem).toBe('missing');
    expect(error.message).toContain('"items"');
    expect(error.message).toContain('"/data"');
  });

  it('only own members count: __proto__ and constructor are not reachable by accident', () => {
    expect(thrown(() => resolvePointer({}, '/constructor')).problem).toBe('missing');
    expect(thrown(() => resolvePointer({}, '/__proto__')).problem).toBe('missing');
    expect(resolvePointer(JSON.parse('{"__proto__": {"x": 1}}'), '/__proto__/x')).toBe(1);
  });

  it.each([
    [{ a: 'text' }, '/a/0'],
    [{ a: 5 }, '/a/b'],
    [{ a: null }, '/a/b'],
    [{ a: true }, '/a/b'],
    ['root string', '/0'],
  ])('stepping into a non-container %j at %j is an error', (doc, pointer) => {
    expect(thrown(() => resolvePointer(doc, pointer)).problem).toBe('not-container');
  });

  it('numeric tokens address object members by name', () => {
    expect(resolvePointer({ '0': 'zero' }, '/0')).toBe('zero');
  });

  it('nested paths cross arrays and objects', () => {
    const doc = { pages: [{ items: [{ id: 1 }] }, { items: [{ id: 2 }, { id: 3 }] }] };
    expect(resolvePointer(doc, '/pages/1/items/1/id')).toBe(3);
    expect(thrown(() => resolvePointer(doc, '/pages/2/items')).problem).toBe('missing');
  });

  it('isPrefix compares token lists', () => {
    expect(isPrefix([], ['a'])).toBe(true);
    expect(isPrefix(['a'], ['a', '0'])).toBe(true);
    expect(isPrefix(['a', '0'], ['a'])).toBe(false);
    expect(isPrefix(['ab'], ['a', 'b'])).toBe(false);
  });
});
