/**
 * Hot reload through the real service over HTTP: real modules in a folder,
 * real worker pools, POST /v1/admin/reload. Each guard's path is read again
 * on every reload, as the shipped server does with its flags and environment.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { WorkerHost } from '../../src/pool/index.js';
import { startedOf } from '../support/pool-guards.js';
import { brokenGuard, labellingGuard, sha256, slowLabellingGuard } from '../support/reload-guards.js';
import { errorOf, startService, type TestService } from '../support/server.js';

let dir: string;
let s: TestService | undefined;
let A: Uint8Array;
let B: Uint8Array;

const EVALUATE = { guard: 'swap', tool: 'get_thing', agent: { secrecy: [], integrity: [] } };

/** The configuration as the server would read it now: a config file naming the guards in `dir`. */
function writeConfig(guards: Record<string, Record<string, unknown>>): void {
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ guards }));
}
const readConfig = () => loadConfig({ argv: [], env: { WASMGUARD_CONFIG: join(dir, 'config.json'), WASMGUARD_POOL_SIZE: '1' } });

async function start(): Promise<TestService> {
  // No load shedding: on a loaded CI machine a shed request would say nothing about reloading.
  s = await startService({ guards: readConfig().guards, readConfig, pressure: { maxEventLoopDelayMs: 0 } });
  return s;
}

async function describeOf(name: string) {
  const guards = (await s!.get('/v1/guards')).body.guards as Array<Record<string, any>>;
  return guards.find((g) => g.name === name);
}

/** Polls until every replaced version has closed its pool (bounded). */
async function drained(): Promise<void> {
  for (let i = 0; i < 1000 && s!.service.registry.retiring().length > 0; i++) await new Promise((r) => setTimeout(r, 10));
  expect(s!.service.registry.retiring()).toEqual([]);
}

let BROKEN: Uint8Array;
let SLOW: Uint8Array;

// Built once, before any service starts: compiling WAT blocks the event loop the service's load shedding watches.
beforeAll(async () => {
  A = await labellingGuard('version A');
  B = await labellingGuard('version B');
  BROKEN = await brokenGuard();
  SLOW = await slowLabellingGuard('slow version A', 600_000_000);
});

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wg-reload-'));
  writeFileSync(join(dir, 'swap.wasm'), A);
  writeConfig({ swap: { path: 'swap.wasm' } });
});
afterEach(async () => {
  await s?.close();
  s = undefined;
  rmSync(dir, { recursive: true, force: true });
});

describe('POST /v1/admin/reload', () => {
  it('swaps a changed guard: new requests get the new version, the old pool closes and its module leaves the cache', async () => {
    await start();
    const workersBefore = WorkerHost.live;
    const first = await s!.post('/v1/evaluate', EVALUATE);
    expect(first.status, first.text).toBe(200);
    expect(first.body.resource.description).toBe('version A');
    expect(first.body.guard_digest).toBe(sha256(A));
    const before = await describeOf('swap');
    expect(before).toMatchObject({ digest: sha256(A), version: 1 });

    writeFileSync(join(dir, 'swap.wasm'), B);
    const reload = await s!.post('/v1/admin/reload', undefined, {});
    expect(reload.status, reload.text).toBe(200);
    expect(reload.body).toEqual({
      trigger: 'api',
      guards: [{ guard: 'swap', result: 'updated', digest: sha256(B), previous_digest: sha256(A), version: 2 }],
    });

    const second = await s!.post('/v1/evaluate', EVALUATE);
    expect(second.body.resource.description).toBe('version B');
    expect(second.body.guard_digest).toBe(sha256(B));
    const after = await describeOf('swap');
    expect(after).toMatchObject({ digest: sha256(B), version: 2 });
    expect(Date.parse(after!.loaded_at)).toBeGreaterThanOrEqual(Date.parse(before!.loaded_at));

    await drained();
    expect(s!.service.cache.stats().entries).toBe(1);
    expect(WorkerHost.live).toBe(workersBefore);
    const metrics = (await s!.get('/metrics')).text;
    expect(metrics).toContain('wasmguard_guard_reloads_total{guard="swap",result="updated"} 1');
    expect(metrics).toContain('wasmguard_compilation_cache_modules 1');
    expect(metrics).toContain('wasmguard_guard_versions_draining 0');
  });

  it('a guard that grew under load keeps its instances in the version that replaces it', async () => {
    writeConfig({ swap: { path: 'swap.wasm', poolSize: 2 } });
    await start();
    // One warm instance (poolWarm's default); concurrent requests make calls wait, and the pool grows.
    expect((await describeOf('swap'))!.pool).toMatchObject({ size: 2, instances: { idle: 1, busy: 0, starting: 0 } });
    for (let i = 0; i < 50 && startedOf((await describeOf('swap'))!.pool) < 2; i++) {
      await Promise.all(Array.from({ length: 16 }, () => s!.post('/v1/evaluate', EVALUATE)));
    }
    expect(startedOf((await describeOf('swap'))!.pool)).toBe(2);

    writeFileSync(join(dir, 'swap.wasm'), B);
    expect((await s!.post('/v1/admin/reload', undefined, {})).status).toBe(200);
    // Both started before the swap, not one and then a wait for the second under the same load.
    expect(await describeOf('swap')).toMatchObject({ version: 2, pool: { size: 2, instances: { idle: 2, busy: 0, starting: 0 } } });
    await drained();
  });

  it('the instances a reload carries over are still stopped once idle, down to poolWarm', async () => {
    writeConfig({ swap: { path: 'swap.wasm', poolSize: 2, poolIdleMs: 0 } });
    await start();
    for (let i = 0; i < 50 && startedOf((await describeOf('swap'))!.pool) < 2; i++) {
      await Promise.all(Array.from({ length: 16 }, () => s!.post('/v1/evaluate', EVALUATE)));
    }
    expect(startedOf((await describeOf('swap'))!.pool)).toBe(2);

    writeConfig({ swap: { path: 'swap.wasm', poolSize: 2, poolIdleMs: 300 } });
    writeFileSync(join(dir, 'swap.wasm'), B);
    expect((await s!.post('/v1/admin/reload', undefined, {})).status).toBe(200);
    expect(await describeOf('swap')).toMatchObject({ version: 2, pool: { instances: { idle: 2 } } });
    let pool = (await describeOf('swap'))!.pool;
    for (let i = 0; i < 50 && startedOf(pool) > 1; i++) {
      await new Promise((r) => setTimeout(r, 100));
      pool = (await describeOf('swap'))!.pool;
    }
    expect(pool).toMatchObject({ size: 2, instances: { idle: 1, busy: 0, starting: 0, poisoned: 0 } });
    expect((await s!.post('/v1/evaluate', EVALUATE)).body.resource.description).toBe('version B');
    await drained();
  });

  it('leaves an unchanged guard alone: same pool, same version', async () => {
    await start();
    const handle = s!.service.registry.get('swap');
    const reload = await s!.post('/v1/admin/reload', undefined, {});
    expect(reload.body.guards).toEqual([{ guard: 'swap', result: 'unchanged', digest: sha256(A), version: 1 }]);
    expect(s!.service.registry.get('swap')).toBe(handle);
    expect(s!.service.registry.retiring()).toEqual([]);
  });

  it('keeps the previous version serving when the new one is broken or its digest does not match the pin', async () => {
    await start();
    const workersBefore = WorkerHost.live;
    writeFileSync(join(dir, 'swap.wasm'), BROKEN);
    const broken = await s!.post('/v1/admin/reload', undefined, {});
    expect(broken.status).toBe(200);
    expect(broken.body.guards[0]).toMatchObject({ guard: 'swap', result: 'failed', digest: sha256(A), version: 1 });
    expect(broken.body.guards[0].reason).toMatch(/guard swap: .*label_/);
    expect((await s!.post('/v1/evaluate', EVALUATE)).body.resource.description).toBe('version A');

    // B on disk, but the configuration pins A's digest... of something else.
    writeFileSync(join(dir, 'swap.wasm'), B);
    writeConfig({ swap: { path: 'swap.wasm', sha256: sha256(A) } });
    const pinned = await s!.post('/v1/admin/reload', undefined, {});
    expect(pinned.body.guards[0]).toMatchObject({ guard: 'swap', result: 'failed', digest: sha256(A), version: 1 });
    expect(pinned.body.guards[0].reason).toBe(`guard swap: module SHA-256 is ${sha256(B)}, but the configuration requires ${sha256(A)}`);
    const still = await s!.post('/v1/evaluate', EVALUATE);
    expect(still.body).toMatchObject({ guard_digest: sha256(A), resource: { description: 'version A' } });

    expect((await s!.get('/readyz')).status).toBe(200);
    await drained();
    expect(WorkerHost.live).toBe(workersBefore);
    expect(s!.service.cache.stats().entries).toBe(1);
    expect((await s!.get('/metrics')).text).toContain('wasmguard_guard_reloads_total{guard="swap",result="failed"} 2');
  });

  it('adds new guards and removes dropped ones, which then answer 404', async () => {
    await start();
    writeFileSync(join(dir, 'other.wasm'), B);
    writeConfig({ other: { path: 'other.wasm' } });
    const reload = await s!.post('/v1/admin/reload', undefined, {});
    expect(reload.body.guards).toEqual([
      { guard: 'other', result: 'added', digest: sha256(B), version: 1 },
      { guard: 'swap', result: 'removed', previous_digest: sha256(A) },
    ]);
    const gone = await s!.post('/v1/evaluate', EVALUATE);
    expect(gone.status).toBe(404);
    expect(errorOf(gone).code).toBe('WG_ERR_UNKNOWN_GUARD');
    expect((await s!.post('/v1/evaluate', { ...EVALUATE, guard: 'other' })).body.resource.description).toBe('version B');
    await drained();
  });

  it('lets a request already running finish on the version it started with', async () => {
    writeFileSync(join(dir, 'swap.wasm'), SLOW);
    writeConfig({ swap: { path: 'swap.wasm', timeoutMs: 60_000 } });
    await start();
    const slowDigest = s!.service.registry.get('swap')!.compiled.digest;
    let finished = false;
    const running = s!.post('/v1/evaluate', EVALUATE).finally(() => (finished = true));
    await s!.waitForGuard('swap', (g) => g.pool.instances.busy === 1);

    writeFileSync(join(dir, 'swap.wasm'), B);
    const reload = await s!.post('/v1/admin/reload', undefined, {});
    expect(reload.body.guards[0]).toMatchObject({ result: 'updated', version: 2 });
    // The swap happened while the call ran: the old version waits for it before closing.
    if (!finished) expect(s!.service.registry.retiring()).toHaveLength(1);
    expect((await s!.post('/v1/evaluate', EVALUATE)).body.resource.description).toBe('version B');

    const old = await running;
    expect(old.status, old.text).toBe(200);
    expect(old.body).toMatchObject({ guard_digest: slowDigest, resource: { description: 'slow version A' } });
    await drained();
  });

  it('runs overlapping reloads one at a time: the change is applied once', async () => {
    await start();
    writeFileSync(join(dir, 'swap.wasm'), B);
    const replies = await Promise.all([1, 2, 3].map(() => s!.post('/v1/admin/reload', undefined, {})));
    const results = replies.map((r) => r.body.guards[0].result).sort();
    expect(results).toEqual(['unchanged', 'unchanged', 'updated'].sort());
    expect(await describeOf('swap')).toMatchObject({ version: 2, digest: sha256(B) });
    await drained();
  });

  it('refuses a reload whose configuration cannot be read, changing nothing', async () => {
    await start();
    writeFileSync(join(dir, 'config.json'), '{"guards": {"swap": {"path": "missing.wasm"}}}');
    const reload = await s!.post('/v1/admin/reload', undefined, {});
    expect(reload.status).toBe(422);
    const error = errorOf(reload);
    expect(error.code).toBe('WG_ERR_RELOAD_CONFIG');
    expect(error.message).toContain('missing.wasm does not exist');
    expect((await s!.post('/v1/evaluate', EVALUATE)).body.resource.description).toBe('version A');
  });
});
