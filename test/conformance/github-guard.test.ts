/**
 * Conformance with the compatible gateway: its real github guard
 * (gh-aw-mcpg at db205411, unchanged in behaviour) through the HTTP API,
 * with a backend (the real MCP bridge to an MCP server on 127.0.0.1 that
 * answers search_repositories and get_collaborator_permission) and without.
 * Cases follow the guard's documented rules (guards/github-guard/rust-guard
 * in that source: tool_rules.rs, response_items.rs, response_paths.rs,
 * helpers.rs): a repository the backend cannot place is private; issues take
 * integrity from author association, raised by collaborator permission;
 * writes and secret/variable writes are writes; search results are labelled
 * per repository; single objects come back in the older items form.
 *
 * Runs when WASMGUARD_REAL_GUARDS_DIR is set (.ci/run sets it); see real-guards.ts.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResolvedConfig } from '../../src/config/load.js';
import { createService, type Service } from '../../src/service/service.js';
import { startSdkMcpServer, type SdkMcpServer } from '../backend/helpers/sdk-mcp-server.js';
import { testConfig } from '../support/server.js';
import { GITHUB_GUARD, locateRealGuard } from './real-guards.js';

const located = locateRealGuard(GITHUB_GUARD);
if ('skip' in located) console.warn(`[conformance] skipped: ${located.skip}`);
if ('fail' in located) {
  it('finds the real guard the conformance suite runs against', () => {
    throw new Error(located.fail);
  });
}
const guardPath = 'path' in located ? located.path : '';

/** The policy of the README's walk-through: public repositories, approved integrity. */
const POLICY = { 'allow-only': { repos: 'public', 'min-integrity': 'approved' } };
const APP = { owner: 'octo-org', repo: 'app' };
const GITHUB = {
  repos: { 'octo-org/app': false, 'octo-org/vault': true },
  permissions: { 'octo-org/app:octo-admin': 'admin' },
};
const issue = (number: number, login: string, association: string) => ({ number, title: `issue ${number}`, author_association: association, user: { login } });
const mcpText = (value: unknown) => ({ content: [{ type: 'text', text: JSON.stringify(value) }] });
const TRUSTED_BOT = 'helper-bot';

describe.skipIf(!('path' in located))('the real github guard of the compatible gateway, over HTTP', () => {
  let mcp: SdkMcpServer;
  let service: Service;
  let url: string;

  const post = async (path: string, body: unknown) => {
    const response = await fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: response.status, body: (await response.json()) as any };
  };
  const evaluate = (guard: string, tool: string, args: unknown, policy: unknown = POLICY) => post('/v1/evaluate', { guard, tool, args, policy });
  const respond = (guard: string, tool: string, args: unknown, result: unknown, more: Record<string, unknown> = {}) =>
    post('/v1/evaluate/response', { guard, tool, args, result, policy: POLICY, ...more });

  beforeAll(async () => {
    mcp = await startSdkMcpServer({ github: GITHUB });
    const base = testConfig({
      guards: [
        { name: 'github', path: guardPath, backend: 'gh' },
        { name: 'github-alone', path: guardPath },
        { name: 'github-bots', path: guardPath, backend: 'gh', trustedBots: [TRUSTED_BOT] },
      ],
    });
    const config: ResolvedConfig = {
      ...base,
      backends: { gh: { type: 'mcp', url: mcp.url, timeoutMs: 5000, tools: ['search_repositories', 'get_collaborator_permission'] } },
    };
    // Load shedding is not under test; a busy machine must not turn these calls into 503s.
    service = await createService(config, { logger: pino({ level: 'silent' }), pressure: { maxEventLoopDelayMs: 60_000 } });
    url = await service.app.listen({ host: '127.0.0.1', port: 0 });
    // The event-loop monitor reports no sample as pressure for its first interval: wait for readiness (bounded).
    for (let i = 0; i < 400 && (await fetch(`${url}/readyz`)).status !== 200; i++) await new Promise((r) => setTimeout(r, 25));
  }, 60_000);
  afterAll(async () => {
    await service?.close();
    await mcp?.close();
  });

  describe('label_agent', () => {
    it('labels an agent for a valid policy with the mode and normalised policy the guard gives', async () => {
      const reply = await post('/v1/agents/label', { guard: 'github', policy: POLICY });
      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({
        agent: { secrecy: [], integrity: ['none:public', 'unapproved:public', 'approved:public'] },
        mode: 'filter',
        normalized_policy: { scope_kind: 'Public', 'min-integrity': 'approved' },
        guard_digest: expect.stringMatching(/^[0-9a-f]{64}$/),
      });
      const scoped = await post('/v1/agents/label', { guard: 'github', policy: { 'allow-only': { repos: ['octo-org/*'], 'min-integrity': 'none' } } });
      expect(scoped.status).toBe(200);
      expect(scoped.body.agent.secrecy).toEqual(expect.arrayContaining([expect.stringContaining('octo-org')]));
    });

    it.each([
      ['an unknown repos keyword', { 'allow-only': { repos: 'everything', 'min-integrity': 'approved' } }],
      ['a scoped entry without a slash', { 'allow-only': { repos: ['octo-org'], 'min-integrity': 'approved' } }],
      ['an unknown min-integrity', { 'allow-only': { repos: 'public', 'min-integrity': 'trusted' } }],
      ['no allow-only object', { repos: 'public' }],
    ])('rejects %s with 422, and keeps serving', async (_name, policy) => {
      const reply = await post('/v1/agents/label', { guard: 'github', policy });
      expect(reply.status).toBe(422);
      expect(reply.body).toMatchObject({ decision: 'deny', error: { code: 'WG_ERR_POLICY_REJECTED' } });
      expect((await post('/v1/agents/label', { guard: 'github', policy: POLICY })).status).toBe(200);
    });
  });

  describe('label_resource, tool by tool', () => {
    it('repository reads: public when the backend finds the repository public, private when it is private or cannot be asked', async () => {
      const args = { ...APP, path: 'README.md' };
      const pub = await evaluate('github', 'get_file_contents', args);
      expect(pub.body).toMatchObject({ decision: 'allow', operation: 'read', resource: { secrecy: [], description: 'resource:get_file_contents' } });
      const vault = await evaluate('github', 'get_file_contents', { ...args, repo: 'vault' });
      expect(vault.body).toMatchObject({ decision: 'allow', operation: 'read', check_response: true, resource: { secrecy: ['private'] } });
      const alone = await evaluate('github-alone', 'get_file_contents', args);
      expect(alone.body).toMatchObject({ operation: 'read', check_response: true, resource: { secrecy: ['private'] } });
      expect(mcp.calls.get('search_repositories')).toBeGreaterThan(0);
    });

    it('issues: a read whose items need the response check (integrity comes from each author)', async () => {
      const reply = await evaluate('github', 'issue_read', { method: 'get', ...APP, issue_number: 7 });
      expect(reply.body).toMatchObject({ decision: 'allow', operation: 'read', check_response: true, resource: { description: 'issue:octo-org/app#7', integrity: ['none:public'] } });
      const list = await evaluate('github', 'list_issues', APP);
      expect(list.body).toMatchObject({ decision: 'allow', operation: 'read', check_response: true });
    });

    it('writes, secrets and variables are writes', async () => {
      for (const tool of ['create_issue', 'set_secret', 'delete_variable']) {
        const reply = await evaluate('github', tool, { ...APP, title: 't', name: 'N' });
        expect(reply.body, tool).toMatchObject({ operation: 'write', resource: { description: `resource:${tool}` } });
      }
      const rw = await evaluate('github', 'merge_pull_request', { ...APP, pullNumber: 3 });
      expect(rw.body.operation).toBe('read-write');
    });

    it('search and unknown tools: reads the guard labels by its own defaults', async () => {
      const search = await evaluate('github', 'search_code', { query: 'foo' });
      expect(search.body).toMatchObject({ operation: 'read', resource: { secrecy: [], description: 'resource:search_code' } });
      const unknown = await evaluate('github', 'frobnicate', {});
      expect(unknown.body).toMatchObject({ operation: 'read', check_response: true, resource: { description: 'resource:frobnicate', integrity: ['none:public'] } });
    });
  });

  describe('label_response', () => {
    const issues = [issue(7, 'member', 'MEMBER'), issue(8, 'mallory', 'NONE'), issue(9, 'octo-admin', 'NONE')];

    it('lists: items filtered by author association, an admin raised by get_collaborator_permission through the backend', async () => {
      const reply = await respond('github', 'list_issues', APP, issues);
      expect(reply.body.decision).toBe('allow');
      expect(reply.body.result.map((i: { number: number }) => i.number)).toEqual([7, 9]);
      expect(reply.body.filtered).toEqual([expect.objectContaining({ path: '/1', description: 'issue:octo-org/app#8', integrity_violation: true })]);
      expect(reply.body.notice).toMatch(/^\[Filtered\] 1 item\(s\) in this response were removed by integrity policy and are not shown: issue:octo-org\/app#8 \(/);
      expect(mcp.calls.get('get_collaborator_permission')).toBeGreaterThan(0);
      // Without a backend nobody can vouch for the admin.
      const alone = await respond('github-alone', 'list_issues', APP, issues, { policy: { 'allow-only': { repos: 'all', 'min-integrity': 'approved' } } });
      expect(alone.body.result.map((i: { number: number }) => i.number)).toEqual([7]);
    });

    it('MCP-wrapped lists: filtered inside the text, the envelope kept', async () => {
      const reply = await respond('github', 'list_issues', APP, mcpText({ issues }));
      expect(reply.body.decision).toBe('allow');
      expect(JSON.parse(reply.body.result.content[0].text).issues.map((i: { number: number }) => i.number)).toEqual([7, 9]);
      expect(reply.body.filtered.map((f: { path: string }) => f.path)).toEqual(['/issues/1']);
    });

    it('search results: a private repository is withheld from a public-only agent', async () => {
      const found = { total_count: 2, incomplete_results: false, items: [{ full_name: 'octo-org/app', private: false }, { full_name: 'octo-org/vault', private: true }] };
      const reply = await respond('github', 'search_repositories', { query: 'org:octo-org' }, mcpText(found));
      expect(reply.body.decision).toBe('allow');
      expect(JSON.parse(reply.body.result.content[0].text).items).toEqual([found.items[0]]);
      expect(reply.body.filtered).toEqual([expect.objectContaining({ path: '/items/1', secrecy_violation: true, description: 'repo:octo-org/vault' })]);
    });

    it('single objects (older items form): kept whole as the object, or withheld whole with the reason and the notice', async () => {
      const args = { method: 'get', ...APP, issue_number: 7 };
      const kept = await respond('github', 'issue_read', args, issues[0]);
      expect(kept.body).toMatchObject({ decision: 'allow', result: issues[0], filtered: [] });
      expect(kept.body.labels).toEqual([expect.objectContaining({ path: '', kind: 'result', allowed: true, description: 'issue:octo-org/app#7' })]);

      const withheld = await respond('github', 'issue_read', { ...args, issue_number: 8 }, mcpText(issues[1]));
      expect(withheld.body).toMatchObject({ decision: 'deny', result: null });
      expect(withheld.body.filtered).toEqual([expect.objectContaining({ path: '', description: 'issue:octo-org/app#8', integrity_violation: true })]);
      expect(withheld.body.reason).toMatch(/^response denied in filter mode: read of 'issue:octo-org\/app#8' denied/);
      expect(withheld.body.notice).toMatch(/^\[Filtered\] issue:octo-org\/app#8 exists but is not accessible — filtered by integrity policy \(/);

      const wrapped = await respond('github', 'issue_read', args, mcpText(issues[0]));
      expect(wrapped.body).toMatchObject({ decision: 'allow', result: mcpText(issues[0]) });
    });

    it('propagate: the object is returned and the agent takes its labels', async () => {
      const reply = await respond('github', 'issue_read', { method: 'get', ...APP, issue_number: 8 }, issues[1], { mode: 'propagate' });
      expect(reply.body).toMatchObject({ decision: 'allow', result: issues[1] });
      expect(reply.body.agent.integrity).not.toContain('approved:public');
    });
  });

  describe('host behaviours', () => {
    it('trusted-bots from the guard configuration reach label_agent: the bot is trusted there only', async () => {
      const items = [issue(5, TRUSTED_BOT, 'NONE')];
      const trusted = await respond('github-bots', 'list_issues', APP, items);
      expect(trusted.body.result).toEqual(items);
      const plain = await respond('github', 'list_issues', APP, items);
      expect(plain.body.result).toEqual([]);
    });
  });
});
