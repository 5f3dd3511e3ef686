import { mkdtempSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RUST_GUARD } from './support/fixtures.js';
import { startServerProcess, type ServerProcess } from './support/process.js';

/** The shutdown sequence of docs/contract.md §3, on the real process. */
describe('server process shutdown', () => {
  let configPath: string;
  let server: ServerProcess | undefined;

  beforeAll(() => {
    const dir = mkdtempSync(join(tmpdir(), 'wasmguard-shutdown-'));
    configPath = join(dir, 'config.json');
    // Both instances started up front: the tests hold two calls in flight, and a pool growing its second instance
    // on a loaded machine could run them one after the other.
    writeFileSync(configPath, JSON.stringify({ guards: { rust: { path: RUST_GUARD, poolSize: 2, poolWarm: 2, timeoutMs: 20_000 } } }));
  });
  afterEach(() => {
    server?.child.kill('SIGKILL');
    server = undefined;
  });

  const slowEvaluate = (url: string, ms: number) =>
    fetch(`${url}/v1/evaluate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ guard: 'rust', tool: 'sleep', args: { ms } }),
    });

  /** A request on a brand-new connection, so it shows whether the listener still accepts. */
  const freshConnection = (url: string) =>
    new Promise<number | string>((resolve) => {
      const req = httpRequest(`${url}/healthz`, { agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
      req.end();
    });

  const messages = (s: ServerProcess) => s.logs.map((l) => l.msg);

  const busyInstances = async (url: string) => {
    const body = (await (await fetch(`${url}/v1/guards`)).json()) as { guards: Array<{ pool: { instances: { busy: number } } }> };
    return body.guards[0]!.pool.instances.busy;
  };

  /** A guard spinning in wasm (not sleeping in a host call): what a stuck guard looks like. */
  const spin = (url: string) =>
    fetch(`${url}/v1/evaluate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ guard: 'rust', tool: 'loop_forever' }),
    }).catch((error: unknown) => error);

  it('on SIGTERM finishes in-flight requests, refuses new connections, closes pools before the cache, exits 0', async () => {
    server = await startServerProcess({ WASMGUARD_CONFIG: configPath, WASMGUARD_GRACE_MS: '10000' });
    const s = server;
    const inFlight = [slowEvaluate(s.url, 1500), slowEvaluate(s.url, 1500)];
    await expect.poll(() => busyInstances(s.url), { timeout: 5000 }).toBe(2);
    s.child.kill('SIGTERM');
    await expect.poll(() => messages(s).includes('shutdown: closing HTTP server, finishing in-flight requests'), { timeout: 5000 }).toBe(true);
    expect(await freshConnection(s.url)).toBe('ECONNREFUSED');

    const responses = await Promise.all(inFlight);
    expect(responses.map((r) => r.status)).toEqual([200, 200]);
    expect(await s.exited).toEqual({ code: 0, signal: null });

    expect(messages(s).filter((m) => typeof m === 'string' && m.startsWith('shutdown:'))).toEqual([
      'shutdown: started',
      'shutdown: readiness is now false',
      'shutdown: closing HTTP server, finishing in-flight requests',
      'shutdown: listener closed; connections still open after the last call are closed now',
      'shutdown: closing guard pools',
      'shutdown: guard pools closed',
      'shutdown: compilation cache closed',
      'shutdown: backends closed',
      'shutdown: complete',
    ]);
  });

  it('the grace period running out forces exit with a non-zero code', async () => {
    server = await startServerProcess({ WASMGUARD_CONFIG: configPath, WASMGUARD_GRACE_MS: '800' });
    const s = server;
    const inFlight = spin(s.url);
    await expect.poll(() => busyInstances(s.url), { timeout: 5000 }).toBe(1);
    s.child.kill('SIGTERM');
    expect((await s.exited).code).toBe(1);
    expect(messages(s)).toContain('killed by timeout (800ms)');
    expect(messages(s)).not.toContain('shutdown: complete');
    await inFlight;
  });

  it('a second SIGTERM forces exit with a non-zero code', async () => {
    server = await startServerProcess({ WASMGUARD_CONFIG: configPath, WASMGUARD_GRACE_MS: '10000' });
    const s = server;
    const inFlight = spin(s.url);
    await expect.poll(() => busyInstances(s.url), { timeout: 5000 }).toBe(1);
    s.child.kill('SIGTERM');
    await expect.poll(() => messages(s).includes('shutdown: started'), { timeout: 5000 }).toBe(true);
    s.child.kill('SIGTERM');
    const exit = await s.exited;
    expect(exit.code).toBe(1);
    expect(messages(s)).not.toContain('shutdown: complete');
    expect(messages(s)).toContain('second SIGTERM, exiting');
    await inFlight;
  });
});
