/**
 * Session metrics from the running service: live, created, expired and
 * evicted sessions (memory store), and the store's latency and errors
 * (Redis store, real redis-server).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { STATIC_GUARD, startService, type TestService } from '../support/server.js';
import { untilReady } from '../support/ready.js';
import { redisAvailableOrSkip, startRedis, type RedisServer } from '../support/redis.js';

function metric(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    const labelText = rest.startsWith('{') ? rest.slice(1, rest.indexOf('}')) : '';
    if (wanted.every((w) => labelText.split(',').includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

const services: TestService[] = [];
afterAll(async () => {
  await Promise.all(services.map((s) => s.close()));
});

describe('session metrics', () => {
  it('memory store: live, created, evicted past WASMGUARD_SESSION_MAX, expired after the TTL', async () => {
    const s = await startService({ guards: [{ name: 'static', path: STATIC_GUARD }], server: { sessionMax: 3 } });
    services.push(s);
    await untilReady(s.url);
    let shortLived = '';
    for (let i = 0; i < 5; i++) {
      const created = await s.post('/v1/sessions', { guard: 'static', ttl_s: i === 4 ? 1 : 600 });
      expect(created.status).toBe(201);
      shortLived = created.body.session_id;
    }
    const text = (await s.get('/metrics')).text;
    expect(metric(text, 'wasmguard_sessions_created_total')).toBe(5);
    expect(metric(text, 'wasmguard_sessions_evicted_total')).toBe(2);
    expect(metric(text, 'wasmguard_sessions_live')).toBe(3);
    expect(metric(text, 'wasmguard_session_store_up', { store: 'memory' })).toBe(1);
    // The 1 s session, left idle, is counted as expired when next met.
    await new Promise((r) => setTimeout(r, 1300));
    expect((await s.get('/v1/sessions/AAAAAAAAAAAAAAAAAAAAAA')).status).toBe(404); // an unknown id is not an expiry
    expect(metric((await s.get('/metrics')).text, 'wasmguard_sessions_expired_total')).toBe(0);
    expect((await s.get(`/v1/sessions/${shortLived}`)).status).toBe(404);
    const after = (await s.get('/metrics')).text;
    expect(metric(after, 'wasmguard_sessions_expired_total')).toBe(1);
    expect(metric(after, 'wasmguard_sessions_live')).toBe(2);
  });

  it.runIf(redisAvailableOrSkip())('Redis store: call latency by operation, errors while Redis is down, store up/down', async () => {
    const redis: RedisServer = await startRedis();
    try {
      const s = await startService({ guards: [{ name: 'static', path: STATIC_GUARD }], server: { sessionStore: redis.url } });
      services.push(s);
      await untilReady(s.url);
      const created = await s.post('/v1/sessions', { guard: 'static' });
      expect(created.status).toBe(201);
      expect((await s.post('/v1/evaluate', { session: created.body.session_id, tool: 'x' })).status).toBe(200);
      let text = (await s.get('/metrics')).text;
      expect(metric(text, 'wasmguard_session_store_duration_seconds_count', { store: 'redis', op: 'create' })).toBe(1);
      expect(metric(text, 'wasmguard_session_store_duration_seconds_count', { store: 'redis', op: 'get' })).toBe(1);
      // The decision record is written after the answer has gone (session-service.ts), so its count is polled.
      await expect
        .poll(async () => metric((await s.get('/metrics')).text, 'wasmguard_session_store_duration_seconds_count', { store: 'redis', op: 'put_decision' }))
        .toBe(1);
      expect(metric(text, 'wasmguard_sessions_live')).toBe(1);
      expect(metric(text, 'wasmguard_session_store_up', { store: 'redis' })).toBe(1);

      await redis.stop();
      await expect.poll(async () => (await s.post('/v1/evaluate', { session: created.body.session_id, tool: 'x' })).status).toBe(503);
      text = (await s.get('/metrics')).text;
      expect(metric(text, 'wasmguard_session_store_errors_total', { store: 'redis', op: 'get' })).toBeGreaterThan(0);
      expect(metric(text, 'wasmguard_session_store_up', { store: 'redis' })).toBe(0);
      expect(metric(text, 'wasmguard_sessions_live')).toBe(1); // the last count
    } finally {
      await redis.stop();
    }
  });
});
