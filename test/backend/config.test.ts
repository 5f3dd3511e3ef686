import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createBackends } from '../../src/backend/index.js';
import { redactor, resolveHeaders } from '../../src/backend/headers.js';
import { ConfigError } from '../../src/config/errors.js';
import type { ResolvedConfig } from '../../src/config/load.js';
import { SERVER_DEFAULTS } from '../../src/config/settings.js';
import { createService } from '../../src/service/service.js';
import { memoryLogger } from './helpers/logs.js';

const RUST_GUARD = new URL('../fixtures/rust-guard/rust_guard.wasm', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'wasmguard-backend-'));

describe('backend headers', () => {
  it('reads env: from the environment, file: from a file (one trailing newline dropped), and takes other values as written', () => {
    const file = join(dir, 'token');
    writeFileSync(file, 'file-secret-123\n');
    const r = resolveHeaders('gh', { Authorization: 'env:GH_TOKEN', 'X-Api-Key': `file:${file}`, 'X-Version': '2022-11-28' }, { GH_TOKEN: 'Bearer env-secret-456' });
    expect(r.problems).toEqual([]);
    expect(r.headers).toEqual({ authorization: 'Bearer env-secret-456', 'x-api-key': 'file-secret-123', 'x-version': '2022-11-28' });
  });

  it('names backend, header and variable or file for each problem, never the value', () => {
    const r = resolveHeaders(
      'gh',
      {
        authorization: 'env:GH_TOKEN',
        'x-empty': 'env:EMPTY',
        'x-file': `file:${join(dir, 'missing')}`,
        'x-inject': 'env:INJECT',
        'Mcp-Session-Id': 'fixed',
        'bad header': 'x',
      },
      { EMPTY: '', INJECT: 'secret-value\r\nx-evil: 1' },
    );
    expect(r.problems).toEqual([
      'backends.gh.headers.authorization: environment variable GH_TOKEN is not set',
      'backends.gh.headers.x-empty: environment variable EMPTY is not set',
      `backends.gh.headers.x-file: cannot read file ${join(dir, 'missing')}: ENOENT`,
      'backends.gh.headers.x-inject: the value contains a line break, NUL or other control character',
      'backends.gh.headers.Mcp-Session-Id: this header is set by WasmGuard itself and cannot be configured',
      'backends.gh.headers.bad header: not a valid header name',
    ]);
    expect(r.problems.join('\n')).not.toContain('secret-value');
  });

  it('the redactor hides configured values, and the token part of "Scheme token" values', () => {
    const redact = redactor(['Bearer tok_abcdef123', 'k3y!']);
    expect(redact('got Bearer tok_abcdef123 and tok_abcdef123 and k3y!')).toBe('got [redacted] and [redacted] and [redacted]');
    expect(redactor([])('unchanged')).toBe('unchanged');
  });
});

describe('createBackends configuration', () => {
  it('an env: header whose variable is unset is a startup error naming backend and header', () => {
    const attempt = () =>
      createBackends(
        {
          'github-mcp': { type: 'mcp', url: 'http://127.0.0.1:9/mcp', headers: { authorization: 'env:WG_TEST_UNSET_TOKEN' } },
          other: { type: 'http', url: 'http://user:pw@127.0.0.1:9/x' },
        },
        { logger: pino({ level: 'silent' }), env: {} },
      );
    expect(attempt).toThrow(ConfigError);
    try {
      attempt();
    } catch (error) {
      expect((error as ConfigError).problems).toEqual([
        'backends.github-mcp.headers.authorization: environment variable WG_TEST_UNSET_TOKEN is not set',
        'backends.other.url must not hold credentials; put them in a header (env: or file:)',
      ]);
    }
  });

  it('createService refuses to start without the secret, before loading guards', async () => {
    const config: ResolvedConfig = {
      server: { ...SERVER_DEFAULTS, host: '127.0.0.1', port: 0, logLevel: 'silent' },
      guards: [{ name: 'rust', path: RUST_GUARD, poolSize: 1, timeoutMs: 1000, memoryLimitMb: 32, backend: 'gh' }],
      backends: { gh: { type: 'mcp', url: 'http://127.0.0.1:9/mcp', headers: { authorization: 'env:WG_TEST_UNSET_TOKEN' } } },
    };
    await expect(createService(config, { logger: pino({ level: 'silent' }), env: {} })).rejects.toThrow(
      /backends\.gh\.headers\.authorization: environment variable WG_TEST_UNSET_TOKEN is not set/,
    );
  });

  it('logs each backend without header values, URL credentials or query, and warns when there is no tools allowlist', () => {
    const { logger, lines } = memoryLogger();
    const backends = createBackends(
      {
        gh: { type: 'mcp', url: 'http://127.0.0.1:9/mcp?token=query-secret', headers: { authorization: 'env:TOKEN' }, tools: ['get_repository'] },
        plain: { type: 'http', url: 'http://127.0.0.1:9/lookup' },
      },
      { logger, env: { TOKEN: 'Bearer header-secret' } },
    );
    const text = JSON.stringify(lines);
    expect(text).not.toContain('header-secret');
    expect(text).not.toContain('query-secret');
    expect(lines.find((l) => l.msg === 'backend configured' && l.obj.backend === 'gh')?.obj).toMatchObject({
      type: 'mcp',
      url: 'http://127.0.0.1:9/mcp',
      headers: ['authorization'],
      tools: ['get_repository'],
      timeoutMs: 2000,
      maxResponseBytes: 4 * 1024 * 1024,
      maxConcurrent: 8,
    });
    expect(lines.filter((l) => l.level === 'warn').map((l) => l.obj.backend)).toEqual(['plain']);
    expect(backends.handlerFor({ name: 'g', path: '', timeoutMs: 1, memoryLimitMb: 1 })).toBeUndefined();
    expect(typeof backends.handlerFor({ name: 'g', path: '', timeoutMs: 1, memoryLimitMb: 1, backend: 'gh' })).toBe('function');
    expect(() => backends.handlerFor({ name: 'g', path: '', timeoutMs: 1, memoryLimitMb: 1, backend: 'nope' })).toThrow(/unknown backend "nope"/);
    return backends.close();
  });

  it('toolBackends sends a named tool to its own backend and every other tool to `backend`', async () => {
    const seen: string[] = [];
    const { startRawServer, sendJson } = await import('./helpers/raw-server.js');
    const servers = await Promise.all(
      ['mcp-like', 'rest'].map((name) =>
        startRawServer((req, res) => {
          seen.push(`${name}:${(req.json as { tool: string }).tool}`);
          sendJson(res, 200, { from: name });
        }),
      ),
    );
    const { logger } = memoryLogger();
    const backends = createBackends(
      { main: { type: 'http', url: servers[0]!.url }, rest: { type: 'http', url: servers[1]!.url } },
      { logger },
    );
    try {
      const guard = { name: 'g', path: '', timeoutMs: 1, memoryLimitMb: 1 };
      const handler = backends.handlerFor({ ...guard, backend: 'main', toolBackends: { get_collaborator_permission: 'rest' } })!;
      const call = async (tool: string) => String(await handler(tool, '{}', AbortSignal.timeout(10_000)));
      expect(await call('search_repositories')).toBe('{"from":"mcp-like"}');
      expect(await call('get_collaborator_permission')).toBe('{"from":"rest"}');
      expect(seen).toEqual(['mcp-like:search_repositories', 'rest:get_collaborator_permission']);
      // Only the mapped tool reaches anything when there is no main backend.
      const only = backends.handlerFor({ ...guard, toolBackends: { get_collaborator_permission: 'rest' } })!;
      expect(await only('search_repositories', '{}', AbortSignal.timeout(10_000))).toBeUndefined();
      expect(() => backends.handlerFor({ ...guard, toolBackends: { x: 'nope' } })).toThrow(/toolBackends.x names unknown backend "nope"/);
    } finally {
      await backends.close();
      await Promise.all(servers.map((s) => s.close()));
    }
  });
});
