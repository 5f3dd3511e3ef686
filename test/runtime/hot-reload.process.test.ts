/**
 * Issue 21 item 4, through the shipped process (node dist/server.js): under
 * 64 connections of decision traffic, one guard is swapped between two
 * versions that label differently ten times (by POST /v1/admin/reload and by
 * SIGHUP), then given a broken version and a digest mismatch. No request may
 * fail; every answer must come from exactly one of the two versions; after
 * the failures the previous version still serves; worker threads and compiled
 * modules return to their level before the swaps.
 *
 * WASMGUARD_TEST_RELOAD_SECONDS sets how long the load runs (default 20).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServerProcess, type ServerProcess } from '../support/process.js';
import { brokenGuard, labellingGuard, sha256 } from '../support/reload-guards.js';

const LOAD_SECONDS = Number(process.env.WASMGUARD_TEST_RELOAD_SECONDS ?? 20);
const CONNECTIONS = 64;
const EVALUATE = JSON.stringify({ guard: 'swap', tool: 'get_thing', agent: { secrecy: [], integrity: [] } });

let dir: string;
let server: ServerProcess;
let pool: Pool;
let A: Uint8Array;
let B: Uint8Array;
let BROKEN: Uint8Array;

const writeConfig = (pin?: string) =>
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ guards: { swap: { path: 'swap.wasm', poolSize: 2, poolWarm: 2, ...(pin ? { sha256: pin } : {}) } } }));

async function request(method: 'GET' | 'POST', path: string, body?: string): Promise<{ status: number; text: string; json: any }> {
  const reply = await pool.request({ method, path, ...(body ? { body, headers: { 'content-type': 'application/json' } } : {}) });
  const text = await reply.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: reply.statusCode, text, json };
}

/** One sample of a Prometheus gauge without labels. */
async function gauge(name: string): Promise<number> {
  const text = (await request('GET', '/metrics')).text;
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`metric ${name} not found`);
  return Number(line.split(' ')[1]);
}

async function guardVersion(): Promise<number> {
  return ((await request('GET', '/v1/guards')).json.guards as Array<{ name: string; version: number }>).find((g) => g.name === 'swap')!.version;
}

beforeAll(async () => {
  A = await labellingGuard('version A');
  B = await labellingGuard('version B');
  BROKEN = await brokenGuard();
  dir = mkdtempSync(join(tmpdir(), 'wg-hot-reload-'));
  writeFileSync(join(dir, 'swap.wasm'), A);
  writeConfig();
  server = await startServerProcess({ WASMGUARD_CONFIG: join(dir, 'config.json'), WASMGUARD_GRACE_MS: '10000' });
  pool = new Pool(server.url, { connections: CONNECTIONS + 4, pipelining: 1 });
});
afterAll(async () => {
  await pool?.close();
  server?.child.kill('SIGTERM');
  await server?.exited;
  rmSync(dir, { recursive: true, force: true });
});

describe('hot reload under load, through node dist/server.js', () => {
  it(
    'swaps a guard ten times, survives a broken version and a digest mismatch, fails no request and leaks no worker or module',
    async () => {
      const digests = new Map([
        ['version A', sha256(A)],
        ['version B', sha256(B)],
      ]);
      const workersBefore = await gauge('wasmguard_worker_threads');
      const modulesBefore = await gauge('wasmguard_compilation_cache_modules');
      expect(workersBefore).toBeGreaterThanOrEqual(2);
      expect(modulesBefore).toBe(1);

      let stop = false;
      const failures: string[] = [];
      const seen = new Map<string, number>();
      let answers = 0;
      const client = async () => {
        while (!stop) {
          const reply = await request('POST', '/v1/evaluate', EVALUATE).catch((error: Error) => ({ status: 0, text: error.message, json: undefined }));
          answers++;
          const description = reply.json?.resource?.description as string | undefined;
          if (reply.status !== 200 || !description || digests.get(description) !== reply.json.guard_digest) {
            if (failures.length < 20) failures.push(`${reply.status} ${reply.text.slice(0, 300)}`);
            else failures.length++;
            continue;
          }
          seen.set(description, (seen.get(description) ?? 0) + 1);
        }
      };
      const started = performance.now();
      const clients = Array.from({ length: CONNECTIONS }, client);

      const pause = (LOAD_SECONDS * 1000) / 14;
      const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
      const reloads: Array<{ result: string; reason?: string }> = [];
      const reloadByApi = async () => {
        const reply = await request('POST', '/v1/admin/reload');
        expect(reply.status, reply.text).toBe(200);
        reloads.push(reply.json.guards[0]);
        return reply.json.guards[0] as { result: string; reason?: string; digest: string };
      };
      await sleep(pause);
      for (let i = 1; i <= 10; i++) {
        const next = i % 2 === 1 ? B : A;
        writeFileSync(join(dir, 'swap.wasm'), next);
        if (i === 5) {
          // One swap by signal: it answers nothing, so wait for the version to move (bounded).
          const before = await guardVersion();
          server.child.kill('SIGHUP');
          for (let n = 0; n < 600 && (await guardVersion()) === before; n++) await sleep(50);
          expect(await guardVersion()).toBe(before + 1);
        } else {
          expect(await reloadByApi()).toMatchObject({ result: 'updated', digest: sha256(next) });
        }
        await sleep(pause);
      }
      // Now A serves. A broken module, then B under a pin of something else: both fail, A keeps serving.
      writeFileSync(join(dir, 'swap.wasm'), BROKEN);
      expect(await reloadByApi()).toMatchObject({ result: 'failed', digest: sha256(A) });
      await sleep(pause);
      const afterBroken = await request('POST', '/v1/evaluate', EVALUATE);
      expect(afterBroken.json).toMatchObject({ guard_digest: sha256(A), resource: { description: 'version A' } });
      writeFileSync(join(dir, 'swap.wasm'), B);
      writeConfig(sha256(A));
      const mismatch = await reloadByApi();
      expect(mismatch).toMatchObject({ result: 'failed', digest: sha256(A) });
      expect(mismatch.reason).toContain('but the configuration requires');
      const afterMismatch = await request('POST', '/v1/evaluate', EVALUATE);
      expect(afterMismatch.json).toMatchObject({ guard_digest: sha256(A), resource: { description: 'version A' } });

      const remaining = LOAD_SECONDS * 1000 - (performance.now() - started);
      if (remaining > 0) await sleep(remaining);
      stop = true;
      await Promise.all(clients);
      const seconds = (performance.now() - started) / 1000;

      expect(failures, `${failures.length} failed of ${answers}`).toEqual([]);
      expect(seen.get('version A')).toBeGreaterThan(0);
      expect(seen.get('version B')).toBeGreaterThan(0);
      expect(await guardVersion()).toBe(11);

      // Every replaced version drains and closes: threads and modules back to their level before the swaps.
      for (let n = 0; n < 600 && (await gauge('wasmguard_guard_versions_draining')) > 0; n++) await sleep(50);
      expect(await gauge('wasmguard_guard_versions_draining')).toBe(0);
      for (let n = 0; n < 200 && (await gauge('wasmguard_worker_threads')) !== workersBefore; n++) await sleep(50);
      expect(await gauge('wasmguard_worker_threads')).toBe(workersBefore);
      expect(await gauge('wasmguard_compilation_cache_modules')).toBe(modulesBefore);
      const metrics = (await request('GET', '/metrics')).text;
      expect(metrics).toContain('wasmguard_guard_reloads_total{guard="swap",result="updated"} 10');
      expect(metrics).toContain('wasmguard_guard_reloads_total{guard="swap",result="failed"} 2');
      // Decision log lines carry the digest that decided.
      const decisionLines = server.logs.filter((l) => l.msg === 'decision');
      expect(decisionLines.length).toBeGreaterThan(0);
      for (const line of decisionLines.slice(-50)) expect([sha256(A), sha256(B)]).toContain(line.guard_digest);
      console.log(
        `hot reload under load: ${answers} answers in ${seconds.toFixed(1)} s over ${CONNECTIONS} connections ` +
          `(A ${seen.get('version A')}, B ${seen.get('version B')}), 0 failed; worker threads ${workersBefore} before and after, modules ${modulesBefore}`,
      );
    },
    (LOAD_SECONDS + 120) * 1000,
  );
});
