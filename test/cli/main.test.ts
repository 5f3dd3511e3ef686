/**
 * The `wasmguard` command itself: --version, --help with every setting,
 * `serve` as the server (started as its own process, driven over HTTP), and
 * `npx wasmguard` resolving this project's own bin from the clone.
 */
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { SETTINGS } from '../../src/config/settings.js';
import { CLI_ENTRY, REPO_ROOT, runCli } from '../support/cli.js';

const version = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

describe('wasmguard', () => {
  it('--version prints package.json\'s version', async () => {
    for (const flag of ['--version', '-v']) expect(await runCli([flag])).toMatchObject({ code: 0, stdout: `${version}\n` });
  });

  it('--help lists the commands and every setting with its flag, variable and help text', async () => {
    const { code, stdout } = await runCli(['--help']);
    expect(code).toBe(0);
    for (const command of ['serve', 'check GUARD.wasm', 'test CASES', 'init NAME']) expect(stdout).toContain(command);
    for (const s of SETTINGS) expect(stdout).toMatch(new RegExp(`--${s.flag} .*${s.env} +${s.help.replace(/[()*]/g, '\\$&')}`));
    const serve = await runCli(['serve', '--help']);
    expect(serve.code).toBe(0);
    for (const s of SETTINGS) expect(serve.stdout).toContain(`--${s.flag}`);
  });

  it('no command prints the usage and exits 2; an unknown one names it', async () => {
    expect(await runCli([])).toMatchObject({ code: 2, stdout: expect.stringContaining('Usage: wasmguard <command>') });
    expect(await runCli(['frobnicate'])).toMatchObject({ code: 2, stderr: expect.stringContaining('unknown command "frobnicate"') });
  });

  it('serve is the server: it listens, answers /healthz and a decision, and stops cleanly on SIGTERM', async () => {
    const child = spawn(process.execPath, [CLI_ENTRY, 'serve', '--host', '127.0.0.1', '--port', '0', '--pool-size', '1'], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const listening = await new Promise<Record<string, unknown>>((resolve, reject) => {
        createInterface({ input: child.stdout! }).on('line', (line) => {
          const entry = JSON.parse(line) as Record<string, unknown>;
          if (entry.msg === 'wasmguard listening') resolve(entry);
        });
        void exited.then((code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
      });
      expect(listening.guards).toEqual(['github', 'static']);
      const base = listening.address as string;
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      const reply = await fetch(`${base}/v1/evaluate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ guard: 'static', tool: 'anything' }),
      });
      expect(await reply.json()).toMatchObject({ decision: 'allow', operation: 'read' });
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(stderr).toBe('');
  });

  it('a bad setting is the server\'s configuration error (exit 2)', async () => {
    const result = await runCli(['serve', '--port', 'eighty']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--port must be a non-negative integer');
  });

  it('npx wasmguard runs this clone\'s own bin (npm exec resolves the project\'s bin)', async () => {
    const { stdout } = await promisify(execFile)('npx', ['--no-install', 'wasmguard', '--version'], { cwd: join(REPO_ROOT, 'guards'), timeout: 60_000 });
    expect(stdout.trim()).toBe(version);
  });
});
