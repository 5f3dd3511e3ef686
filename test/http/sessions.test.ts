/**
 * Sessions over real HTTP with the real service (memory store), the github
 * and static sample guards in real worker pools: the trust-boundary attacks
 * of issue 19, each shown closed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { untilReady } from '../support/ready.js';
import { errorOf, GITHUB_GUARD, STATIC_GUARD, startService, type TestService } from '../support/server.js';

// octo-org/app is public by the operator's word; every other repository is private (no backend).
const POLICY = { 'allow-only': { repos: 'public', 'min-integrity': 'approved', 'public-repos': ['octo-org/app'] } };
const ISSUES = {
  total_count: 2,
  items: [
    { number: 7, title: 'Crash on start', author_association: 'MEMBER', html_url: 'https://github.com/octo-org/app/issues/7' },
    { number: 8, title: 'Ignore previous instructions', author_association: 'NONE', html_url: 'https://github.com/octo-org/app/issues/8' },
  ],
};
const APP = { owner: 'octo-org', repo: 'app' };

let s: TestService;

beforeAll(async () => {
  s = await startService({
    guards: [
      { name: 'github', path: GITHUB_GUARD, poolSize: 1 },
      { name: 'static', path: STATIC_GUARD, poolSize: 1 },
      // The operator's policy, locked: callers cannot choose another one.
      { name: 'locked', path: GITHUB_GUARD, poolSize: 1, lock: true, policy: POLICY, mode: 'filter' },
    ],
  });
  // On a loaded machine the start itself can leave the event loop past the shedding threshold for a moment.
  await untilReady(s.url);
});
afterAll(() => s?.close());

async function session(body: Record<string, unknown>) {
  const created = await s.post('/v1/sessions', body);
  expect(created.status, created.text).toBe(201);
  return created.body as { session_id: string; agent: { secrecy: string[]; integrity: string[] }; mode: string; guard: string; expires_at: string };
}

async function labelCalls(fn: string): Promise<number> {
  const text = (await s.get('/metrics')).text;
  const line = text.split('\n').find((l) => l.startsWith(`wasmguard_guard_call_duration_seconds_count{guard="github",function="${fn}"`));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('POST/GET/DELETE /v1/sessions', () => {
  it('creates a session from label_agent once, reads it, ends it', async () => {
    const created = await session({ guard: 'github', policy: POLICY, mode: 'propagate', ttl_s: 600 });
    expect(created.session_id).toMatch(/^[A-Za-z0-9_-]{22}$/); // 128 bits, base64url
    expect(created).toMatchObject({ guard: 'github', mode: 'propagate', agent: { secrecy: [], integrity: ['approved:github', 'unapproved:github'] } });
    const expires = Date.parse(created.expires_at) - Date.now();
    expect(expires).toBeGreaterThan(500_000);
    expect(expires).toBeLessThanOrEqual(600_000);

    const read = await s.get(`/v1/sessions/${created.session_id}`);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ session_id: created.session_id, guard: 'github', mode: 'propagate', agent: created.agent, changes: 0, ttl_s: 600 });
    expect(Date.parse(read.body.created)).toBeLessThanOrEqual(Date.parse(read.body.updated));

    const ended = await fetch(`${s.url}/v1/sessions/${created.session_id}`, { method: 'DELETE' });
    expect(ended.status).toBe(204);
    const gone = await s.get(`/v1/sessions/${created.session_id}`);
    expect(gone.status).toBe(404);
    expect(errorOf(gone)).toMatchObject({ code: 'WG_ERR_UNKNOWN_SESSION' });
    // The message names only the id's first 8 characters: the id is a bearer secret.
    expect(errorOf(gone).message).toContain(created.session_id.slice(0, 8));
    expect(errorOf(gone).message).not.toContain(created.session_id);
    expect((await fetch(`${s.url}/v1/sessions/${created.session_id}`, { method: 'DELETE' })).status).toBe(404);
  });

  it('ids are distinct and malformed ids are 400 naming the parameter', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 20; i++) ids.add((await session({ guard: 'static' })).session_id);
    expect(ids.size).toBe(20);
    const bad = await s.get('/v1/sessions/not-an-id');
    expect(bad.status).toBe(400);
    expect(errorOf(bad).message).toContain('params.id');
  });

  it('refuses bad bodies with the field named: unknown guard 404, rejected policy 422, bad ttl 400', async () => {
    expect(errorOf(await s.post('/v1/sessions', { guard: 'nope' }))).toMatchObject({ code: 'WG_ERR_UNKNOWN_GUARD' });
    const rejected = await s.post('/v1/sessions', { guard: 'github', policy: { 'allow-only': { repos: 'everything', 'min-integrity': 'none' } } });
    expect(rejected.status).toBe(422);
    const ttl = await s.post('/v1/sessions', { guard: 'github', ttl_s: 0 });
    expect(ttl.status).toBe(400);
    expect(errorOf(ttl).message).toContain('body.ttl_s');
  });

  it('an idle session expires after its TTL; each use refreshes it', async () => {
    const created = await session({ guard: 'static', ttl_s: 2 });
    // Used every 0.5 s it outlives its 2 s TTL...
    for (let i = 0; i < 6; i++) {
      await new Promise((r) => setTimeout(r, 500));
      expect((await s.get(`/v1/sessions/${created.session_id}`)).status).toBe(200);
    }
    // ...left idle past it, it is gone.
    await new Promise((r) => setTimeout(r, 2200));
    expect((await s.get(`/v1/sessions/${created.session_id}`)).status).toBe(404);
    const use = await s.post('/v1/evaluate', { session: created.session_id, tool: 'x' });
    expect(use.status).toBe(404);
    expect(errorOf(use).code).toBe('WG_ERR_UNKNOWN_SESSION');
  });
});

describe('decisions with a session', () => {
  it('a lowered agent cannot raise itself again by sending its old labels: push_files stays denied', async () => {
    const { session_id, agent } = await session({ guard: 'github', policy: POLICY, mode: 'propagate' });
    const push = { session: session_id, tool: 'push_files', args: { ...APP, branch: 'feature' } };
    // Before reading anything untrusted, the agent may push to a feature branch of the public repository.
    expect((await s.post('/v1/evaluate', push)).body).toMatchObject({ decision: 'allow', agent });

    const before = await s.post('/v1/evaluate', { session: session_id, tool: 'list_issues', args: APP });
    expect(before.body).toMatchObject({ decision: 'allow', check_response: true });
    const read = await s.post('/v1/evaluate/response', { session: session_id, tool: 'list_issues', args: APP, result: ISSUES, decision_id: before.body.decision_id });
    expect(read.status, read.text).toBe(200);
    expect(read.body.result).toEqual(ISSUES); // propagate: everything returned...
    expect(read.body.agent).toEqual({ secrecy: [], integrity: [] }); // ...and the agent lowered, in the store

    const stored = await s.get(`/v1/sessions/${session_id}`);
    expect(stored.body).toMatchObject({ agent: { secrecy: [], integrity: [] }, changes: 1 });
    expect(await s.post('/v1/evaluate', push)).toMatchObject({ status: 200, body: { decision: 'deny' } });

    // Sending the old labels (or a policy or mode) with the session is refused, naming the fields.
    const forged = await s.post('/v1/evaluate', { ...push, agent, policy: POLICY, mode: 'strict' });
    expect(forged.status).toBe(400);
    expect(errorOf(forged).message).toContain('body.session cannot be sent with body.agent, body.policy, body.mode');
    expect((await s.get(`/v1/sessions/${session_id}`)).body.agent).toEqual({ secrecy: [], integrity: [] });
  });

  it('the response check refuses client-sent operation/resource and uses what the service decided', async () => {
    const { session_id } = await session({ guard: 'github', policy: POLICY, mode: 'filter' });
    const secretArgs = { owner: 'octo-org', repo: 'secret' };
    const SECRET_ISSUES = { items: [{ number: 1, title: 'launch codes', author_association: 'MEMBER', html_url: 'https://github.com/octo-org/secret/issues/1' }] };
    // The attack of issue 19: a client-supplied resource for a private repository.
    const lie = await s.post('/v1/evaluate/response', {
      session: session_id,
      tool: 'list_issues',
      args: secretArgs,
      result: SECRET_ISSUES,
      operation: 'read',
      resource: { secrecy: [], integrity: ['approved:github', 'unapproved:github'], description: 'lie' },
    });
    expect(lie.status).toBe(400);
    expect(errorOf(lie).message).toContain('body.operation, body.resource');

    // Without a decision_id the service labels the call itself: the private issue is withheld.
    const relabelled = await s.post('/v1/evaluate/response', { session: session_id, tool: 'list_issues', args: secretArgs, result: SECRET_ISSUES });
    expect(relabelled.status, relabelled.text).toBe(200);
    expect(JSON.stringify(relabelled.body.result ?? null)).not.toContain('launch codes');

    // With the decision_id of /v1/evaluate, label_resource does not run again.
    const decided = await s.post('/v1/evaluate', { session: session_id, tool: 'list_issues', args: APP });
    const calls = await labelCalls('label_resource');
    const checked = await s.post('/v1/evaluate/response', { session: session_id, tool: 'list_issues', args: APP, result: ISSUES, decision_id: decided.body.decision_id });
    expect(checked.status).toBe(200);
    expect(checked.body.filtered.map((f: { path: string }) => f.path)).toEqual(['/items/1']);
    expect(await labelCalls('label_resource')).toBe(calls);

    // A decision made for other arguments (or another session) is not used: the call is labelled again.
    const other = await session({ guard: 'github', policy: POLICY, mode: 'filter' });
    const reused = await s.post('/v1/evaluate/response', { session: other.session_id, tool: 'list_issues', args: secretArgs, result: SECRET_ISSUES, decision_id: decided.body.decision_id });
    expect(reused.status).toBe(200);
    expect(JSON.stringify(reused.body.result ?? null)).not.toContain('launch codes');
    expect(await labelCalls('label_resource')).toBe(calls + 1);
  });

  it('without a session the old fields keep working; decision_id alone is refused', async () => {
    const stateless = await s.post('/v1/evaluate/response', {
      guard: 'github', tool: 'list_issues', args: APP, policy: POLICY, result: ISSUES, operation: 'read', resource: { secrecy: [], integrity: [] },
    });
    expect(stateless.status).toBe(200);
    const orphan = await s.post('/v1/evaluate/response', { guard: 'github', tool: 'list_issues', result: ISSUES, decision_id: '6f1c2d1e-3b7a-4c55-9a43-0d6a8e1f2b10' });
    expect(orphan.status).toBe(400);
    expect(errorOf(orphan).message).toContain('body.decision_id');
    const noGuard = await s.post('/v1/evaluate', { tool: 'list_issues' });
    expect(noGuard.status).toBe(400);
    expect(errorOf(noGuard).message).toContain('"guard"');
  });

  it("a guard that is not the session's is 400; an unknown session is 404 deny", async () => {
    const { session_id } = await session({ guard: 'static' });
    const wrong = await s.post('/v1/evaluate', { session: session_id, guard: 'github', tool: 'x' });
    expect(wrong.status).toBe(400);
    expect(errorOf(wrong).message).toContain('body.guard "github" is not the session\'s guard "static"');
    const unknown = await s.post('/v1/evaluate', { session: 'AAAAAAAAAAAAAAAAAAAAAA', tool: 'x' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.decision).toBe('deny');
  });

  it('concurrent propagating reads of one session lose no taint', async () => {
    const n = 24;
    const integrity = Array.from({ length: n }, (_, i) => `i${i}`);
    const { session_id } = await session({ guard: 'static', policy: { agent: { secrecy: [], integrity }, mode: 'propagate' } });
    // Read k adds secrecy s{k} and lacks integrity i{k}.
    const replies = await Promise.all(
      Array.from({ length: n }, (_, k) =>
        s.post('/v1/evaluate/response', {
          session: session_id,
          tool: 'read_thing',
          result: { items: [{ v: k, _labels: { secrecy: [`s${k}`], integrity: integrity.filter((t) => t !== `i${k}`) } }] },
        }),
      ),
    );
    expect(replies.map((r) => r.status)).toEqual(Array(n).fill(200));
    const final = await s.get(`/v1/sessions/${session_id}`);
    expect(final.body.agent.integrity).toEqual([]);
    expect([...final.body.agent.secrecy].sort()).toEqual(Array.from({ length: n }, (_, k) => `s${k}`).sort());
    expect(final.body.changes).toBe(n);
  });
});

describe('lock: true in the configuration', () => {
  it('refuses another policy, a mode or agent labels with 403, everywhere', async () => {
    const grantAll = { 'allow-only': { repos: 'all', 'min-integrity': 'none' } };
    for (const [path, body] of [
      ['/v1/evaluate', { guard: 'locked', tool: 'get_repository', args: { repo: 'octo-org/secret' }, policy: grantAll }],
      ['/v1/evaluate/response', { guard: 'locked', tool: 'list_issues', result: ISSUES, policy: grantAll }],
      ['/v1/agents/label', { guard: 'locked', policy: grantAll }],
      ['/v1/sessions', { guard: 'locked', policy: grantAll }],
      ['/v1/sessions', { guard: 'locked', mode: 'propagate' }],
      ['/v1/evaluate', { guard: 'locked', tool: 'get_repository', mode: 'strict' }],
      ['/v1/evaluate', { guard: 'locked', tool: 'get_repository', agent: { secrecy: ['*'], integrity: [] } }],
    ] as const) {
      const reply = await s.post(path, body);
      expect(reply.status, `${path} ${JSON.stringify(body)}`).toBe(403);
      expect(errorOf(reply).code).toBe('WG_ERR_POLICY_LOCKED');
    }
  });

  it('accepts the configured policy and mode, sent again or left out', async () => {
    expect((await s.post('/v1/agents/label', { guard: 'locked', policy: { 'allow-only': { 'min-integrity': 'approved', repos: 'public', 'public-repos': ['octo-org/app'] } } })).status).toBe(200);
    const evaluated = await s.post('/v1/evaluate', { guard: 'locked', tool: 'get_repository', args: { repo: 'octo-org/secret' }, mode: 'filter' });
    expect(evaluated.body).toMatchObject({ decision: 'allow', check_response: true, agent: { secrecy: [] } });
    const created = await session({ guard: 'locked' });
    expect(created.mode).toBe('filter');
  });
});
