/**
 * WASMGUARD_WATCH with the layout Kubernetes mounts a ConfigMap in: the
 * guards are symlinks through `..data`, and an update renames a new `..data`
 * symlink over the old one. Real service, real folder, real fs.watch.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { ConfigMapVolume, labellingGuard, sha256 } from '../support/reload-guards.js';
import { startService, type TestService } from '../support/server.js';

let A: Uint8Array;
let B: Uint8Array;
let dir: string;
let s: TestService | undefined;

beforeAll(async () => {
  A = await labellingGuard('version A');
  B = await labellingGuard('version B');
});
afterEach(async () => {
  await s?.close();
  s = undefined;
  rmSync(dir, { recursive: true, force: true });
});

const EVALUATE = { guard: 'swap', tool: 'get_thing', agent: { secrecy: [], integrity: [] } };

/** Polls GET /v1/guards until the guard reaches `version` (at most ~30 s; no timing is asserted). */
async function untilVersion(version: number): Promise<Record<string, any>> {
  for (let i = 0; i < 600; i++) {
    const guard = ((await s!.get('/v1/guards')).body.guards as Array<Record<string, any>>).find((g) => g.name === 'swap');
    if (guard && guard.version >= version) return guard;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`guard swap did not reach version ${version}`);
}

async function start(env: Record<string, string>): Promise<void> {
  const readConfig = () => loadConfig({ argv: [], env: { WASMGUARD_POOL_SIZE: '1', ...env } });
  s = await startService({ guards: readConfig().guards, readConfig, server: { watch: true }, pressure: { maxEventLoopDelayMs: 0 } });
}

describe('WASMGUARD_WATCH on a ConfigMap volume', () => {
  it('reloads once per ..data swap of the guards folder, and keeps watching after each swap', async () => {
    dir = mkdtempSync(join(tmpdir(), 'wg-watch-'));
    const volume = new ConfigMapVolume(join(dir, 'guards'));
    volume.swap({ 'swap.wasm': A });
    await start({ WASMGUARD_GUARDS_DIR: volume.dir });
    expect((await s!.post('/v1/evaluate', EVALUATE)).body.resource.description).toBe('version A');

    volume.swap({ 'swap.wasm': B });
    expect(await untilVersion(2)).toMatchObject({ digest: sha256(B) });
    expect((await s!.post('/v1/evaluate', EVALUATE)).body).toMatchObject({ guard_digest: sha256(B), resource: { description: 'version B' } });

    // The second swap is seen too: the watcher was re-armed after the first.
    volume.swap({ 'swap.wasm': A });
    expect(await untilVersion(3)).toMatchObject({ digest: sha256(A) });
    // A swap is several file events; each was debounced into one reload.
    const metrics = (await s!.get('/metrics')).text;
    expect(metrics).toContain('wasmguard_guard_reloads_total{guard="swap",result="updated"} 2');
  });

  it('follows a config file mounted the same way', async () => {
    dir = mkdtempSync(join(tmpdir(), 'wg-watch-'));
    const volume = new ConfigMapVolume(join(dir, 'etc'));
    const config = (digest: string) => JSON.stringify({ guards: { swap: { path: 'swap.wasm', sha256: digest } } });
    volume.swap({ 'config.json': config(sha256(A)), 'swap.wasm': A });
    await start({ WASMGUARD_CONFIG: join(volume.dir, 'config.json') });

    // A new pin with the new module: both change in one swap.
    volume.swap({ 'config.json': config(sha256(B)), 'swap.wasm': B });
    expect(await untilVersion(2)).toMatchObject({ digest: sha256(B) });
    expect((await s!.post('/v1/evaluate', EVALUATE)).body.resource.description).toBe('version B');
  });

  it('follows a guards folder named through ..data itself, whose old target is deleted by each swap', async () => {
    dir = mkdtempSync(join(tmpdir(), 'wg-watch-'));
    const volume = new ConfigMapVolume(join(dir, 'guards'));
    volume.swap({ 'swap.wasm': A });
    await start({ WASMGUARD_GUARDS_DIR: join(volume.dir, '..data') });
    volume.swap({ 'swap.wasm': B });
    expect(await untilVersion(2)).toMatchObject({ digest: sha256(B) });
    volume.swap({ 'swap.wasm': A });
    expect(await untilVersion(3)).toMatchObject({ digest: sha256(A) });
  });
});
