/**
 * The install builds once (`prepare`), except where there is nothing to build
 * yet: the Dockerfile runs `npm ci` with only package.json and the lockfile
 * copied, and `npm ci --omit=dev` in a stage without sources.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from './chart.js';

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'wasmguard-prepare-'));
  copyFileSync(join(repoRoot, 'package.json'), join(dir, 'package.json'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the prepare script', () => {
  it('does nothing, successfully, in a folder without src/ (the Dockerfile\'s npm ci steps)', async () => {
    const { stdout } = await promisify(execFile)('npm', ['run', 'prepare'], { cwd: dir, timeout: 60_000 });
    expect(stdout).toContain('test ! -d src');
    expect(readdirSync(dir)).toEqual(['package.json']);
  });
});
