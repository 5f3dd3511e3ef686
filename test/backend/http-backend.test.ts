/** HttpBackend: POST {"tool", "args"} to the configured URL over real HTTP; the JSON reply goes to the guard as is. */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BackendConfig } from '../../src/config/schema.js';
import { testBackends, type TestBackends } from './helpers/backends.js';
import { sendJson, startRawServer, type RawHandler, type RawServer } from './helpers/raw-server.js';

let server: RawServer;
let t: TestBackends;
beforeEach(async () => {
  server = await startRawServer();
});
afterEach(async () => {
  await t?.backends.close();
  await server.close();
});
const open = (config: Partial<BackendConfig> = {}, env: NodeJS.ProcessEnv = {}) => {
  t = testBackends({ api: { type: 'http', url: `${server.origin}/lookup?v=1`, ...config } }, env);
  return t;
};

describe('HTTP backend', () => {
  it('POSTs {"tool", "args"} with the configured headers to the configured URL, and passes the reply byte for byte', async () => {
    const reply = '{ "private" : true,\n  "owner": "ü" }';
    server.handle = (_req, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end(reply);
    open({ headers: { 'x-api-key': 'env:KEY' } }, { KEY: 'k-123456789' });
    expect(await t.call('api', 'get_repository', { owner: 'o', repo: 'r' })).toBe(reply);
    const [req] = server.requests;
    expect(req).toMatchObject({ method: 'POST', path: '/lookup?v=1', json: { tool: 'get_repository', args: { owner: 'o', repo: 'r' } } });
    expect(req!.headers['content-type']).toBe('application/json');
    expect(req!.headers['x-api-key']).toBe('k-123456789');
    expect(await t.outcomes('api')).toEqual({ ok: 1 });
  });

  it('any JSON value is accepted as arguments and as reply', async () => {
    server.handle = (req, res) => sendJson(res, 200, [req.json.args]);
    open();
    expect(await t.call('api', 'x', 'plain string')).toBe('["plain string"]');
  });

  it.each<[string, RawHandler, string]>([
    ['HTTP 500', (_req, res) => void res.writeHead(500).end('{}'), 'HTTP 500'],
    ['HTTP 404', (_req, res) => void res.writeHead(404).end(), 'HTTP 404'],
    ['a reply that is not JSON', (_req, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end('nope'), 'the reply is not UTF-8 JSON'],
    ['an empty reply', (_req, res) => void res.writeHead(204).end(), 'the reply is not UTF-8 JSON'],
    ['invalid UTF-8', (_req, res) => void res.writeHead(200).end(Buffer.from([0x22, 0xff, 0x22])), 'the reply is not UTF-8 JSON'],
    ['a redirect', (_req, res) => void res.writeHead(302, { location: 'http://127.0.0.1:1/' }).end(), 'HTTP 302'],
  ])('%s gives -1, counted as error', async (_name, handle, reason) => {
    server.handle = handle;
    open();
    expect(await t.call('api', 'x')).toBeUndefined();
    expect(await t.outcomes('api')).toEqual({ error: 1 });
    expect(t.lines.find((l) => l.obj.outcome === 'error')?.obj.reason).toBe(reason);
  });

  it('a reply over maxResponseBytes gives -1 (too_large)', async () => {
    server.handle = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ data: 'x'.repeat(100_000) }));
    };
    open({ maxResponseBytes: 50_000 });
    expect(await t.call('api', 'x')).toBeUndefined();
    expect(await t.outcomes('api')).toEqual({ too_large: 1 });
  });

  it('a slow reply gives -1 (timeout) at timeoutMs', async () => {
    server.handle = async (_req, res) => {
      await sleep(2000);
      if (!res.destroyed) sendJson(res, 200, {});
    };
    open({ timeoutMs: 150 });
    const started = performance.now();
    expect(await t.call('api', 'x')).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(1000);
    expect(await t.outcomes('api')).toEqual({ timeout: 1 });
  });

  it('a tool outside the allowlist, or arguments that are not JSON, never reach the server', async () => {
    server.handle = (_req, res) => sendJson(res, 200, {});
    open({ tools: ['allowed'] });
    expect(await t.call('api', 'forbidden')).toBeUndefined();
    expect(await t.handler('api')('allowed', '{oops', AbortSignal.timeout(1000))).toBeUndefined();
    expect(server.requests).toHaveLength(0);
    expect(await t.call('api', 'allowed')).toBe('{}');
    expect(await t.outcomes('api')).toEqual({ disallowed: 1, error: 1, ok: 1 });
  });
});
