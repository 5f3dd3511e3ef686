import { describe, expect, it } from 'vitest';
import { MemorySessionStore } from '../../src/session/memory-store.js';
import { newRecord, storeContract } from './store-contract.js';

storeContract('memory', () => new MemorySessionStore({ maxSessions: 10_000 }), 200);

describe('memory store: bounds and expiry', () => {
  const agent = { secrecy: [], integrity: [] };

  it('evicts the least recently used session past WASMGUARD_SESSION_MAX and counts it', async () => {
    const evicted: number[] = [];
    const store = new MemorySessionStore({ maxSessions: 2, observer: { evicted: (n) => evicted.push(n) } });
    const [a, b, c] = [newRecord(agent), newRecord(agent), newRecord(agent)];
    await store.create(a);
    await store.create(b);
    await store.get(a.id); // a is now the most recently used
    await store.create(c);
    expect(evicted).toEqual([1]);
    expect(await store.get(b.id)).toBeUndefined();
    expect(await store.get(a.id)).toBeDefined();
    expect(await store.live()).toBe(2);
  });

  it('expires idle sessions after their TTL, refreshed by every use, and counts them', async () => {
    let now = 1_000_000;
    const expired: number[] = [];
    const store = new MemorySessionStore({ maxSessions: 10, now: () => now, observer: { expired: (n) => expired.push(n) } });
    const record = newRecord(agent, 10);
    await store.create(record);
    now += 9_000;
    expect(await store.get(record.id)).toBeDefined(); // refreshed: 10 s from here
    now += 9_000;
    expect(await store.mergeLabels(record.id, { secrecy: ['a'], integrity: [] })).toBeDefined();
    now += 10_001;
    expect(await store.get(record.id)).toBeUndefined();
    expect(expired).toEqual([1]);
  });

  it('records handed out are copies: changing one does not change the store', async () => {
    const store = new MemorySessionStore({ maxSessions: 10 });
    const record = newRecord({ secrecy: ['a'], integrity: ['b'] });
    await store.create(record);
    const got = (await store.get(record.id))!;
    got.agent.integrity.push('forged');
    record.agent.secrecy.length = 0;
    expect((await store.get(record.id))!.agent).toEqual({ secrecy: ['a'], integrity: ['b'] });
  });
});
