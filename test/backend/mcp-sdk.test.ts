/**
 * McpBackend against a real MCP server made with the official TypeScript SDK,
 * over real HTTP on 127.0.0.1, in both reply modes the SDK server has
 * (text/event-stream and application/json).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSdkMcpServer, type SdkMcpServer } from './helpers/sdk-mcp-server.js';
import { testBackends, type TestBackends } from './helpers/backends.js';
import type { BackendConfig } from '../../src/config/schema.js';

describe.each([
  { mode: 'event stream', json: false },
  { mode: 'JSON', json: true },
])('MCP backend, SDK server replying with $mode', ({ json }) => {
  let server: SdkMcpServer;
  let t: TestBackends;

  beforeEach(async () => {
    server = await startSdkMcpServer({ json });
  });
  afterEach(async () => {
    await t?.backends.close();
    await server.close();
  });

  const open = (config: Partial<BackendConfig> = {}, env: NodeJS.ProcessEnv = {}) => {
    t = testBackends({ mcp: { type: 'mcp', url: server.url, ...config } }, env);
    return t;
  };

  it('initializes once, then hands the guard the tools/call result; the session id and protocol version go back on every request', async () => {
    open({ headers: { authorization: 'env:TOKEN' } }, { TOKEN: 'Bearer s3cret-token' });
    const first = await t.call('mcp', 'get_repository', { owner: 'octo-org', repo: 'secret-repo' });
    expect(JSON.parse(first!)).toEqual({
      content: [{ type: 'text', text: '{"private":true,"full_name":"octo-org/secret-repo"}' }],
      structuredContent: { private: true, full_name: 'octo-org/secret-repo' },
    });
    expect(JSON.parse((await t.call('mcp', 'get_repository', { owner: 'o', repo: 'public' }))!).structuredContent).toEqual({ private: false, full_name: 'o/public' });

    const rpcs = server.requests.map((r) => r.rpc);
    expect(rpcs).toEqual(['initialize', 'notifications/initialized', 'tools/call', 'tools/call']);
    const [init, ...later] = server.requests;
    const sessionId = [...server.sessions.keys()][0];
    expect(sessionId).toBeDefined();
    expect(init!.headers['mcp-session-id']).toBeUndefined();
    for (const r of later) {
      expect(r.headers['mcp-session-id']).toBe(sessionId);
      expect(r.headers['mcp-protocol-version']).toBe('2025-11-25');
    }
    for (const r of server.requests) {
      expect(r.headers.authorization).toBe('Bearer s3cret-token');
      expect(r.headers.accept).toBe('application/json, text/event-stream');
    }
    expect(JSON.stringify(t.lines)).not.toContain('s3cret');
    expect(await t.outcomes('mcp')).toEqual({ ok: 2 });
  });

  it('concurrent first calls share one initialization', async () => {
    open();
    const replies = await Promise.all(Array.from({ length: 5 }, (_, i) => t.call('mcp', 'get_repository', { owner: 'o', repo: `r${i}` })));
    expect(replies.every((r) => r !== undefined)).toBe(true);
    expect(server.requests.filter((r) => r.rpc === 'initialize')).toHaveLength(1);
    expect(server.calls.get('get_repository')).toBe(5);
  });

  it('a result with isError, a JSON-RPC error and an unknown tool give -1, counted as errors', async () => {
    open();
    expect(await t.call('mcp', 'tool_error')).toBeUndefined();
    expect(await t.call('mcp', 'rpc_error')).toBeUndefined();
    expect(await t.call('mcp', 'no_such_tool')).toBeUndefined();
    expect(await t.call('mcp', 'get_repository', { owner: 'o', repo: 'r' })).toBeDefined();
    expect(await t.outcomes('mcp')).toEqual({ error: 3, ok: 1 });
    const failures = t.lines.filter((l) => l.level === 'warn' && l.msg?.startsWith('backend call failed'));
    expect(failures.map((l) => l.obj.reason)).toEqual([
      'the tool reported an error (isError)',
      'JSON-RPC error -32602 from tools/call',
      'JSON-RPC error -32602 from tools/call',
    ]);
    expect(failures[0]!.obj).toMatchObject({ guard: 'g', backend: 'mcp', tool: 'tool_error', outcome: 'error', toolError: 'repository not found' });
    expect(failures[1]!.obj).toMatchObject({ rpcCode: -32602, rpcMessage: expect.stringContaining('rpc_error: invalid params') });
  });

  it('a result over maxResponseBytes gives -1 (too_large); one under it passes', async () => {
    open({ maxResponseBytes: 64 * 1024 });
    expect(await t.call('mcp', 'big', { size: 200 * 1024 })).toBeUndefined();
    const ok = await t.call('mcp', 'big', { size: 32 * 1024 });
    expect(JSON.parse(ok!).content[0].text).toHaveLength(32 * 1024);
    expect(await t.outcomes('mcp')).toEqual({ too_large: 1, ok: 1 });
  });

  it('a call that outlives timeoutMs gives -1 (timeout) on time, and the server is told the request was cancelled', async () => {
    open({ timeoutMs: 1000 });
    await t.call('mcp', 'get_repository', { owner: 'o', repo: 'r' }); // session ready: time only the slow call
    const started = performance.now();
    expect(await t.call('mcp', 'slow', { ms: 10_000 })).toBeUndefined();
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(990);
    expect(elapsed).toBeLessThan(3000);
    expect(await t.outcomes('mcp')).toEqual({ ok: 1, timeout: 1 });
    await expect.poll(() => server.cancelled, { timeout: 2000 }).toBe(1);
    expect(server.requests.some((r) => r.rpc === 'notifications/cancelled')).toBe(true);
    // Still usable afterwards.
    expect(await t.call('mcp', 'get_repository', { owner: 'o', repo: 'r' })).toBeDefined();
  });

  it("the guard call's own deadline (the handler's signal) cuts a call shorter than timeoutMs", async () => {
    open({ timeoutMs: 5000 });
    const started = performance.now();
    expect(await t.call('mcp', 'slow', { ms: 3000 }, { signal: AbortSignal.timeout(150) })).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(1000);
    expect(await t.outcomes('mcp')).toEqual({ timeout: 1 });
    expect(t.lines.find((l) => l.obj.outcome === 'timeout')?.obj.reason).toBe("aborted by the guard call's deadline");
  });

  it('re-initializes when the server answers 404 to the session (session expired), and the call still succeeds', async () => {
    open();
    expect(await t.call('mcp', 'get_repository', { owner: 'o', repo: 'r' })).toBeDefined();
    const oldSession = [...server.sessions.keys()][0];
    server.expireSessions();
    expect(await t.call('mcp', 'get_repository', { owner: 'o', repo: 'r' })).toBeDefined();
    const newSession = [...server.sessions.keys()][0];
    expect(newSession).not.toBe(oldSession);
    expect(server.requests.map((r) => [r.rpc, r.headers['mcp-session-id'] === oldSession ? 'old' : r.headers['mcp-session-id'] === newSession ? 'new' : 'none'])).toEqual([
      ['initialize', 'none'],
      ['notifications/initialized', 'old'],
      ['tools/call', 'old'],
      ['tools/call', 'old'], // 404
      ['initialize', 'none'],
      ['notifications/initialized', 'new'],
      ['tools/call', 'new'],
    ]);
    expect(await t.outcomes('mcp')).toEqual({ ok: 2 });
  });

  it('maxConcurrent bounds the calls in flight; the rest wait their turn, or time out waiting', async () => {
    open({ maxConcurrent: 2, timeoutMs: 2000 });
    await t.call('mcp', 'get_repository', { owner: 'o', repo: 'r' });
    const started = performance.now();
    const replies = await Promise.all(Array.from({ length: 6 }, () => t.call('mcp', 'slow', { ms: 100 })));
    expect(replies.every((r) => r !== undefined)).toBe(true);
    expect(server.peak).toBe(2);
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);

    // A call that cannot get a slot before its deadline gives -1 without reaching the server.
    const before = server.calls.get('slow');
    const hogs = [t.call('mcp', 'slow', { ms: 400 }), t.call('mcp', 'slow', { ms: 400 })];
    await new Promise((r) => setTimeout(r, 50));
    expect(await t.call('mcp', 'slow', { ms: 10 }, { signal: AbortSignal.timeout(100) })).toBeUndefined();
    await Promise.all(hogs);
    expect(server.calls.get('slow')).toBe(before! + 2);
    expect((await t.outcomes('mcp')).timeout).toBe(1);
    expect(t.backends.get('mcp')!.load).toEqual({ active: 0, waiting: 0 }); // every slot came back
  });

  it('a tool outside the allowlist gives -1 without contacting the server (disallowed)', async () => {
    open({ tools: ['get_repository'] });
    expect(await t.call('mcp', 'big', { size: 10 })).toBeUndefined();
    expect(server.requests).toHaveLength(0);
    expect(await t.call('mcp', 'get_repository', { owner: 'o', repo: 'r' })).toBeDefined();
    expect(await t.outcomes('mcp')).toEqual({ disallowed: 1, ok: 1 });
  });

  it('close() ends the session with DELETE; later calls give -1', async () => {
    open();
    await t.call('mcp', 'get_repository', { owner: 'o', repo: 'r' });
    const sessionId = [...server.sessions.keys()][0];
    await t.backends.close();
    const del = server.requests.find((r) => r.method === 'DELETE');
    expect(del?.headers['mcp-session-id']).toBe(sessionId);
    expect(server.sessions.size).toBe(0);
    expect(await t.call('mcp', 'get_repository', { owner: 'o', repo: 'r' })).toBeUndefined();
    expect((await t.outcomes('mcp')).error).toBe(1);
  });
});
