import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringifyWithText } from '../../src/difc/envelope-json.js';

const spliced = (value: unknown, text: string) => stringifyWithText(value, text, JSON.stringify(text)).join('');

describe('stringifyWithText', () => {
  it('writes the quoted text in place of the block text it was computed for', () => {
    const text = '[{"title":"a \\"quoted\\" title"}]';
    const result = { content: [{ type: 'image', data: 'AA==' }, { type: 'text', text }], isError: false };
    // A stand-in for the quoted text shows where it went: the caller's string is used as given.
    expect(stringifyWithText(result, text, '"QUOTED"').join('')).toBe('{"content":[{"type":"image","data":"AA=="},{"type":"text","text":"QUOTED"}],"isError":false}');
  });

  it('serialises blocks with another text, and results that are not MCP envelopes, as JSON.stringify does', () => {
    const other = { content: [{ type: 'text', text: '[1]' }] };
    expect(stringifyWithText(other, '[2]', '"unused"').join('')).toBe(JSON.stringify(other));
    for (const value of [null, 7, 'text', [1, { content: [] }], { content: 'not an array' }]) {
      expect(stringifyWithText(value, 'text', '"unused"').join('')).toBe(JSON.stringify(value));
    }
    expect(stringifyWithText(undefined, 'text', '"unused"')).toEqual(['null']);
  });

  it('leaves out undefined members and writes undefined array elements as null, as JSON.stringify does', () => {
    const result = { a: undefined, content: [undefined, { type: 'text', text: 'x', extra: undefined }], structuredContent: { b: undefined } };
    expect(spliced(result, 'x')).toBe(JSON.stringify(result));
  });

  it('keeps a large text, and a large block, as parts of their own, and joins the small pieces around them', () => {
    const text = JSON.stringify(Array.from({ length: 200 }, (_, i) => ({ n: i, title: `issue ${i}` })));
    const quoted = JSON.stringify(text);
    const result = { content: [{ type: 'text', text }], isError: false };
    const parts = stringifyWithText(result, text, quoted);
    // The very string given, not a copy: written part by part, it is never joined into a larger one.
    expect(parts).toEqual(['{"content":[{"type":"text","text":', quoted, '}],"isError":false}']);
    expect(parts[1]).toBe(quoted);
    const filtered = { content: [{ type: 'text', text: text.slice(0, -10) + ']' }] };
    expect(stringifyWithText(filtered, text, quoted)).toEqual(['{"content":[', JSON.stringify(filtered.content[0]), ']}']);
  });

  it('is JSON.stringify for any envelope, whichever block holds the text', () => {
    const json = fc.jsonValue({ maxDepth: 3 });
    const block = fc.oneof(json, fc.record({ type: fc.constantFrom('text', 'image'), text: fc.string() }, { requiredKeys: ['type'] }));
    fc.assert(
      fc.property(fc.array(block, { maxLength: 4 }), fc.dictionary(fc.string(), json, { maxKeys: 3 }), fc.string(), (content, extra, text) => {
        const result = { ...extra, content: [...content, { type: 'text', text }] };
        expect(spliced(result, text)).toBe(JSON.stringify(result));
      }),
    );
  });
});
