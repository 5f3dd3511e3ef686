/**
 * The diagnostics listener (issue 25 item 2): /healthz, /readyz and /metrics
 * on their own port from the same Readiness and Metrics as the API, nothing
 * else there, closed last at shutdown; in-process and as the built server.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { startDiagnostics, type DiagnosticsListener } from '../../src/http/diagnostics.js';
import { startServerProcess } from '../support/process.js';
import { RUST_GUARD, STATIC_GUARD, startService, type TestService } from '../support/server.js';

const evaluate = (url: string, body: unknown) =>
  fetch(`${url}/v1/evaluate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** One decision; a 503 from load shedding on this shared, noisy machine is retried (bounded). */
async function decide(url: string, guard = 'static'): Promise<Response> {
  let r = await evaluate(url, { guard, tool: 'anything' });
  for (let i = 0; i < 10 && r.status === 503; i++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    r = await evaluate(url, { guard, tool: 'anything' });
  }
  return r;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('diagnostics listener (in process)', () => {
  let s: TestService;
  let diag: DiagnosticsListener;
  beforeAll(async () => {
    s = await startService({ guards: [{ name: 'static', path: STATIC_GUARD }] });
    const { readiness, metrics, app } = s.service;
    diag = await startDiagnostics({ host: '127.0.0.1', port: 0, readiness, metrics, isUnderPressure: () => app.isUnderPressure(), logger: false });
  });
  afterAll(async () => {
    await s.close();
    await diag.close();
  });

  it('answers /healthz, /readyz and /metrics on its own port', async () => {
    expect(diag.address).not.toBe(s.url);
    expect(await (await fetch(`${diag.address}/healthz`)).json()).toEqual({ status: 'ok' });
    // Bounded wait past any event-loop pressure of this shared machine (which /readyz rightly reports).
    let ready = await fetch(`${diag.address}/readyz`);
    for (let i = 0; i < 50 && ready.status !== 200; i++) {
      await sleep(100);
      ready = await fetch(`${diag.address}/readyz`);
    }
    expect([ready.status, await ready.json()]).toEqual([200, { status: 'ready', session_store: 'up' }]);
    const metrics = await fetch(`${diag.address}/metrics`);
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    expect(await metrics.text()).toContain('wasmguard_pool_instances');
  });

  it('serves the same metrics registry: a decision on the API shows on the diagnostics port', async () => {
    const count = async () => {
      const text = await (await fetch(`${diag.address}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith('wasmguard_decisions_total{') && l.includes('guard="static"'));
      return line ? Number(line.split(' ').pop()) : 0;
    };
    const before = await count();
    expect((await decide(s.url)).status).toBe(200);
    expect(await count()).toBe(before + 1);
  });

  it('exposes nothing else: no decisions, no guard inventory, no OpenAPI document', async () => {
    for (const [method, path] of [
      ['POST', '/v1/evaluate'],
      ['GET', '/v1/guards'],
      ['GET', '/openapi.json'],
    ] as const) {
      const r = await fetch(`${diag.address}${path}`, { method, ...(method === 'POST' ? { headers: { 'content-type': 'application/json' }, body: '{}' } : {}) });
      expect(r.status, path).toBe(404);
      expect(await r.json()).toMatchObject({ error: { code: 'WG_ERR_NOT_FOUND' }, decision: 'deny' });
    }
  });
});

describe('diagnostics listener (node dist/server.js)', () => {
  let configPath: string;
  beforeAll(() => {
    const dir = mkdtempSync(join(tmpdir(), 'wasmguard-diag-'));
    configPath = join(dir, 'config.json');
    writeFileSync(configPath, JSON.stringify({ guards: { rust: { path: RUST_GUARD, poolSize: 1, timeoutMs: 20_000 } } }));
  });

  it('is off by default', async () => {
    const server = await startServerProcess({ WASMGUARD_CONFIG: configPath }, 60_000);
    try {
      expect(server.logs.some((l) => l.msg === 'diagnostics listening')).toBe(false);
    } finally {
      server.child.kill('SIGKILL');
      await server.exited;
    }
  }, 90_000);

  it('with WASMGUARD_DIAGNOSTICS_PORT: probes there, reports draining during shutdown, and closes last', async () => {
    const server = await startServerProcess({
      WASMGUARD_CONFIG: configPath,
      WASMGUARD_DIAGNOSTICS_PORT: '0',
      WASMGUARD_DIAGNOSTICS_HOST: '127.0.0.1',
      WASMGUARD_GRACE_MS: '10000',
    }, 60_000);
    try {
      // The line comes just after "wasmguard listening"; wait for it (bounded), no clock assertion.
      for (let i = 0; i < 100 && !server.logs.some((l) => l.msg === 'diagnostics listening'); i++) await sleep(50);
      const diag = String(server.logs.find((l) => l.msg === 'diagnostics listening')!.address);
      expect(diag).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(diag).not.toBe(server.url);
      // Ready once the fresh process is past any event-loop pressure of its start (bounded wait).
      let ready = 0;
      for (let i = 0; i < 100 && ready !== 200; i++) {
        ready = (await fetch(`${diag}/readyz`)).status;
        if (ready !== 200) await sleep(100);
      }
      expect(ready).toBe(200);
      expect((await decide(server.url, 'rust')).status).toBe(200);
      expect(await (await fetch(`${diag}/metrics`)).text()).toMatch(/wasmguard_decisions_total\{[^}]*guard="rust"[^}]*\} 1/);

      // A slow call keeps the API draining after SIGTERM; the diagnostics port meanwhile says why it is not ready.
      const slow = evaluate(server.url, { guard: 'rust', tool: 'sleep', args: { ms: 2000 } });
      for (let i = 0; i < 100 && (await fetch(`${diag}/metrics`).then((r) => r.text())).match(/wasmguard_pool_instances\{[^}]*state="busy"[^}]*\} 1/) === null; i++) {
        await sleep(20);
      }
      server.child.kill('SIGTERM');
      let draining: unknown;
      for (let i = 0; i < 100 && draining === undefined; i++) {
        const r = await fetch(`${diag}/readyz`);
        if (r.status === 503) draining = await r.json();
        else await sleep(20);
      }
      expect(draining).toEqual({ status: 'not ready', reason: 'draining', session_store: 'up' });
      expect((await fetch(`${diag}/healthz`)).status).toBe(200);
      expect((await slow).status).toBe(200);

      expect((await server.exited).code).toBe(0);
      const order = server.logs.map((l) => l.msg);
      expect(order.indexOf('shutdown: complete')).toBeGreaterThan(order.indexOf('shutdown: compilation cache closed'));
      expect(order.indexOf('shutdown: compilation cache closed')).toBeGreaterThan(-1);
      // Closed with the process: nothing listens there any more.
      await expect(fetch(`${diag}/healthz`)).rejects.toThrow();
    } finally {
      server.child.kill('SIGKILL');
    }
  }, 90_000);

  it('refuses the API port as diagnostics port, naming both settings', () => {
    expect(() => loadConfig({ env: { WASMGUARD_PORT: '9000', WASMGUARD_DIAGNOSTICS_PORT: '9000', WASMGUARD_CONFIG: configPath }, argv: [] })).toThrow(
      /server\.diagnosticsPort \(9000\) must differ from server\.port/,
    );
  });
});
