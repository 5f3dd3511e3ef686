import { describe, expect, it } from 'vitest';
import { parseStrictJson, serialiseDocument } from '../../src/difc/strict-json.js';

describe('parseStrictJson', () => {
  it('counts members outside strings only, so colons in text are no duplicates', () => {
    const text = '{"url":"http://x:1/a","t":"a:b:c"}';
    expect(parseStrictJson(text)).toEqual({ ok: true, value: { url: 'http://x:1/a', t: 'a:b:c' }, text });
  });

  it('finds duplicates whether or not the text is laid out as its own serialisation', () => {
    expect(parseStrictJson('{"a":1,"b":{"c":2,"c":2}}')).toMatchObject({ ok: false, problem: 'has duplicate keys in an object' });
    expect(parseStrictJson('{ "a": 1, "a": 1 }')).toMatchObject({ ok: false, problem: 'has duplicate keys in an object' });
    expect(parseStrictJson('[{"a":1},{"a":1}]')).toMatchObject({ ok: true, text: '[{"a":1},{"a":1}]' });
  });

  it('gives its own serialisation with the indent asked for', () => {
    expect(parseStrictJson('{ "a": [1,2] }', undefined, '  ')).toEqual({ ok: true, value: { a: [1, 2] }, text: '{\n  "a": [\n    1,\n    2\n  ]\n}' });
  });

  it('keeps "__proto__" as a member and still finds its duplicate', () => {
    const ok = parseStrictJson('{"__proto__":{"x":1}}');
    expect(ok.ok && Object.hasOwn(ok.value as object, '__proto__')).toBe(true);
    expect(parseStrictJson('{"__proto__":1,"__proto__":2}')).toMatchObject({ ok: false });
  });

  it('sees duplicates written with different escapes', () => {
    expect(parseStrictJson('{"a":1,"\\u0061":2}')).toMatchObject({ ok: false, problem: 'has duplicate keys in an object' });
  });
});

describe('serialiseDocument', () => {
  const value = { a: [1, 'two', { b: null }], c: 'é\u2028"', d: undefined };
  it('writes what JSON.stringify writes, compact without an indent and indented with one', () => {
    expect(serialiseDocument(value, undefined)).toBe('{"a":[1,"two",{"b":null}],"c":"é\u2028\\""}');
    expect(serialiseDocument(value, '  ')).toBe(JSON.stringify(value, null, '  '));
    expect(serialiseDocument(value, '\t')).toContain('\n\t"a": [');
  });
});
