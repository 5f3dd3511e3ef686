/**
 * Many replicas, one Redis: two service processes as they ship (node
 * dist/server.js) share sessions through a real redis-server; concurrent
 * propagating reads of one session through both lose no taint; and when
 * Redis goes away during load, session calls fail closed while the rest
 * keeps working, until Redis is back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { untilReady } from '../support/ready.js';
import { startServerProcess, type ServerProcess } from '../support/process.js';
import { redisAvailableOrSkip, startRedis, type RedisServer } from '../support/redis.js';

const run = redisAvailableOrSkip();

async function post(base: string, path: string, body: unknown) {
  const response = await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

describe.runIf(run)('two replicas on one Redis', () => {
  let redis: RedisServer;
  let a: ServerProcess;
  let b: ServerProcess;

  beforeAll(async () => {
    redis = await startRedis();
    const env = { WASMGUARD_SESSION_STORE: redis.url, WASMGUARD_POOL_SIZE: '1' };
    [a, b] = await Promise.all([startServerProcess(env, 30_000), startServerProcess(env, 30_000)]);
    // On a loaded machine a fresh process can shed load for a moment after its start.
    await Promise.all([untilReady(a.url), untilReady(b.url)]);
  }, 60_000);
  afterAll(async () => {
    for (const p of [a, b]) {
      p?.child.kill('SIGKILL');
      await p?.exited;
    }
    await redis?.stop();
  });

  it('a session made on one replica is used on the other; concurrent reads through both lose no taint', async () => {
    const n = 30;
    const integrity = Array.from({ length: n }, (_, i) => `i${i}`);
    const created = await post(a.url, '/v1/sessions', { guard: 'static', policy: { agent: { secrecy: [], integrity }, mode: 'propagate' } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.session_id as string;
    expect((await fetch(`${b.url}/v1/sessions/${id}`)).status).toBe(200);

    // Read k adds secrecy s{k} and lacks integrity i{k}; even reads go through replica a, odd through b.
    const replies = await Promise.all(
      Array.from({ length: n }, (_, k) =>
        post(k % 2 === 0 ? a.url : b.url, '/v1/evaluate/response', {
          session: id,
          tool: 'read_thing',
          result: { items: [{ v: k, _labels: { secrecy: [`s${k}`], integrity: integrity.filter((t) => t !== `i${k}`) } }] },
        }),
      ),
    );
    expect(replies.map((r) => r.status)).toEqual(Array(n).fill(200));
    for (const url of [a.url, b.url]) {
      const final = (await (await fetch(`${url}/v1/sessions/${id}`)).json()) as { agent: { secrecy: string[]; integrity: string[] }; changes: number };
      expect(final.agent.integrity).toEqual([]);
      expect([...final.agent.secrecy].sort()).toEqual(Array.from({ length: n }, (_, k) => `s${k}`).sort());
      expect(final.changes).toBe(n);
    }
    // Ended on b, gone on a.
    expect((await fetch(`${b.url}/v1/sessions/${id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await fetch(`${a.url}/v1/sessions/${id}`)).status).toBe(404);
  });

  it('what one replica decided (kept in the same Redis call as its session reads) serves the response check on the other, unlabelled again', async () => {
    const created = await post(a.url, '/v1/sessions', { guard: 'static', policy: { mode: 'filter' } });
    const id = created.body.session_id as string;
    // Several calls at once, so that reads and kept decisions share turns.
    const evaluated = await Promise.all(Array.from({ length: 8 }, () => post(a.url, '/v1/evaluate', { session: id, tool: 'read_thing' })));
    expect(evaluated.map((e) => [e.status, e.body.decision])).toEqual(Array(8).fill([200, 'allow']));
    for (const e of evaluated) {
      await expect.poll(() => redis.command('EXISTS', `wasmguard:decision:${e.body.decision_id}`)).toBe(':1');
    }
    const labelResourceCalls = async () => {
      const text = await (await fetch(`${b.url}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith('wasmguard_guard_call_duration_seconds_count{') && l.includes('function="label_resource"'));
      return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
    };
    const before = await labelResourceCalls();
    const checked = await Promise.all(
      evaluated.map((e) => post(b.url, '/v1/evaluate/response', { session: id, tool: 'read_thing', decision_id: e.body.decision_id, result: { items: [] } })),
    );
    expect(checked.map((c) => c.status)).toEqual(Array(8).fill(200));
    expect(await labelResourceCalls()).toBe(before);
    // Without a kept decision, b labels the call itself.
    expect((await post(b.url, '/v1/evaluate/response', { session: id, tool: 'read_thing', result: { items: [] } })).status).toBe(200);
    expect(await labelResourceCalls()).toBe(before + 1);
  });

  it('Redis stopped during load: session calls 503 with Retry-After, the rest keeps working, and it recovers by itself', async () => {
    const created = await post(a.url, '/v1/sessions', { guard: 'static', policy: { mode: 'propagate' } });
    const id = created.body.session_id as string;
    // Outcomes by "status" or "status code" (503s carry the reason: the store, or load shedding on this busy machine).
    const outcomes = { session: new Map<string, number>(), stateless: new Map<string, number>() };
    const retryAfter: string[] = [];
    let stop = false;
    const count = (m: Map<string, number>, reply: Awaited<ReturnType<typeof post>>) => {
      const key = reply.status === 503 ? `503 ${reply.body?.error?.code}` : String(reply.status);
      m.set(key, (m.get(key) ?? 0) + 1);
    };
    // Load: a loop per replica, alternating a session call and a stateless one, bounded in count.
    const load = [a.url, b.url].map(async (url) => {
      for (let i = 0; i < 5000 && !stop; i++) {
        const withSession = await post(url, '/v1/evaluate', { session: id, tool: 'read_thing' });
        count(outcomes.session, withSession);
        if (withSession.status === 503) retryAfter.push(withSession.headers.get('retry-after') ?? '');
        count(outcomes.stateless, await post(url, '/v1/evaluate', { guard: 'static', tool: 'read_thing' }));
      }
    });
    const statuses = { session: { get: (k: number | string) => outcomes.session.get(String(k)) }, stateless: { get: (k: number) => outcomes.stateless.get(String(k)) } };
    try {
      await expect.poll(() => statuses.session.get(200) ?? 0, { timeout: 10_000 }).toBeGreaterThan(10);
      await redis.stop();
      await expect.poll(() => statuses.session.get('503 WG_ERR_SESSION_STORE_UNAVAILABLE') ?? 0, { timeout: 10_000 }).toBeGreaterThan(10);
      const ready = await fetch(`${a.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: 'ready', session_store: 'down' });
      const before = statuses.stateless.get(200) ?? 0;
      await expect.poll(() => statuses.stateless.get(200) ?? 0, { timeout: 10_000 }).toBeGreaterThan(before + 10);

      await redis.start();
      // The restarted Redis kept nothing (persistence is off in the test): the old session is unknown (404),
      // not unavailable. Both replicas reconnected by themselves.
      await expect.poll(async () => (await post(a.url, '/v1/evaluate', { session: id, tool: 'x' })).status, { timeout: 15_000 }).toBe(404);
      await expect.poll(async () => (await post(b.url, '/v1/evaluate', { session: id, tool: 'x' })).status, { timeout: 15_000 }).toBe(404);
      const again = await post(b.url, '/v1/sessions', { guard: 'static' });
      expect(again.status).toBe(201);
      expect((await fetch(`${a.url}/readyz`).then((r) => r.json()))).toMatchObject({ session_store: 'up' });
    } finally {
      stop = true;
      await Promise.all(load);
    }
    // Calls without a session never failed for want of the store; session calls only ever failed closed.
    const shed = '503 WG_ERR_OVERLOADED';
    expect([...outcomes.stateless.keys()].filter((k) => k !== '200' && k !== shed)).toEqual([]);
    expect([...outcomes.session.keys()].filter((k) => !['200', '404', '503 WG_ERR_SESSION_STORE_UNAVAILABLE', shed].includes(k))).toEqual([]);
    expect(retryAfter.every((v) => Number(v) >= 1)).toBe(true);
  }, 60_000);
});
