/**
 * Bearer tokens (docs/contract.md §8): in-process for the rules, and as the
 * shipped process (node dist/server.js) for the SIGHUP reload.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiTokens, parseTokens } from '../../src/http/plugins/auth.js';
import { startServerProcess } from '../support/process.js';
import { untilReady } from '../support/ready.js';
import { errorOf, STATIC_GUARD, startService, type TestService } from '../support/server.js';

const dir = mkdtempSync(join(tmpdir(), 'wasmguard-auth-'));
const silent = { info: () => {}, warn: () => {}, error: () => {} };

describe('token file', () => {
  it('one token per line; blank lines and # comments skipped; spaces trimmed', () => {
    expect(parseTokens('# team a\n  tok-1  \n\n#tok-2\ntok-3\r\n')).toEqual(['tok-1', 'tok-3']);
  });

  it('accepts only a known token after "Bearer", case-insensitively on the scheme', () => {
    const path = join(dir, 'unit');
    writeFileSync(path, 'alpha\nbeta\n');
    const tokens = new ApiTokens(path, silent);
    expect(tokens.accepts('Bearer alpha')).toBe(true);
    expect(tokens.accepts('bearer beta')).toBe(true);
    for (const bad of [undefined, '', 'alpha', 'Basic alpha', 'Bearer', 'Bearer alph', 'Bearer alphaa', 'Bearer gamma', `Bearer ${'a'.repeat(10_000)}`]) {
      expect(tokens.accepts(bad)).toBe(false);
    }
  });

  it('an empty file refuses everything; a failed reload keeps the tokens in force', () => {
    const path = join(dir, 'reload');
    writeFileSync(path, '# nobody\n');
    const tokens = new ApiTokens(path, silent);
    expect(tokens.accepts('Bearer anything')).toBe(false);
    writeFileSync(path, 'fresh\n');
    expect(tokens.reload()).toBe(true);
    expect(tokens.accepts('Bearer fresh')).toBe(true);
    const gone = new ApiTokens(path, silent);
    Object.defineProperty(gone, 'path', { value: join(dir, 'missing') });
    expect(gone.reload()).toBe(false);
    expect(gone.accepts('Bearer fresh')).toBe(true);
  });
});

describe('the service with WASMGUARD_API_TOKENS_FILE', () => {
  let s: TestService;
  beforeAll(async () => {
    const path = join(dir, 'tokens');
    writeFileSync(path, '# gateway\nsecret-token-1\n');
    s = await startService({ guards: [{ name: 'static', path: STATIC_GUARD }], server: { apiTokensFile: path } });
    await untilReady(s.url);
  });
  afterAll(() => s?.close());

  const post = (path: string, body: unknown, auth?: string) =>
    s.post(path, body, { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) });

  it('every /v1 route needs the token: 401 WG_ERR_UNAUTHENTICATED with WWW-Authenticate, decision deny', async () => {
    const missing = await post('/v1/evaluate', { guard: 'static', tool: 'x' });
    expect(missing.status).toBe(401);
    expect(errorOf(missing).code).toBe('WG_ERR_UNAUTHENTICATED');
    expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="wasmguard"');
    const wrong = await post('/v1/sessions', { guard: 'static' }, 'Bearer nope');
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toContain('error="invalid_token"');
    for (const path of ['/v1/guards', '/v1/sessions/AAAAAAAAAAAAAAAAAAAAAA']) {
      expect((await fetch(s.url + path)).status).toBe(401);
    }
    // A percent-escaped spelling of a protected route reaches the same route and the same check.
    const escaped = await fetch(`${s.url}/v1/%67uards`);
    expect([401, 404]).toContain(escaped.status);
  });

  it('with the token the routes answer as usual; sessions too', async () => {
    expect((await post('/v1/evaluate', { guard: 'static', tool: 'x' }, 'Bearer secret-token-1')).status).toBe(200);
    const created = await post('/v1/sessions', { guard: 'static' }, 'Bearer secret-token-1');
    expect(created.status).toBe(201);
    const read = await fetch(`${s.url}/v1/sessions/${created.body.session_id}`, { headers: { authorization: 'Bearer secret-token-1' } });
    expect(read.status).toBe(200);
  });

  it('probes, metrics and the OpenAPI document stay open', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json']) expect((await fetch(s.url + path)).status, path).toBe(200);
  });
});

describe('node dist/server.js: tokens re-read on SIGHUP', () => {
  it('a new token works and a removed one stops working after SIGHUP; the process keeps serving', async () => {
    const path = join(dir, 'process-tokens');
    writeFileSync(path, 'old-token\n');
    const server = await startServerProcess({ WASMGUARD_API_TOKENS_FILE: path, WASMGUARD_POOL_SIZE: '1' });
    try {
      const evaluate = (token: string) =>
        fetch(`${server.url}/v1/evaluate`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ guard: 'static', tool: 'x' }),
        }).then((r) => r.status);
      await expect.poll(() => evaluate('old-token'), { timeout: 15_000 }).toBe(200);
      expect(await evaluate('new-token')).toBe(401);
      writeFileSync(path, '# rotated\nnew-token\n');
      server.child.kill('SIGHUP');
      await expect.poll(() => evaluate('new-token'), { timeout: 10_000 }).toBe(200);
      expect(await evaluate('old-token')).toBe(401);
      expect(server.logs.some((l) => l.msg === 'api tokens reloaded')).toBe(true);
      expect(server.child.exitCode).toBeNull();
    } finally {
      server.child.kill('SIGKILL');
      await server.exited;
    }
  });

  it('a tokens file that cannot be read stops the start with exit code 2', async () => {
    await expect(startServerProcess({ WASMGUARD_API_TOKENS_FILE: join(dir, 'does-not-exist') })).rejects.toThrow(/exited with code 2.*WASMGUARD_API_TOKENS_FILE/s);
  });
});
