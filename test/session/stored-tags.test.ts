import { describe, expect, it } from 'vitest';
import { storedTags } from '../../src/session/stored-tags.js';

describe('storedTags', () => {
  it('reads a stored JSON array as sorted tags without duplicates; a missing field is no tags', () => {
    expect(storedTags('["b","a","b"]')).toEqual(['a', 'b']);
    expect(storedTags(undefined)).toEqual([]);
    expect(storedTags('[]')).toEqual([]);
  });

  it('hands out lists no caller can change, the same list for the same text', () => {
    const first = storedTags('["x","y"]');
    expect(() => first.push('forged')).toThrow(TypeError);
    expect(() => first.sort().reverse()).toThrow(TypeError);
    expect(storedTags('["x","y"]')).toEqual(['x', 'y']);
    expect(storedTags('["x","y"]')).toBe(first);
  });

  it('keeps answering correctly past its size limits', () => {
    for (let i = 0; i < 2000; i++) expect(storedTags(`["t${i}","a"]`)).toEqual(['a', `t${i}`]);
    const long = JSON.stringify(Array.from({ length: 2000 }, (_, i) => `tag-${i}`));
    expect(storedTags(long)).toHaveLength(2000);
    expect(storedTags(long)).not.toBe(storedTags(long));
  });
});
