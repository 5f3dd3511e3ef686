import { describe, expect, it } from 'vitest';
import { jsonEqual, prepareResult } from '../../src/difc/mcp.js';

const wrap = (payload: unknown, extra: Record<string, unknown> = {}) => ({
  content: [{ type: 'text', text: JSON.stringify(payload) }],
  ...extra,
});

describe('prepareResult', () => {
  it('parses the JSON of the first text block once and gives the guard its own serialisation', () => {
    const result = { content: [{ type: 'text', text: '{ "items" : [1] }' }] };
    const p = prepareResult(result);
    expect(p.envelope).toBe(true);
    expect(p.document).toMatchObject({ block: 0, value: { items: [1] }, text: '{"items":[1]}' });
    expect(p.forGuard).toEqual({ content: [{ type: 'text', text: '{"items":[1]}' }] });
    expect(result.content[0]?.text).toBe('{ "items" : [1] }');
  });

  it('needs no copy when the text already is its serialisation', () => {
    const result = wrap({ items: [1] });
    expect(prepareResult(result).forGuard).toBe(result);
  });

  it('finds the first text block after non-text blocks, as guards do', () => {
    const result = { content: [{ type: 'image', data: 'AA==' }, { type: 'text', text: '{"items":[2]}' }, { type: 'text', text: '{"items":[3]}' }] };
    expect(prepareResult(result).document).toMatchObject({ block: 1, value: { items: [2] } });
  });

  it('keeps a pretty-printed payload pretty', () => {
    const text = JSON.stringify({ items: [1, 2] }, null, 2);
    expect(prepareResult({ content: [{ type: 'text', text }] }).document?.text).toBe(text);
  });

  it.each([
    ['a plain object', { items: [] }],
    ['an array', [{ type: 'text', text: '{}' }]],
    ['null', null],
  ])('leaves %s alone: no envelope', (_, result) => {
    const p = prepareResult(result);
    expect(p).toEqual({ original: result, forGuard: result, envelope: false });
  });

  it.each([
    ['prose', 'hello world', 'is not JSON'],
    ['a byte order mark', '\uFEFF{"items":[]}', 'byte order mark'],
    ['duplicate keys', '{"items":[1],"items":[2]}', 'duplicate keys'],
    ['nested duplicate keys', '{"a":{"b":1,"b":1}}', 'duplicate keys'],
    ['nesting past the guard limit', `${'['.repeat(513)}${']'.repeat(513)}`, 'deeper than 512'],
    ['a lone surrogate', '{"a":"\uD800"}'.replace('\\uD800', '\uD800'), 'lone surrogate'],
    ['text after the value', '{"items":[]} Result', 'is not JSON'],
  ])('treats %s as opaque text', (_, text, problem) => {
    const result = { content: [{ type: 'text', text }] };
    const p = prepareResult(result);
    expect(p.document).toBeUndefined();
    expect(p.opaque).toContain(problem);
    expect(p.forGuard).toBe(result);
  });

  it('accepts nesting exactly at the guard limit and escaped keys that differ', () => {
    expect(prepareResult({ content: [{ type: 'text', text: `${'['.repeat(512)}${']'.repeat(512)}` }] }).document).toBeDefined();
    expect(prepareResult({ content: [{ type: 'text', text: '{"a:b":1,"a":{"b":2},"x":"{\\"y\\":1,\\"y\\":2}"}' }] }).document).toBeDefined();
  });
});

describe('jsonEqual', () => {
  it.each([
    [{ a: [1, { b: null }] }, { a: [1, { b: null }] }, true],
    [{ a: 1, b: 2 }, { b: 2, a: 1 }, true],
    [{ a: 1 }, { a: 1, b: undefined }, false],
    [[1], { 0: 1 }, false],
    [[1, 2], [1], false],
    [null, {}, false],
    ['1', 1, false],
  ])('%j vs %j → %s', (a, b, equal) => {
    expect(jsonEqual(a, b)).toBe(equal);
  });
});
