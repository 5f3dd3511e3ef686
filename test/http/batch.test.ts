/**
 * POST /v1/evaluate/batch over real HTTP with the real service: the static
 * sample guard (labels from the policy) and a CPU-bound WAT guard in real
 * worker pools.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spinGuard } from '../support/pool-guards.js';
import { untilReady } from '../support/ready.js';
import { errorOf, STATIC_GUARD, startService, type TestService } from '../support/server.js';
import { wat } from '../support/wat.js';

// The static guard labels each tool as the policy says: read_doc passes, post_admin is a write the agent may not make,
// read_vault a read of secret data (allowed, with a response check).
export const STATIC_POLICY = {
  agent: { secrecy: [], integrity: ['trusted'] },
  tools: {
    read_doc: { operation: 'read', secrecy: [], integrity: ['trusted'], description: 'a document' },
    post_admin: { operation: 'write', secrecy: [], integrity: ['admin'], description: 'the admin channel' },
    read_vault: { operation: 'read', secrecy: ['vault'], integrity: ['trusted'], description: 'the vault' },
  },
};

let s: TestService;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wg-batch-'));
  const spin = join(dir, 'spin.wasm');
  // Long enough that two calls are dispatched before the first one ends, even on a loaded machine.
  writeFileSync(spin, await wat(spinGuard(150_000_000)));
  s = await startService({
    guards: [
      { name: 'static', path: STATIC_GUARD, poolSize: 2 },
      { name: 'spin', path: spin, poolSize: 2, timeoutMs: 30_000 },
    ],
    server: { batchMax: 20 },
  });
  await untilReady(s.url);
});
afterAll(async () => {
  await s?.close();
  rmSync(dir, { recursive: true, force: true });
});

const withoutId = ({ decision_id: _id, ...rest }: Record<string, unknown>) => rest;

describe('POST /v1/evaluate/batch', () => {
  it('answers every call in order, each as /v1/evaluate would, with its id', async () => {
    const calls = [
      { id: 'doc', tool: 'read_doc' },
      { tool: 'post_admin', args: { text: 'hi' } },
      { id: 'vault', tool: 'read_vault', mode: 'filter' as const },
    ];
    const reply = await s.post('/v1/evaluate/batch', { defaults: { guard: 'static', policy: STATIC_POLICY }, calls });
    expect(reply.status, reply.text).toBe(200);
    const decisions = reply.body.decisions as Array<Record<string, unknown>>;
    expect(decisions.map((d) => [d.id, d.decision])).toEqual([
      ['doc', 'allow'],
      ['1', 'deny'],
      ['vault', 'allow'],
    ]);
    expect(decisions[2]).toMatchObject({ check_response: true, mode: 'filter', operation: 'read' });
    for (const [index, call] of calls.entries()) {
      const { id: _callId, ...body } = call;
      const single = await s.post('/v1/evaluate', { guard: 'static', policy: STATIC_POLICY, ...body });
      const { id: _replyId, ...decision } = decisions[index]!;
      expect(withoutId(decision)).toEqual(withoutId(single.body));
    }
    expect(new Set(decisions.map((d) => d.decision_id)).size).toBe(3);
  });

  it("a call's own fields replace the defaults", async () => {
    const reply = await s.post('/v1/evaluate/batch', {
      defaults: { guard: 'static', policy: STATIC_POLICY, agent: { secrecy: [], integrity: [] } },
      calls: [{ tool: 'post_admin' }, { tool: 'post_admin', agent: { secrecy: [], integrity: ['admin', 'trusted'] } }],
    });
    expect(reply.body.decisions.map((d: { decision: string }) => d.decision)).toEqual(['deny', 'allow']);
    expect(reply.body.decisions[1].agent).toEqual({ secrecy: [], integrity: ['admin', 'trusted'] });
  });

  it('a call that fails gets its own error object; its siblings are decided', async () => {
    const session = (await s.post('/v1/sessions', { guard: 'static', policy: STATIC_POLICY })).body.session_id as string;
    const reply = await s.post('/v1/evaluate/batch', {
      calls: [
        { id: 'ok', guard: 'static', policy: STATIC_POLICY, tool: 'read_doc' },
        { id: 'unknown-guard', guard: 'gitlab', tool: 'read_doc' },
        { id: 'no-guard', tool: 'read_doc' },
        { id: 'rejected-policy', guard: 'static', policy: { mode: 'sideways' }, tool: 'read_doc' },
        { id: 'session-and-agent', session, agent: { secrecy: [], integrity: [] }, tool: 'read_doc' },
        { id: 'unknown-session', session: 'AAAAAAAAAAAAAAAAAAAAAA', tool: 'read_doc' },
        { id: 'session', session, tool: 'read_doc' },
      ],
    });
    expect(reply.status, reply.text).toBe(200);
    const byId = Object.fromEntries((reply.body.decisions as Array<{ id: string }>).map((d) => [d.id, d]));
    expect(byId.ok).toMatchObject({ decision: 'allow', operation: 'read' });
    expect(byId.session).toMatchObject({ decision: 'allow', agent: { secrecy: [], integrity: ['trusted'] } });
    const errors = {
      'unknown-guard': 'WG_ERR_UNKNOWN_GUARD',
      'no-guard': 'WG_ERR_INVALID_REQUEST',
      'rejected-policy': 'WG_ERR_POLICY_REJECTED',
      'session-and-agent': 'WG_ERR_INVALID_REQUEST',
      'unknown-session': 'WG_ERR_UNKNOWN_SESSION',
    };
    for (const [id, code] of Object.entries(errors)) {
      expect(byId[id], id).toMatchObject({ id, decision: 'deny', error: { code } });
      expect(Object.keys(byId[id]!).sort(), id).toEqual(['decision', 'error', 'id']);
      expect((byId[id] as unknown as { error: { message: string } }).error.message.length).toBeGreaterThan(0);
    }
    expect((byId['unknown-guard'] as unknown as { error: { message: string } }).error.message).toContain('gitlab');
    expect((byId['session-and-agent'] as unknown as { error: { message: string } }).error.message).toContain('agent');
  });

  it('reads a session once per batch, however many calls name it', async () => {
    const session = (await s.post('/v1/sessions', { guard: 'static', policy: STATIC_POLICY })).body.session_id as string;
    const store = s.service.sessions.store;
    const original = store.get.bind(store);
    let reads = 0;
    store.get = (id: string) => {
      if (id === session) reads++;
      return original(id);
    };
    try {
      const reply = await s.post('/v1/evaluate/batch', {
        defaults: { session },
        calls: Array.from({ length: 10 }, (_, i) => ({ tool: i % 2 ? 'read_doc' : 'post_admin' })),
      });
      expect(reply.status, reply.text).toBe(200);
      expect(reply.body.decisions.map((d: { decision: string }) => d.decision)).toEqual(Array.from({ length: 10 }, (_, i) => (i % 2 ? 'allow' : 'deny')));
      expect(reads).toBe(1);
    } finally {
      store.get = original;
    }
  });

  it('spreads the calls of one batch over the guard pool', async () => {
    let maxBusy = 0;
    let done = false;
    const batch = s.post('/v1/evaluate/batch', { defaults: { guard: 'spin' }, calls: Array.from({ length: 4 }, () => ({ tool: 't' })) }).finally(() => (done = true));
    // Sampled until the batch is answered: a pool that ran the calls one after another would never show two busy instances.
    for (let i = 0; i < 5000 && !done && maxBusy < 2; i++) {
      const guards = (await s.get('/v1/guards')).body.guards as Array<{ name: string; pool: { instances: { busy: number } } }>;
      maxBusy = Math.max(maxBusy, guards.find((g) => g.name === 'spin')!.pool.instances.busy);
    }
    const reply = await batch;
    expect(reply.status, reply.text).toBe(200);
    expect(reply.body.decisions).toHaveLength(4);
    for (const d of reply.body.decisions) expect(d.decision, JSON.stringify(d)).toMatch(/^(allow|deny)$/);
    expect(maxBusy).toBe(2);
  });

  it('refuses more calls than WASMGUARD_BATCH_MAX (413) and bad bodies (400 naming the field)', async () => {
    const tooMany = await s.post('/v1/evaluate/batch', { defaults: { guard: 'static' }, calls: Array.from({ length: 21 }, () => ({ tool: 'read_doc' })) });
    expect(tooMany.status).toBe(413);
    expect(errorOf(tooMany)).toMatchObject({ code: 'WG_ERR_BATCH_TOO_LARGE' });
    expect(errorOf(tooMany).message).toContain('20');
    const empty = await s.post('/v1/evaluate/batch', { calls: [] });
    expect(empty.status).toBe(400);
    expect(errorOf(empty).message).toContain('body.calls');
    const badCall = await s.post('/v1/evaluate/batch', { calls: [{ guard: 'static', tool: 'read_doc' }, { guard: 'static' }] });
    expect(badCall.status).toBe(400);
    expect(errorOf(badCall).message).toContain('body.calls[1]');
    expect(errorOf(badCall).message).toContain('tool');
    // The service keeps serving.
    expect((await s.post('/v1/evaluate/batch', { defaults: { guard: 'static' }, calls: [{ tool: 'read_doc' }] })).status).toBe(200);
  });
});
