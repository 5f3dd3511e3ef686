/**
 * The whole stack: a Rust guard (test/fixtures/rust-guard, "backend" hook)
 * in the service's guard pools calls env.call_backend, which crosses from the
 * worker to the main thread and reaches a real MCP server (official SDK) over
 * HTTP on 127.0.0.1 through the backends built from config.backends.
 */
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResolvedConfig } from '../../src/config/load.js';
import { SERVER_DEFAULTS } from '../../src/config/settings.js';
import { createService, type Service } from '../../src/service/service.js';
import { startSdkMcpServer, type SdkMcpServer } from './helpers/sdk-mcp-server.js';
import { TEST_PRESSURE } from '../support/server.js';

const RUST_GUARD = fileURLToPath(new URL('../fixtures/rust-guard/rust_guard.wasm', import.meta.url));
const GUARD_BUFFER = 64 * 1024; // the hook's first result buffer

interface HookResult {
  hinted: number | null;
  rc: number;
  rcs: number[];
  result: any;
}

let mcp: SdkMcpServer;
let service: Service;
let base: string;

beforeAll(async () => {
  mcp = await startSdkMcpServer();
  const guard = { path: RUST_GUARD, memoryLimitMb: 64 };
  const config: ResolvedConfig = {
    server: { ...SERVER_DEFAULTS, host: '127.0.0.1', port: 0, logLevel: 'silent' },
    guards: [
      { ...guard, name: 'rust', poolSize: 2, timeoutMs: 10_000, backend: 'github' },
      { ...guard, name: 'rust-short', poolSize: 1, timeoutMs: 300, backend: 'github-patient' },
      { ...guard, name: 'rust-none', poolSize: 1, timeoutMs: 1000 },
    ],
    backends: {
      github: {
        type: 'mcp',
        url: mcp.url,
        headers: { authorization: 'env:WG_TEST_GITHUB_TOKEN' },
        timeoutMs: 1500,
        maxResponseBytes: 256 * 1024,
        maxConcurrent: 4,
        tools: ['get_repository', 'slow', 'big', 'tool_error', 'rpc_error'],
      },
      'github-patient': { type: 'mcp', url: mcp.url, timeoutMs: 5000, tools: ['get_repository', 'slow'] },
    },
  };
  service = await createService(config, {
    logger: pino({ level: 'silent' }),
    env: { WG_TEST_GITHUB_TOKEN: 'Bearer stack-token' },
    // Load shedding is not under test here; a busy CI machine must not turn these calls into 503s.
    pressure: TEST_PRESSURE,
  });
  base = await service.app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await service?.close();
  await mcp?.close();
});

/** Runs the guard's backend hook in the guard's pool; the description is the hook's report. */
async function hook(guard: string, args: { tool: string; args?: unknown; times?: number }): Promise<HookResult> {
  const { output } = await service.registry.get(guard)!.pool.call({ fn: 'label_resource', input: JSON.stringify({ tool_name: 'backend', tool_args: args }) });
  return JSON.parse((JSON.parse(output) as { resource: { description: string } }).resource.description) as HookResult;
}

const evaluate = (guard: string, args: unknown) =>
  fetch(`${base}/v1/evaluate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ guard, tool: 'backend', args }) });

const repo = (name: string) => ({ tool: 'get_repository', args: { owner: 'octo-org', repo: name } });

/** The service still answers, and a normal backend call through the guard works. */
async function stillHealthy(): Promise<void> {
  expect((await fetch(`${base}/healthz`)).status).toBe(200);
  expect((await fetch(`${base}/readyz`)).status).toBe(200);
  const after = await hook('rust', repo('public-repo'));
  expect(after.rc).toBeGreaterThan(0);
  expect(after.result.structuredContent).toEqual({ private: false, full_name: 'octo-org/public-repo' });
}

async function metric(name: string, labels: Record<string, string>): Promise<number | undefined> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const have = line.slice(name.length + 1, line.lastIndexOf('}')).split(',');
    if (wanted.every((w) => have.includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('call_backend through the service', () => {
  it('POST /v1/evaluate: the guard gets the MCP tools/call result', async () => {
    const response = await evaluate('rust', repo('secret-plans'));
    expect(response.status).toBe(200);
    const body = (await response.json()) as { decision: string; resource: { description: string } };
    expect(body.decision).toBe('allow');
    const report = JSON.parse(body.resource.description) as HookResult;
    expect(report.rc).toBeGreaterThan(0);
    expect(report.rcs).toEqual([report.rc]);
    expect(report.result).toEqual({
      content: [{ type: 'text', text: '{"private":true,"full_name":"octo-org/secret-plans"}' }],
      structuredContent: { private: true, full_name: 'octo-org/secret-plans' },
    });
    // The session id the server assigned came back on the tools/call, with the configured secret header.
    const call = mcp.requests.find((r) => r.rpc === 'tools/call')!;
    expect(mcp.sessions.has(call.headers['mcp-session-id'] as string)).toBe(true);
    expect(call.headers.authorization).toBe('Bearer stack-token');
  });

  it('a result bigger than the guard buffer: -2 with the size, then the retry gets it without a second backend call', async () => {
    const before = mcp.calls.get('big') ?? 0;
    const report = await hook('rust', { tool: 'big', args: { size: 100_000 } });
    expect(report.rcs).toHaveLength(2);
    expect(report.rcs[0]).toBe(-2);
    expect(report.hinted).toBeGreaterThan(GUARD_BUFFER);
    expect(report.rcs[1]).toBe(report.hinted);
    expect(report.result.content[0].text).toHaveLength(100_000);
    expect(mcp.calls.get('big')).toBe(before + 1);
  });

  it.each<[string, { tool: string; args?: unknown }]>([
    ['an isError result', { tool: 'tool_error' }],
    ['a JSON-RPC error', { tool: 'rpc_error' }],
    ['a call past timeoutMs', { tool: 'slow', args: { ms: 10_000 } }],
    ['a result over maxResponseBytes', { tool: 'big', args: { size: 1024 * 1024 } }],
  ])('%s gives the guard -1, and the service stays healthy', async (_name, call) => {
    const report = await hook('rust', call);
    expect(report).toMatchObject({ rc: -1, rcs: [-1], result: null });
    await stillHealthy();
  });

  it('a tool outside the allowlist gives -1 and never reaches the server', async () => {
    const before = mcp.requests.length;
    const report = await hook('rust', { tool: 'delete_repository', args: { owner: 'o', repo: 'r' } });
    expect(report).toMatchObject({ rc: -1, rcs: [-1] });
    expect(mcp.requests.length).toBe(before);
    await stillHealthy();
  });

  it('the 51st call of one invocation gives -1; the first 50 reach the server', async () => {
    const before = mcp.calls.get('get_repository') ?? 0;
    const report = await hook('rust', { ...repo('r'), times: 51 });
    expect(report.rcs).toHaveLength(51);
    expect(report.rcs.slice(0, 50).every((rc) => rc > 0)).toBe(true);
    expect(report.rcs[50]).toBe(-1);
    expect(report.rc).toBe(-1);
    expect(mcp.calls.get('get_repository')).toBe(before + 50);
    await stillHealthy();
  });

  it('a guard without a backend gets -1', async () => {
    expect(await hook('rust-none', repo('r'))).toMatchObject({ rc: -1, rcs: [-1] });
  });

  it('guard calls waiting on a slow backend do not block each other or the event loop', async () => {
    await hook('rust', repo('warm')); // both workers and the session are ready
    await hook('rust', repo('warm'));
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 10);
    const peakBefore = mcp.peak;
    mcp.peak = 0;
    const started = performance.now();
    const [a, b] = await Promise.all([hook('rust', { tool: 'slow', args: { ms: 500 } }), hook('rust', { tool: 'slow', args: { ms: 500 } })]);
    const elapsed = performance.now() - started;
    clearInterval(ticker);
    expect(a.rc).toBeGreaterThan(0);
    expect(b.rc).toBeGreaterThan(0);
    expect(mcp.peak).toBe(2); // both were at the server at once
    expect(elapsed).toBeGreaterThanOrEqual(495);
    expect(elapsed).toBeLessThan(900); // one after the other would take 1000 ms
    expect(ticks).toBeGreaterThanOrEqual(20); // the main thread kept running timers meanwhile (about 50 expected)
    mcp.peak = Math.max(peakBefore, mcp.peak);
  });

  it("a guard stuck in call_backend is still bound by its own deadline: 504, the backend call is aborted, the pool recovers", async () => {
    // Session ready first, so the deadline falls on the tools/call itself, not on initialization.
    expect((await evaluate('rust-short', repo('warm'))).status).toBe(200);
    const cancelledBefore = mcp.cancelled;
    const started = performance.now();
    const response = await evaluate('rust-short', { tool: 'slow', args: { ms: 3000 } });
    expect(response.status).toBe(504);
    expect(performance.now() - started).toBeLessThan(1500);
    await expect.poll(() => mcp.cancelled, { timeout: 2000 }).toBe(cancelledBefore + 1);
    await expect.poll(async () => (await evaluate('rust-short', repo('r'))).status, { timeout: 5000 }).toBe(200);
    expect(await metric('wasmguard_backend_calls_total', { guard: 'rust-short', backend: 'github-patient', outcome: 'timeout' })).toBe(1);
  });

  it('GET /metrics counts every outcome by guard and backend, and times the calls', async () => {
    const at = (outcome: string) => metric('wasmguard_backend_calls_total', { guard: 'rust', backend: 'github', outcome });
    expect(await at('ok')).toBeGreaterThanOrEqual(50);
    expect(await at('error')).toBe(2);
    expect(await at('timeout')).toBe(1);
    expect(await at('too_large')).toBe(1);
    expect(await at('disallowed')).toBe(1);
    expect(await metric('wasmguard_backend_call_duration_seconds_count', { guard: 'rust', backend: 'github' })).toBeGreaterThanOrEqual(55);
  });
});
