/**
 * The shipped process (`node <image flags> dist/server.js`, as the README and
 * the Dockerfile start it) on a guards directory of hostile guards: every
 * fault a guard can have, on both call paths, fails its own call closed with
 * the documented status and code, while a healthy client keeps 32 connections
 * busy without one failed request; the process stays ready, never gets a
 * fault-signal listener, and shuts down cleanly on SIGTERM.
 */
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_GUARDS_DIR } from '../support/fixtures.js';
import { FAULTS, hostileGuard, LOG_FLOOD_LINES, LOG_FLOOD_TOOL } from '../support/hostile-guards.js';
import { startServerProcess, type ServerProcess } from '../support/process.js';
import { wat } from '../support/wat.js';
import { probeReport, SIGNAL_PROBE } from '../support/signals.js';

const HOSTILE = ['hostile-alloc', 'hostile-direct'];
const HEALTHY_CONNECTIONS = 32;

interface Answer {
  status: number;
  body: any;
  headers: Record<string, string | string[] | undefined>;
}

async function post(pool: Pool, path: string, body: unknown): Promise<Answer> {
  const res = await pool.request({ method: 'POST', path, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.body.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = text;
  }
  return { status: res.statusCode, body: parsed, headers: res.headers };
}

/** 32 connections, each sending healthy decisions back to back until stopped (bounded in count and time). */
function healthyLoad(url: string) {
  const pool = new Pool(url, { connections: HEALTHY_CONNECTIONS, pipelining: 1 });
  const outcomes = { ok: 0, failed: [] as string[] };
  let stopping = false;
  const until = performance.now() + 120_000;
  const loops = Array.from({ length: HEALTHY_CONNECTIONS }, async () => {
    for (let n = 0; !stopping && n < 100_000 && performance.now() < until; n++) {
      try {
        const answer = await post(pool, '/v1/evaluate', { guard: 'healthy', tool: 'list_issues' });
        if (answer.status === 200 && (answer.body.decision === 'allow' || answer.body.decision === 'deny')) outcomes.ok++;
        else outcomes.failed.push(`${answer.status} ${JSON.stringify(answer.body).slice(0, 200)}`);
      } catch (error) {
        outcomes.failed.push(String(error));
      }
    }
  });
  return {
    outcomes,
    async stop() {
      stopping = true;
      await Promise.all(loops);
      await pool.close();
    },
  };
}

let server: ServerProcess;
let client: Pool;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wasmguard-hostile-'));
  writeFileSync(join(dir, 'hostile-alloc.wasm'), await wat(hostileGuard({ allocator: true })));
  writeFileSync(join(dir, 'hostile-direct.wasm'), await wat(hostileGuard({ allocator: false })));
  copyFileSync(join(SAMPLE_GUARDS_DIR, 'static.wasm'), join(dir, 'healthy.wasm'));
  server = await startServerProcess(
    { WASMGUARD_GUARDS_DIR: dir, WASMGUARD_POOL_SIZE: '2', WASMGUARD_CALL_TIMEOUT_MS: '2000', WASMGUARD_GRACE_MS: '10000', WASMGUARD_DRAIN_MS: '300' },
    { nodeArgs: ['--import', SIGNAL_PROBE] },
  );
  client = new Pool(server.url, { connections: 4 });
});

afterAll(async () => {
  await client?.close();
  server?.child.kill('SIGKILL');
});

describe('the shipped process under hostile guards', () => {
  it('fails every fault closed on both call paths, while 32 healthy connections see no failure; then SIGTERM exits 0', async () => {
    const load = healthyLoad(server.url);
    const seen: string[] = [];
    try {
      for (const guard of HOSTILE) {
        for (const fault of FAULTS) {
          const answer = await post(client, '/v1/evaluate', { guard, tool: fault.tool });
          seen.push(`${guard} ${fault.what}: ${answer.status} ${answer.body?.error?.code}`);
          expect({ status: answer.status, code: answer.body?.error?.code, decision: answer.body?.decision }, `${guard}: ${fault.what}: ${JSON.stringify(answer.body)}`).toEqual({
            status: fault.status,
            code: fault.code,
            decision: 'deny',
          });
          // The guard is whole again for the next fault: a replacement instance labels normally.
          await expect
            .poll(async () => (await post(client, '/v1/evaluate', { guard, tool: 'tool' })).status, { timeout: 30_000, interval: 50, message: `after ${seen.at(-1)}` })
            .toBe(200);
        }
        const flood = await post(client, '/v1/evaluate', { guard, tool: LOG_FLOOD_TOOL });
        expect(flood.status, JSON.stringify(flood.body)).toBe(200);
      }
    } finally {
      await load.stop();
    }
    expect(load.outcomes.failed).toEqual([]);
    expect(load.outcomes.ok).toBeGreaterThan(HEALTHY_CONNECTIONS);

    // Still ready and serving, every guard included.
    expect((await client.request({ method: 'GET', path: '/readyz' })).statusCode).toBe(200);
    for (const guard of [...HOSTILE, 'healthy']) expect((await post(client, '/v1/evaluate', { guard, tool: 'tool' })).status).toBe(200);
    // The log flood was bounded: far fewer guard lines than the guard wrote.
    const guardLines = server.logs.filter((l) => HOSTILE.includes(l.guard as string) && String(l.msg).includes('flooding the log')).length;
    expect(guardLines).toBeLessThan(LOG_FLOOD_LINES / 4);

    // SIGTERM with requests in flight: each is answered, and the process exits 0 within the grace period.
    const inFlight = Array.from({ length: 16 }, () => post(client, '/v1/evaluate', { guard: 'healthy', tool: 'list_issues' }));
    server.child.kill('SIGTERM');
    const answers = await Promise.all(inFlight);
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    expect(await server.exited).toEqual({ code: 0, signal: null });
    expect(probeReport(server)).toEqual({ added: [], now: [] });
  }, 180_000);
});
