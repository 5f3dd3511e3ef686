import { describe, expect, it } from 'vitest';
import { MAX_BATCH, RedisBatch } from '../../src/session/redis-batch.js';

describe('RedisBatch', () => {
  it('sends the calls of one turn of the event loop as one call, each caller getting its own result', async () => {
    const sent: string[][] = [];
    const batch = new RedisBatch(async (items: string[]) => {
      sent.push(items);
      return items.map((i) => (i === 'bad' ? new Error(`no ${i}`) : i.toUpperCase()));
    });
    const outcomes = await Promise.allSettled(['a', 'bad', 'c'].map((i) => batch.add(i)));
    expect(sent).toEqual([['a', 'bad', 'c']]);
    expect(outcomes.map((o) => (o.status === 'fulfilled' ? o.value : (o.reason as Error).message))).toEqual(['A', 'no bad', 'C']);
    await expect(batch.add('d')).resolves.toBe('D');
    expect(sent).toEqual([['a', 'bad', 'c'], ['d']]);
  });

  it('fails every caller of a batch whose call fails, or whose reply is short', async () => {
    const failing = new RedisBatch<string, string>(async () => {
      throw new Error('connection lost');
    });
    await expect(Promise.all([failing.add('a'), failing.add('b')])).rejects.toThrow('connection lost');
    const throwing = new RedisBatch<string, string>(() => {
      throw new Error('not writable');
    });
    await expect(throwing.add('a')).rejects.toThrow('not writable');
    const short = new RedisBatch<string, string>(async () => ['only one']);
    const outcomes = await Promise.allSettled([short.add('a'), short.add('b')]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected']);
  });

  it(`sends at most ${MAX_BATCH} calls in one`, async () => {
    const sizes: number[] = [];
    const batch = new RedisBatch(async (items: number[]) => {
      sizes.push(items.length);
      return items;
    });
    const results = await Promise.all(Array.from({ length: MAX_BATCH * 2 + 1 }, (_, i) => batch.add(i)));
    expect(results[MAX_BATCH * 2]).toBe(MAX_BATCH * 2);
    expect(sizes).toEqual([MAX_BATCH, MAX_BATCH, 1]);
  });
});
