import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionStoreUnavailableError } from '../../src/session/errors.js';
import { RedisSessionStore } from '../../src/session/redis-store.js';
import { redisAvailableOrSkip, startRedis, type RedisServer } from '../support/redis.js';
import { newRecord, storeContract } from './store-contract.js';

const run = redisAvailableOrSkip();
const logger = pino({ level: 'silent' });

describe.runIf(run)('Redis session store (real redis-server)', () => {
  let redis: RedisServer;
  let store: RedisSessionStore;
  const calls: Array<{ op: string; ok: boolean }> = [];

  beforeAll(async () => {
    redis = await startRedis();
    store = new RedisSessionStore({ url: redis.url, logger, observer: { call: (op, _s, ok) => calls.push({ op, ok }) } });
    await store.connect();
  });
  afterAll(async () => {
    await store?.close();
    await redis?.stop();
  });

  storeContract('redis', () => store, 60);

  it('keeps a session as wasmguard:session:{id} with its TTL, refreshed on use', async () => {
    const record = newRecord({ secrecy: [], integrity: ['a'] }, 100);
    await store.create(record);
    expect(await redis.command('TYPE', `wasmguard:session:${record.id}`)).toBe('+hash');
    await redis.command('EXPIRE', `wasmguard:session:${record.id}`, '5');
    await store.get(record.id);
    const ttl = Number((await redis.command('TTL', `wasmguard:session:${record.id}`)).slice(1));
    expect(ttl).toBeGreaterThan(5);
    expect(ttl).toBeLessThanOrEqual(100);
    await redis.command('EXPIRE', `wasmguard:session:${record.id}`, '5');
    await store.mergeLabels(record.id, { secrecy: ['s'], integrity: [] });
    expect(Number((await redis.command('TTL', `wasmguard:session:${record.id}`)).slice(1))).toBeGreaterThan(5);
  });

  it('an expired key is an unknown session', async () => {
    const record = newRecord({ secrecy: [], integrity: [] }, 1);
    await store.create(record);
    await redis.command('PEXPIRE', `wasmguard:session:${record.id}`, '1');
    // Wait for Redis itself to drop the key: a get refreshes the idle TTL, so polling get could keep it alive.
    await expect.poll(() => redis.command('EXISTS', `wasmguard:session:${record.id}`)).toBe(':0');
    expect(await store.get(record.id)).toBeUndefined();
  });

  it('decision records have their own short TTL', async () => {
    await store.putDecision('11111111-1111-4111-8111-111111111111', { session: 's', guard: 'g', tool: 't', argsDigest: 'd', operation: 'read', resource: { secrecy: [], integrity: [] } }, 7);
    const ttl = Number((await redis.command('TTL', 'wasmguard:decision:11111111-1111-4111-8111-111111111111')).slice(1));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(7);
  });

  it('many concurrent merges of one session through separate connections lose no taint', async () => {
    const others = Array.from({ length: 4 }, () => new RedisSessionStore({ url: redis.url, logger }));
    await Promise.all(others.map((o) => o.connect()));
    try {
      const record = newRecord({ secrecy: [], integrity: Array.from({ length: 40 }, (_, i) => `i${i}`) });
      await store.create(record);
      // Read n adds secrecy s{n} and drops integrity i{n}.
      await Promise.all(
        Array.from({ length: 40 }, (_, n) =>
          others[n % others.length]!.mergeLabels(record.id, {
            secrecy: [`s${n}`],
            integrity: record.agent.integrity.filter((t) => t !== `i${n}`),
          }),
        ),
      );
      const final = (await store.get(record.id))!;
      expect(final.agent.secrecy).toHaveLength(40);
      expect(final.agent.integrity).toEqual([]);
      expect(final.changes).toBe(40);
    } finally {
      await Promise.all(others.map((o) => o.close()));
    }
  });

  it('counts live sessions with SCAN', async () => {
    const live = await store.live();
    expect(live).toBeGreaterThan(0);
  });

  it('a key that is not a session fails only its own read, also among reads sent together', async () => {
    const a = newRecord({ secrecy: ['s'], integrity: ['i'] });
    const b = newRecord({ secrecy: [], integrity: [] });
    await Promise.all([store.create(a), store.create(b)]);
    await redis.command('SET', 'wasmguard:session:not-a-hash', 'text');
    const [gotA, broken, gotB, missing] = await Promise.allSettled([store.get(a.id), store.get('not-a-hash'), store.get(b.id), store.get('missing')]);
    expect(gotA).toMatchObject({ status: 'fulfilled', value: { id: a.id, agent: { secrecy: ['s'], integrity: ['i'] } } });
    expect(broken).toMatchObject({ status: 'rejected', reason: { code: 'WG_ERR_SESSION_STORE_UNAVAILABLE', message: expect.stringContaining('WRONGTYPE') } });
    expect(gotB).toMatchObject({ status: 'fulfilled', value: { id: b.id } });
    expect(missing).toEqual({ status: 'fulfilled', value: undefined });
  });

  it('reads and decision writes of one turn go as one script call, each with its own outcome', async () => {
    const a = newRecord({ secrecy: ['s'], integrity: [] });
    await store.create(a);
    await store.get(a.id); // the script is loaded: the calls below are EVALSHA only
    await redis.command('SET', 'wasmguard:session:also-not-a-hash', 'text');
    const kept = (tool: string) => ({ session: a.id, guard: 'g', tool, argsDigest: 'd', operation: 'read' as const, resource: { secrecy: ['r'], integrity: [] } });
    const before = Number((await redis.command('INFO', 'commandstats')).match(/cmdstat_evalsha:calls=(\d+)/)?.[1] ?? 0);
    const outcomes = await Promise.allSettled([
      store.putDecision('22222222-2222-4222-8222-222222222222', kept('first'), 60),
      store.get(a.id),
      store.get('also-not-a-hash'),
      store.putDecision('33333333-3333-4333-8333-333333333333', kept('second'), 60),
    ]);
    const after = Number((await redis.command('INFO', 'commandstats')).match(/cmdstat_evalsha:calls=(\d+)/)?.[1] ?? 0);
    expect(after - before).toBe(1);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(outcomes[1]).toMatchObject({ value: { id: a.id, agent: { secrecy: ['s'] } } });
    expect(await store.getDecision('22222222-2222-4222-8222-222222222222')).toEqual(kept('first'));
    expect(await store.getDecision('33333333-3333-4333-8333-333333333333')).toEqual(kept('second'));
  });

  it('a call Redis does not answer within the command timeout fails with SessionStoreUnavailableError; the next ones work', async () => {
    const slow = new RedisSessionStore({ url: redis.url, logger, commandTimeoutMs: 150 });
    await slow.connect();
    try {
      const record = newRecord({ secrecy: [], integrity: [] });
      await slow.create(record);
      // A script that keeps the (single-threaded) server busy for 600 ms: every other client waits.
      const busy = redis.command('EVAL', "local t = redis.call('TIME') local s = t[1] * 1e6 + t[2] repeat t = redis.call('TIME') until t[1] * 1e6 + t[2] - s > 600000 return 1", '0');
      await new Promise((resolve) => setTimeout(resolve, 50));
      // Without the deadline the read would wait out the busy server and succeed; "timed out" is the deadline.
      await expect(slow.get(record.id)).rejects.toMatchObject({ code: 'WG_ERR_SESSION_STORE_UNAVAILABLE', message: expect.stringContaining('timed out') });
      await busy;
      expect((await slow.get(record.id))?.id).toBe(record.id);
    } finally {
      await slow.close();
    }
  });

  it('fails fast with SessionStoreUnavailableError while Redis is down, and reconnects by itself', async () => {
    const record = newRecord({ secrecy: [], integrity: [] });
    await store.create(record);
    await redis.stop();
    await expect.poll(() => store.available).toBe(false);
    await expect(store.get(record.id)).rejects.toBeInstanceOf(SessionStoreUnavailableError);
    await expect(store.mergeLabels(record.id, { secrecy: ['x'], integrity: [] })).rejects.toMatchObject({ code: 'WG_ERR_SESSION_STORE_UNAVAILABLE' });
    expect(calls.some((c) => !c.ok)).toBe(true);
    await redis.start();
    await expect.poll(() => store.available, { timeout: 10_000 }).toBe(true);
    // The restarted server has no data (persistence is off): the session is gone, and says so.
    expect(await store.get(record.id)).toBeUndefined();
    const again = newRecord({ secrecy: [], integrity: [] });
    await store.create(again);
    expect(await store.get(again.id)).toBeDefined();
  });
});
