/**
 * The template: `wasmguard init NAME` in a checkout-like folder (guards/lib and
 * guards/build.mjs as in a clone), then the README's steps: build it with the
 * repository's build script, `wasmguard check` it, and its case file passes
 * `wasmguard test`.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, runCli } from '../support/cli.js';

let root = '';

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'wasmguard-init-'));
  mkdirSync(join(root, 'guards'));
  cpSync(join(REPO_ROOT, 'guards', 'lib'), join(root, 'guards', 'lib'), { recursive: true });
  cpSync(join(REPO_ROOT, 'guards', 'build.mjs'), join(root, 'guards', 'build.mjs'));
  // The clone's installed dependencies (the AssemblyScript compiler among them).
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(root, 'node_modules'), 'dir');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('wasmguard init', () => {
  it('creates a guard that builds, passes check, and passes its own case file', async () => {
    const init = await runCli(['init', 'demo'], { cwd: root });
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toContain('created guards/demo/assembly/index.ts and guards/demo/demo.cases.yaml');
    const source = readFileSync(join(root, 'guards', 'demo', 'assembly', 'index.ts'), 'utf8');
    expect(source).toContain('"secret:demo"');
    expect(source).not.toContain('__NAME__');

    await promisify(execFile)(process.execPath, ['guards/build.mjs', 'demo'], { cwd: root, timeout: 120_000 });
    expect(existsSync(join(root, 'guards', 'demo.wasm'))).toBe(true);

    const check = await runCli(['check', 'guards/demo.wasm'], { cwd: root });
    expect(check.code, check.stdout).toBe(0);
    const test = await runCli(['test', 'guards/demo/demo.cases.yaml'], { cwd: root });
    expect(test.code, test.stdout).toBe(0);
    expect(test.stdout).toMatch(/# pass [1-9]\d*\n# fail 0\n/);
  }, 180_000);

  it('refuses a bad name, an existing folder and a folder without the guard library (exit 2)', async () => {
    expect(await runCli(['init', 'Bad Name'], { cwd: root })).toMatchObject({ code: 2, stderr: expect.stringContaining('must start with a lowercase letter') });
    mkdirSync(join(root, 'guards', 'taken'));
    expect(await runCli(['init', 'taken'], { cwd: root })).toMatchObject({ code: 2, stderr: expect.stringContaining('exists already') });
    expect(await runCli(['init', 'x'], { cwd: tmpdir() })).toMatchObject({ code: 2, stderr: expect.stringContaining('lib/abi.ts not found') });
  });
});
