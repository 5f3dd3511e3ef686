/**
 * The memory session store (lru-cache) in the shipped process: node
 * dist/server.js with WASMGUARD_SESSION_MAX set, driven over HTTP. The
 * least recently used session is evicted and counted, and a maximum past
 * the store's cap stops the start with exit code 2. (The README walkthrough
 * test drives a session's decision record through the same process.)
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVER_ENTRY } from '../support/fixtures.js';
import { startServerProcess, type ServerProcess } from '../support/process.js';
import { untilReady } from '../support/ready.js';

const POLICY = { 'allow-only': { repos: 'public', 'min-integrity': 'approved', 'public-repos': ['octo-org/app'] } };

let server: ServerProcess;
const post = async (path: string, body: unknown) => {
  const r = await fetch(server.url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, body: (await r.json()) as any };
};
const metric = async (name: string) => {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
};

beforeAll(async () => {
  server = await startServerProcess({ WASMGUARD_POOL_SIZE: '1', WASMGUARD_SESSION_MAX: '2' });
  await untilReady(server.url);
}, 60_000);
afterAll(async () => {
  server?.child.kill('SIGTERM');
  await server?.exited;
});

describe('memory session store, shipped process', () => {
  it('evicts the least recently used session past WASMGUARD_SESSION_MAX and counts it', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const created = await post('/v1/sessions', { guard: 'github', mode: 'filter', policy: POLICY });
      expect(created.status).toBe(201);
      ids.push(created.body.session_id);
    }
    expect((await fetch(`${server.url}/v1/sessions/${ids[0]}`)).status).toBe(404);
    expect((await fetch(`${server.url}/v1/sessions/${ids[2]}`)).status).toBe(200);
    expect(await metric('wasmguard_sessions_evicted_total')).toBe(1);
    expect(await metric('wasmguard_sessions_live')).toBe(2);
  });

});

describe('WASMGUARD_SESSION_MAX past the memory store cap', () => {
  it('stops the start with exit code 2, naming the setting and its limit', async () => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('WASMGUARD_')));
    const child = spawn(process.execPath, [SERVER_ENTRY], { env: { ...env, WASMGUARD_PORT: '0', WASMGUARD_SESSION_MAX: '10000001' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(2);
    expect(stderr).toContain('server.sessionMax');
    expect(stderr).toContain('10000000');
  });
});
