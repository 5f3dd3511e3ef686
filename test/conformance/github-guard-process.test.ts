/**
 * The shipped process (node dist/server.js, configured by a YAML file as an
 * operator would) with the gateway's real github guard: repository
 * visibility from an MCP backend, and get_collaborator_permission — which the
 * gateway answers from the GitHub REST API, not from its MCP server — served
 * by a second, plain-HTTP backend through `toolBackends`. Trusted bots come
 * from the guard's configuration.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { sendJson, startRawServer, type RawServer } from '../backend/helpers/raw-server.js';
import { startSdkMcpServer, type SdkMcpServer } from '../backend/helpers/sdk-mcp-server.js';
import { startServerProcess, type ServerProcess } from '../support/process.js';
import { GITHUB_GUARD, locateRealGuard } from './real-guards.js';

const located = locateRealGuard(GITHUB_GUARD);
if ('fail' in located) {
  it('finds the real guard the conformance suite runs against', () => {
    throw new Error(located.fail);
  });
}

const POLICY = { 'allow-only': { repos: 'public', 'min-integrity': 'approved' } };
const APP = { owner: 'octo-org', repo: 'app' };
const issue = (number: number, login: string) => ({ number, title: `issue ${number}`, author_association: 'NONE', user: { login } });

describe.skipIf(!('path' in located))('node dist/server.js with the real github guard and two backends', () => {
  let mcp: SdkMcpServer;
  let rest: RawServer;
  let server: ServerProcess;

  beforeAll(async () => {
    // The MCP server knows the repository but has no permission data: only the REST-style backend can vouch for the admin.
    mcp = await startSdkMcpServer({ github: { repos: { 'octo-org/app': false }, permissions: {} } });
    rest = await startRawServer((req, res) => {
      const { tool, args } = req.json as { tool: string; args: { owner: string; repo: string; username: string } };
      if (tool !== 'get_collaborator_permission') return sendJson(res, 404, { error: `unknown tool ${tool}` });
      const permission = `${args.owner}/${args.repo}:${args.username}` === 'octo-org/app:octo-admin' ? 'admin' : 'read';
      // The gateway's shape: the REST body in an MCP text block.
      sendJson(res, 200, { content: [{ type: 'text', text: JSON.stringify({ permission, user: { login: args.username } }) }] });
    });
    const dir = mkdtempSync(join(tmpdir(), 'wg-conformance-'));
    const config = join(dir, 'wasmguard.yaml');
    writeFileSync(
      config,
      stringify({
        server: { logLevel: 'info' },
        guards: {
          github: {
            path: 'path' in located ? located.path : '',
            poolSize: 1,
            timeoutMs: 5000,
            mode: 'filter',
            backend: 'github-mcp',
            toolBackends: { get_collaborator_permission: 'github-rest' },
            trustedBots: ['helper-bot'],
          },
        },
        backends: {
          'github-mcp': { type: 'mcp', url: mcp.url, tools: ['search_repositories'] },
          'github-rest': { type: 'http', url: `${rest.origin}/tools`, tools: ['get_collaborator_permission'] },
        },
      }),
    );
    server = await startServerProcess({ WASMGUARD_CONFIG: config });
    for (let i = 0; i < 400 && (await fetch(`${server.url}/readyz`)).status !== 200; i++) await new Promise((r) => setTimeout(r, 25));
  }, 60_000);
  afterAll(async () => {
    server?.child.kill('SIGTERM');
    await server?.exited;
    await mcp?.close();
    await rest?.close();
  });

  it('filters a list by author, vouched for through the backends, and offers the notice', async () => {
    const items = [issue(8, 'mallory'), issue(9, 'octo-admin'), issue(10, 'helper-bot')];
    const response = await fetch(`${server.url}/v1/evaluate/response`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ guard: 'github', tool: 'list_issues', args: APP, policy: POLICY, result: items }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as any;
    expect(body.result.map((i: { number: number }) => i.number)).toEqual([9, 10]);
    expect(body.filtered).toEqual([expect.objectContaining({ path: '/0', description: 'issue:octo-org/app#8' })]);
    expect(body.notice).toMatch(/^\[Filtered\] 1 item\(s\) in this response were removed by integrity policy/);
    expect(rest.requests.map((r) => (r.json as { tool: string }).tool)).toContain('get_collaborator_permission');
    expect(mcp.calls.get('get_collaborator_permission')).toBeUndefined();
  });

  it('a single object comes back whole, as the object', async () => {
    const item = { number: 7, title: 'ok', author_association: 'MEMBER', user: { login: 'member' } };
    const response = await fetch(`${server.url}/v1/evaluate/response`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ guard: 'github', tool: 'issue_read', args: { method: 'get', ...APP, issue_number: 7 }, policy: POLICY, result: item }),
    });
    expect(await response.json()).toMatchObject({ decision: 'allow', result: item, filtered: [] });
  });
});
