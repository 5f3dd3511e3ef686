import { describe, expect, it } from 'vitest';
import { BodyJson } from '../../src/decision/body-json.js';

describe('BodyJson', () => {
  const text = JSON.stringify({ guard: 'g', result: { content: [{ type: 'text', text: 'é' }] } });
  const bytes = Buffer.from(text);

  it('gives the parsed result until the bytes are taken with it, then neither', () => {
    const body = JSON.parse(text) as { result?: unknown };
    const held = new BodyJson(bytes, body);
    expect(held.result).toEqual({ content: [{ type: 'text', text: 'é' }] });
    expect(held.byteLength).toBe(text.length + 1);
    const taken = held.take();
    expect(taken.bytes).toBe(bytes);
    expect(taken.result).toEqual({ content: [{ type: 'text', text: 'é' }] });
    expect(body.result).toBeUndefined();
    expect(held.result).toBeUndefined();
    expect(held.byteLength).toBe(0);
  });

  it('hands the bytes over once', () => {
    const held = new BodyJson(bytes, JSON.parse(text) as object);
    held.take();
    expect(() => held.take()).toThrow('the body JSON was taken already');
  });

  it('leaves the parsed result in the body when asked to (the decision log writes it)', () => {
    const body = JSON.parse(text) as { result?: unknown };
    new BodyJson(bytes, body, true).take();
    expect(body.result).toEqual({ content: [{ type: 'text', text: 'é' }] });
  });
});
