import { describe, expect, it } from 'vitest';
import { jsonEqual, unwrapMcpText } from '../../src/difc/mcp.js';

const wrap = (payload: unknown, extra: Record<string, unknown> = {}) => ({
  content: [{ type: 'text', text: JSON.stringify(payload) }],
  ...extra,
});

describe('unwrapMcpText', () => {
  it('parses the JSON of the first text block', () => {
    const u = unwrapMcpText(wrap({ items: [1] }));
    expect(u.mcp).toBe(true);
    expect(u.document).toEqual({ items: [1] });
  });

  it.each([
    ['a plain object', { items: [] }],
    ['an array', [{ type: 'text', text: '{}' }]],
    ['empty content', { content: [] }],
    ['a non-text block first', { content: [{ type: 'image', data: 'AA==' }] }],
    ['prose', { content: [{ type: 'text', text: 'hello world' }] }],
    ['a text block without text', { content: [{ type: 'text' }] }],
    ['null', null],
  ])('leaves %s alone', (_, result) => {
    const u = unwrapMcpText(result);
    expect(u.mcp).toBe(false);
    expect(u.document).toBe(result);
    expect(u.rewrap('x')).toBe('x');
  });

  it('rewraps into the same block, keeping other fields, blocks and block members', () => {
    const result = {
      content: [{ type: 'text', text: '{"items":[1,2]}', annotations: { audience: ['user'] } }, { type: 'text', text: 'footer' }],
      isError: false,
      _meta: { trace: 'x' },
    };
    const out = unwrapMcpText(result).rewrap({ items: [1] });
    expect(out).toEqual({
      content: [{ type: 'text', text: '{"items":[1]}', annotations: { audience: ['user'] } }, { type: 'text', text: 'footer' }],
      isError: false,
      _meta: { trace: 'x' },
    });
    expect(Object.keys(out as object)).toEqual(['content', 'isError', '_meta']);
    expect(result.content[0]?.text).toBe('{"items":[1,2]}');
  });

  it('keeps a pretty-printed payload pretty', () => {
    const result = { content: [{ type: 'text', text: JSON.stringify({ items: [1, 2] }, null, 2) }] };
    const out = unwrapMcpText(result).rewrap({ items: [1] }) as typeof result;
    expect(out.content[0]?.text).toBe(JSON.stringify({ items: [1] }, null, 2));
  });

  it('filters structuredContent along with the text when it mirrors it', () => {
    const payload = { items: [1, 2] };
    const out = unwrapMcpText(wrap(payload, { structuredContent: payload })).rewrap({ items: [1] });
    expect(out).toEqual(wrap({ items: [1] }, { structuredContent: { items: [1] } }));
  });

  it('drops structuredContent that does not mirror the text rather than pass it on unchecked', () => {
    const out = unwrapMcpText(wrap({ items: [1, 2] }, { structuredContent: { other: true } })).rewrap({ items: [1] });
    expect(out).not.toHaveProperty('structuredContent');
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
