import { describe, expect, it } from 'vitest';
import { SseParser } from '../../src/backend/sse.js';

const bytes = (s: string) => new TextEncoder().encode(s);

function parseAll(chunks: Array<string | Uint8Array>) {
  const p = new SseParser();
  const events = chunks.flatMap((c) => p.push(typeof c === 'string' ? bytes(c) : c));
  return [...events, ...p.end()];
}

describe('SseParser', () => {
  it('parses events with event, data and id fields', () => {
    expect(parseAll(['event: message\nid: 7\ndata: {"a":1}\n\n', 'data: plain\n\n'])).toEqual([
      { event: 'message', id: '7', data: '{"a":1}' },
      { data: 'plain', id: '7' },
    ]);
  });

  it('joins multi-line data with LF, ignores comments, retry and unknown fields, strips one leading space', () => {
    expect(parseAll([': keep-alive\nretry: 10\nfoo: bar\ndata:one\ndata:  two\n\n'])).toEqual([{ data: 'one\n two' }]);
  });

  it('accepts CRLF, CR and LF line ends, split anywhere across chunks', () => {
    const text = 'data: a\r\n\r\ndata: b\r\rdata: c\n\n';
    const expected = [{ data: 'a' }, { data: 'b' }, { data: 'c' }];
    for (let i = 0; i <= text.length; i++) {
      expect(parseAll([text.slice(0, i), text.slice(i)])).toEqual(expected);
    }
    expect(parseAll(text.split(''))).toEqual(expected);
  });

  it('decodes UTF-8 split inside a character, and drops a leading BOM', () => {
    const all = bytes('\uFEFFdata: h€llo\n\n');
    expect(parseAll([all.slice(0, 2), all.slice(2, 12), all.slice(12)])).toEqual([{ data: 'h€llo' }]);
  });

  it('does not dispatch an event without data, nor one cut off at the end of the stream', () => {
    expect(parseAll(['event: ping\n\n', 'id: 3\n\n', 'data: never finished'])).toEqual([]);
    expect(parseAll(['data: x\n'])).toEqual([]);
  });

  it('handles a large data line arriving in many small chunks in linear time', () => {
    const payload = 'x'.repeat(4 * 1024 * 1024);
    const chunks: Uint8Array[] = [bytes('data: ')];
    const b = bytes(payload);
    for (let i = 0; i < b.length; i += 1024) chunks.push(b.slice(i, i + 1024));
    chunks.push(bytes('\n\n'));
    const started = performance.now();
    const events = parseAll(chunks);
    expect(events).toHaveLength(1);
    expect(events[0]!.data.length).toBe(payload.length);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});
