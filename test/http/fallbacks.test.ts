/**
 * The fallbacks of docs/contract.md §4, over real HTTP with the Rust guard
 * (whose label_resource description names the policy the serving instance
 * holds, and whose `stats` hook counts label_agent calls):
 * policy → the guard's configured policy; agent → label_agent's labels;
 * mode → request > guard config > label_agent's difc_mode > server default;
 * no policy at all → no label_agent, empty agent, server default mode, and
 * an instance that never ran label_agent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUST_GUARD, STATIC_GUARD, startService, type TestService } from '../support/server.js';

const DEFAULT_POLICY = { 'allow-only': { repos: ['acme/x'], 'min-integrity': 'approved' }, difc_mode: 'strict' };
const DEFAULT_POLICY_TEXT = '{"min-integrity":"approved","repos":["acme/x"]}';
const ALL_POLICY = { 'allow-only': { repos: 'all' } };
const ALL_POLICY_TEXT = '{"min-integrity":"none","repos":"all"}';

let s: TestService;

beforeAll(async () => {
  s = await startService({
    // Not the built-in "strict": a test seeing "propagate" knows the server default was used.
    server: { defaultMode: 'propagate' },
    guards: [
      { name: 'rust', path: RUST_GUARD },
      { name: 'rust-default-policy', path: RUST_GUARD, policy: DEFAULT_POLICY },
      { name: 'rust-mode', path: RUST_GUARD, policy: DEFAULT_POLICY, mode: 'filter' },
      { name: 'static', path: STATIC_GUARD },
    ],
  });
});
afterAll(() => s?.close());

const evaluate = (body: Record<string, unknown>) => s.post('/v1/evaluate', { tool: 'get_issue', args: { owner: 'acme', repo: 'x' }, ...body });

interface Stats {
  label_agent_calls: number;
  policy_set: boolean;
  instance_id: string;
}
async function stats(guard: string, extra: Record<string, unknown> = {}): Promise<Stats> {
  const reply = await s.post('/v1/evaluate', { guard, tool: 'stats', ...extra });
  expect(reply.status, reply.text).toBe(200);
  return JSON.parse(reply.body.resource.description) as Stats;
}

describe('policy', () => {
  it("falls back to the guard's configured default policy", async () => {
    const reply = await evaluate({ guard: 'rust-default-policy' });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.body.resource.description).toBe(`get_issue repo acme/x under policy ${DEFAULT_POLICY_TEXT}`);
  });

  it('is replaced by the request policy', async () => {
    const reply = await evaluate({ guard: 'rust-default-policy', policy: ALL_POLICY });
    expect(reply.body.resource.description).toBe(`get_issue repo acme/x under policy ${ALL_POLICY_TEXT}`);
    expect(reply.body.agent).toEqual({ secrecy: ['*'], integrity: [] });
  });

  it('falls back to the default policy in /v1/evaluate/response too', async () => {
    const reply = await s.post('/v1/evaluate/response', {
      guard: 'rust-default-policy',
      tool: 'list_issues',
      args: { owner: 'acme', repo: 'x' },
      result: { items: [{ author_association: 'MEMBER' }, { author_association: 'NONE' }] },
    });
    expect(reply.status, reply.text).toBe(200);
    // label_agent of the default policy gives integrity approved:acme and mode strict: the untrusted item blocks the result.
    expect(reply.body).toMatchObject({ decision: 'deny', mode: 'strict', agent: { secrecy: ['private:acme/x'], integrity: ['approved:acme'] } });
    expect(reply.body.result).toBeNull();
  });
});

describe('agent', () => {
  it('falls back to the labels label_agent gives for the policy', async () => {
    const label = await s.post('/v1/agents/label', { guard: 'rust', policy: DEFAULT_POLICY });
    const reply = await evaluate({ guard: 'rust', policy: DEFAULT_POLICY });
    expect(reply.body.agent).toEqual(label.body.agent);
    expect(reply.body.agent).toEqual({ secrecy: ['private:acme/x'], integrity: ['approved:acme'] });
  });

  it('is the request agent when given, and decides with it', async () => {
    const agent = { secrecy: [], integrity: [] };
    // The default policy's agent may read private acme/x; the request's public agent may not.
    const withDefault = await evaluate({ guard: 'rust-default-policy', args: { owner: 'acme', repo: 'x', private: true, test_labels: { integrity: ['approved:acme'] } } });
    expect(withDefault.body.decision).toBe('allow');
    expect(withDefault.body.reason).toBeUndefined();
    const withRequest = await evaluate({
      guard: 'rust-default-policy',
      agent,
      args: { owner: 'acme', repo: 'x', private: true, test_labels: { integrity: ['approved:acme'] } },
    });
    expect(withRequest.body.agent).toEqual(agent);
    // A read the agent's labels do not cover: it may proceed only with a per-item response check.
    expect(withRequest.body).toMatchObject({ decision: 'allow', check_response: true });
    expect(withRequest.body.reason).toMatch(/needs a per-item response check: agent secrecy lacks \[private:acme\/x\]/);
  });
});

describe('mode: request > guard config > label_agent difc_mode > server default', () => {
  it('request mode wins over everything', async () => {
    expect((await evaluate({ guard: 'rust-mode', mode: 'propagate' })).body.mode).toBe('propagate');
    expect((await evaluate({ guard: 'rust', mode: 'strict' })).body.mode).toBe('strict');
  });

  it("the guard's configured mode wins over label_agent's difc_mode", async () => {
    expect((await evaluate({ guard: 'rust-mode' })).body.mode).toBe('filter');
    const label = await s.post('/v1/agents/label', { guard: 'rust-mode', policy: DEFAULT_POLICY });
    expect(label.body.mode).toBe('filter');
  });

  it("label_agent's difc_mode wins over the server default", async () => {
    expect((await evaluate({ guard: 'rust-default-policy' })).body.mode).toBe('strict');
    // The Rust guard's difc_mode is "filter" when the policy does not set one.
    expect((await evaluate({ guard: 'rust', policy: ALL_POLICY })).body.mode).toBe('filter');
    expect((await s.post('/v1/agents/label', { guard: 'rust', policy: ALL_POLICY })).body.mode).toBe('filter');
  });

  it('the server default applies when label_agent gives no difc_mode', async () => {
    const label = await s.post('/v1/agents/label', { guard: 'static', policy: { agent: { secrecy: ['s'], integrity: [] } } });
    expect(label.status, label.text).toBe(200);
    expect(label.body.mode).toBe('propagate');
    const reply = await s.post('/v1/evaluate', { guard: 'static', tool: 'anything', policy: { agent: { secrecy: ['s'], integrity: [] } } });
    expect(reply.body).toMatchObject({ mode: 'propagate', agent: { secrecy: ['s'], integrity: [] } });
  });
});

describe('no policy at all', () => {
  it('does not call label_agent: empty agent, server default mode, built-in labelling', async () => {
    const reply = await evaluate({ guard: 'rust' });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.body).toMatchObject({
      mode: 'propagate',
      agent: { secrecy: [], integrity: [] },
      resource: { description: 'get_issue repo acme/x under policy none' },
    });
    const after = await stats('rust');
    expect(after.policy_set).toBe(false);
    expect(after.label_agent_calls).toBe(0);
  });

  it('is an instance state of its own: a no-policy request after policy requests labels under no policy', async () => {
    // One instance: every request below runs on it.
    const sequence: Array<[Record<string, unknown> | undefined, string]> = [
      [DEFAULT_POLICY, DEFAULT_POLICY_TEXT],
      [undefined, 'none'],
      [ALL_POLICY, ALL_POLICY_TEXT],
      [ALL_POLICY, ALL_POLICY_TEXT],
      [undefined, 'none'],
      [undefined, 'none'],
      [DEFAULT_POLICY, DEFAULT_POLICY_TEXT],
      [undefined, 'none'],
    ];
    for (const [policy, text] of sequence) {
      const reply = await evaluate({ guard: 'rust', ...(policy ? { policy } : {}) });
      expect(reply.status, reply.text).toBe(200);
      expect(reply.body.resource.description).toBe(`get_issue repo acme/x under policy ${text}`);
      expect(reply.body.mode).toBe(policy ? (policy === DEFAULT_POLICY ? 'strict' : 'filter') : 'propagate');
    }
    // The no-policy instance has never run label_agent.
    const fresh = await stats('rust');
    expect(fresh).toMatchObject({ policy_set: false, label_agent_calls: 0 });
  });

  it('after a policy the guard refused, a no-policy request still labels under no policy', async () => {
    await evaluate({ guard: 'rust', policy: ALL_POLICY });
    const refused = await evaluate({ guard: 'rust', policy: { 'allow-only': { repos: 7 } } });
    expect(refused.status).toBe(422);
    expect((await evaluate({ guard: 'rust' })).body.resource.description).toBe('get_issue repo acme/x under policy none');
    // And the accepted policy is applied again after it.
    expect((await evaluate({ guard: 'rust', policy: ALL_POLICY })).body.resource.description).toBe(
      `get_issue repo acme/x under policy ${ALL_POLICY_TEXT}`,
    );
  });

  it('applies to /v1/evaluate/response: labels under no policy, agent empty, server default mode', async () => {
    const reply = await s.post('/v1/evaluate/response', {
      guard: 'rust',
      tool: 'list_issues',
      args: { owner: 'acme', repo: 'x' },
      result: { items: [{ author_association: 'MEMBER' }, { author_association: 'NONE', private: true, full_name: 'acme/y' }] },
    });
    expect(reply.status, reply.text).toBe(200);
    // propagate: nothing removed; the agent reads a private item and gains its secrecy; the org before any policy is octo-org.
    expect(reply.body).toMatchObject({ decision: 'allow', mode: 'propagate', filtered: [], agent: { secrecy: ['private:acme/y'], integrity: [] } });
    expect(reply.body.labels.map((l: { integrity: string[] }) => l.integrity)).toEqual([['approved:octo-org'], []]);
  });
});

describe('operation and resource in /v1/evaluate/response', () => {
  const base = { guard: 'rust', tool: 'get_file', args: { owner: 'acme', repo: 'x' }, result: 'plain text', mode: 'strict', agent: { secrecy: [], integrity: [] } };

  it('are used as given, without labelling the resource again', async () => {
    // The guard would label acme/x public; the given resource says it is secret, and a result without
    // fine-grained labels falls back to the resource labels.
    const reply = await s.post('/v1/evaluate/response', { ...base, operation: 'read', resource: { secrecy: ['private:acme/x'], integrity: [] } });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.body).toMatchObject({ decision: 'deny', result: null, operation: 'read' });
    expect(reply.body.labels).toEqual([expect.objectContaining({ source: 'resource', secrecy: ['private:acme/x'], allowed: false })]);
  });

  it('are labelled again when omitted', async () => {
    const reply = await s.post('/v1/evaluate/response', base);
    expect(reply.status, reply.text).toBe(200);
    expect(reply.body).toMatchObject({ decision: 'allow', result: 'plain text', operation: 'read' });
  });

  it('a write result the agent may read is returned whole, judged as one part', async () => {
    const reply = await s.post('/v1/evaluate/response', { ...base, tool: 'create_issue', result: { number: 7 } });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.body).toMatchObject({ decision: 'allow', result: { number: 7 }, operation: 'write', filtered: [] });
    expect(reply.body.labels).toEqual([expect.objectContaining({ path: '', kind: 'result', allowed: true })]);
  });
});
