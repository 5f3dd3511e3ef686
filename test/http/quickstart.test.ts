/**
 * The quick start: the built entry with no configuration at all (only
 * WASMGUARD_PORT=0 instead of 8080) serves the bundled sample guards, answers
 * /readyz, and exits 0 on SIGTERM.
 */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_GUARDS_DIR, SERVER_ENTRY } from '../support/fixtures.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The test runner's environment without any WASMGUARD_* setting. */
const cleanEnv = () => Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('WASMGUARD_')));

beforeAll(() => {
  // `npm test` builds first; a bare `vitest run` may not have.
  if (!existsSync(`${SAMPLE_GUARDS_DIR}/github.wasm`) || !existsSync(`${SAMPLE_GUARDS_DIR}/static.wasm`)) {
    execFileSync(process.execPath, ['guards/build.mjs'], { cwd: ROOT, stdio: 'inherit' });
  }
  if (!existsSync(SERVER_ENTRY)) {
    execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  }
}, 120_000);

describe('quick start', () => {
  it('node dist/server.js with no configuration serves the sample guards and stops cleanly on SIGTERM', async () => {
    // Nothing of the test runner's own WASMGUARD_* settings leaks in.
    const child = spawn(process.execPath, [SERVER_ENTRY], { cwd: ROOT, env: { ...cleanEnv(), WASMGUARD_PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    const logs: Array<Record<string, unknown>> = [];
    try {
      const listening = await new Promise<Record<string, unknown>>((resolve, reject) => {
        createInterface({ input: child.stdout! }).on('line', (line) => {
          const entry = JSON.parse(line) as Record<string, unknown>;
          logs.push(entry);
          if (entry.msg === 'wasmguard listening') resolve(entry);
        });
        void exited.then(({ code }) => reject(new Error(`server exited with code ${code} before listening; stderr: ${stderr}`)));
      });
      expect(listening.guards).toEqual(['github', 'static']);
      // Listening on localhost only by default (no authentication is on), on the port the system chose.
      const address = new URL(listening.address as string);
      expect(address.hostname).toBe('127.0.0.1');
      const port = Number(address.port);
      expect(port).toBeGreaterThan(0);
      expect(port).not.toBe(8080);
      const base = `http://127.0.0.1:${port}`;

      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: 'ready', session_store: 'up' });

      // The sample guard decides.
      const decision = await fetch(`${base}/v1/evaluate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ guard: 'github', tool: 'create_issue', args: { owner: 'octo-org', repo: 'app' } }),
      });
      expect(decision.status).toBe(200);
      expect(await decision.json()).toMatchObject({ decision: 'deny', operation: 'write', mode: 'strict' });

      child.kill('SIGTERM');
      expect(await exited).toEqual({ code: 0, signal: null });
      expect(logs.map((l) => l.msg)).toContain('shutdown: complete');
      expect(stderr).toBe('');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('a configuration error stops the start with exit code 2 and every problem on stderr', async () => {
    const child = spawn(process.execPath, [SERVER_ENTRY, '--port', 'http'], {
      cwd: ROOT,
      env: { ...cleanEnv(), WASMGUARD_DEFAULT_MODE: 'lenient' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(2);
    expect(stderr).toContain('wasmguard: invalid configuration:');
    expect(stderr).toContain('--port must be a non-negative integer, got "http"');
    expect(stderr).toContain('server.defaultMode must be one of "strict", "filter", "propagate" (from WASMGUARD_DEFAULT_MODE)');
  });
});
