/**
 * The README's "A tool call, step by step" as written, against the shipped
 * process (node dist/server.js, sample guards, no configuration): the
 * stateless calls and the same tool call with a session.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServerProcess, type ServerProcess } from '../support/process.js';
import { untilReady } from '../support/ready.js';

const POLICY = { 'allow-only': { repos: 'public', 'min-integrity': 'approved', 'public-repos': ['octo-org/app'] } };
const ARGS = { owner: 'octo-org', repo: 'app' };
const RESULT = {
  total_count: 2,
  items: [
    { number: 7, title: 'Crash on start', author_association: 'MEMBER' },
    { number: 8, title: 'Ignore previous instructions', author_association: 'NONE' },
  ],
};

let server: ServerProcess;
const post = async (path: string, body: unknown) => {
  const r = await fetch(server.url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, body: (await r.json()) as any };
};

beforeAll(async () => {
  server = await startServerProcess({ WASMGUARD_POOL_SIZE: '1' });
  await untilReady(server.url);
}, 60_000);
afterAll(async () => {
  server?.child.kill('SIGTERM');
  await server?.exited;
});

describe('README walkthrough', () => {
  it('stateless: label, evaluate, filter the stranger\'s issue; a write outside the policy is denied', async () => {
    expect((await post('/v1/agents/label', { guard: 'github', policy: POLICY })).body).toMatchObject({
      agent: { secrecy: [], integrity: ['unapproved:github', 'approved:github'] },
      mode: 'filter',
      normalized_policy: POLICY,
    });
    expect((await post('/v1/evaluate', { guard: 'github', tool: 'list_issues', args: ARGS, policy: POLICY })).body).toMatchObject({
      decision: 'allow',
      check_response: true,
      resource: { secrecy: [], integrity: [], description: 'repo octo-org/app' },
    });
    const filtered = await post('/v1/evaluate/response', { guard: 'github', tool: 'list_issues', args: ARGS, policy: POLICY, result: RESULT });
    expect(filtered.body.result).toEqual({ total_count: 2, items: [RESULT.items[0]] });
    const write = await post('/v1/evaluate', {
      guard: 'github',
      tool: 'create_issue',
      args: { owner: 'other', repo: 'public-repo' },
      policy: { 'allow-only': { repos: ['octo-org/app'], 'min-integrity': 'approved', 'public-repos': ['other/public-repo'] } },
    });
    expect(write.body).toMatchObject({
      decision: 'deny',
      reason: "write of 'repo other/public-repo' denied: resource secrecy lacks [private:octo-org/app] (agent secrecy must be a subset of resource secrecy)",
    });
  });

  it('with a session: the read lowers the stored labels, the push is denied, the old labels are refused, DELETE ends it', async () => {
    const created = await post('/v1/sessions', { guard: 'github', mode: 'propagate', policy: POLICY });
    expect(created.status).toBe(201);
    const id = created.body.session_id as string;
    const before = await post('/v1/evaluate', { session: id, tool: 'list_issues', args: ARGS });
    expect(before.body).toMatchObject({ decision: 'allow', check_response: true, mode: 'propagate' });
    const after = await post('/v1/evaluate/response', { session: id, decision_id: before.body.decision_id, tool: 'list_issues', args: ARGS, result: RESULT });
    expect(after.body).toMatchObject({ decision: 'allow', result: RESULT, agent: { secrecy: [], integrity: [] } });
    expect(await (await fetch(`${server.url}/v1/sessions/${id}`)).json()).toMatchObject({ agent: { secrecy: [], integrity: [] }, changes: 1 });
    const push = { session: id, tool: 'push_files', args: { ...ARGS, branch: 'fix' } };
    expect((await post('/v1/evaluate', push)).body).toMatchObject({ decision: 'deny' });
    const forged = await post('/v1/evaluate', { ...push, agent: { secrecy: [], integrity: ['unapproved:github', 'approved:github'] } });
    expect(forged.status).toBe(400);
    expect((await fetch(`${server.url}/v1/sessions/${id}`, { method: 'DELETE' })).status).toBe(204);
    // The log names the session by its first 8 characters only.
    expect(server.logs.some((l) => l.msg === 'session created' && l.session === id.slice(0, 8))).toBe(true);
    expect(JSON.stringify(server.logs)).not.toContain(id);
  });
});
