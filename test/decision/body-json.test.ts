import { describe, expect, it } from 'vitest';
import { BodyJson } from '../../src/decision/body-json.js';

describe('BodyJson', () => {
  const text = JSON.stringify({ guard: 'g', result: { content: [{ type: 'text', text: 'é' }] } });

  it('gives the parsed result until the text is taken, then neither', () => {
    const body = JSON.parse(text) as { result?: unknown };
    const held = new BodyJson(text, body);
    expect(held.result).toEqual({ content: [{ type: 'text', text: 'é' }] });
    expect(held.length).toBe(text.length);
    expect(held.byteLength()).toBe(Buffer.byteLength(text));
    expect(held.byteLength()).toBe(text.length + 1);
    expect(held.take()).toBe(text);
    expect(body.result).toBeUndefined();
    expect(held.result).toBeUndefined();
    expect([held.length, held.byteLength()]).toEqual([0, 0]);
  });

  it('hands the text over once', () => {
    const held = new BodyJson(text, JSON.parse(text) as object);
    held.take();
    expect(() => held.take()).toThrow('the body JSON was taken already');
  });

  it('leaves the parsed result in the body when asked to (the decision log writes it)', () => {
    const body = JSON.parse(text) as { result?: unknown };
    new BodyJson(text, body, true).take();
    expect(body.result).toEqual({ content: [{ type: 'text', text: 'é' }] });
  });
});
