/**
 * The shipped process starts one instance of each guard (WASMGUARD_POOL_WARM, default 1) and grows a
 * guard's pool to its size only when calls for it wait (issue 20: each instance is a worker thread of
 * about 12 MB of idle memory).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServerProcess, type ServerProcess } from '../support/process.js';

let server: ServerProcess;
beforeAll(async () => {
  // A fixed size, so the test does not depend on the machine's cores.
  server = await startServerProcess({ WASMGUARD_POOL_SIZE: '3' }, 60_000);
}, 90_000);
afterAll(async () => {
  server?.child.kill('SIGTERM');
  await server?.exited;
});

type Guards = { guards: Array<{ name: string; pool: { size: number; instances: Record<string, number> } }> };
const pools = async () => {
  const body = (await (await fetch(`${server.url}/v1/guards`)).json()) as Guards;
  return Object.fromEntries(body.guards.map((g) => [g.name, g.pool]));
};
const workerThreads = async () => {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  return Number(/^wasmguard_worker_threads (\d+)/m.exec(text)?.[1]);
};
const started = (instances: Record<string, number>) => instances.idle! + instances.busy! + instances.starting!;

describe('node dist/server.js: pools start warm and grow under load', () => {
  it('starts one instance per guard; concurrent calls grow only the guard they go to, up to its size', async () => {
    const before = await pools();
    expect(Object.keys(before)).toEqual(['github', 'static']);
    for (const pool of Object.values(before)) expect(pool).toMatchObject({ size: 3, instances: { idle: 1, busy: 0, starting: 0 } });
    expect(await workerThreads()).toBe(2);

    // 32 clients, one request after another, for about two seconds, all to the github guard.
    const body = JSON.stringify({ guard: 'github', tool: 'list_issues', args: { owner: 'octo', repo: 'x' }, agent: { secrecy: [], integrity: [] } });
    const until = performance.now() + 2000;
    const statuses = new Map<number, number>();
    const client = async () => {
      while (performance.now() < until) {
        const reply = await fetch(`${server.url}/v1/evaluate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        await reply.arrayBuffer();
        statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: 32 }, client));
    expect([...statuses.keys()]).toEqual([200]);

    const after = await pools();
    expect(started(after.github!.instances)).toBeGreaterThan(1);
    expect(started(after.github!.instances)).toBeLessThanOrEqual(3);
    expect(after.static!.instances).toMatchObject({ idle: 1, busy: 0, starting: 0 });
    expect(await workerThreads()).toBe(1 + started(after.github!.instances));
  }, 60_000);
});
