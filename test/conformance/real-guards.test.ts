/** How the conformance suite decides to run, skip, or fail. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GITHUB_GUARD, locateRealGuard, REAL_GUARDS_ENV } from './real-guards.js';

describe('locateRealGuard', () => {
  const empty = mkdtempSync(join(tmpdir(), 'wg-real-guards-'));

  it('skips, saying why, when the variable is not set (even in CI: only .ci/run sets it)', () => {
    expect(locateRealGuard(GITHUB_GUARD, {})).toEqual({ skip: expect.stringContaining(`${REAL_GUARDS_ENV} is not set`) });
    expect(locateRealGuard(GITHUB_GUARD, { CI: 'true' })).toHaveProperty('skip');
  });

  it('skips outside CI and fails in CI when the directory lacks the guard', () => {
    expect(locateRealGuard(GITHUB_GUARD, { [REAL_GUARDS_ENV]: empty })).toEqual({ skip: expect.stringContaining('does not exist') });
    expect(locateRealGuard(GITHUB_GUARD, { [REAL_GUARDS_ENV]: empty, CI: 'true' })).toEqual({ fail: expect.stringContaining('in CI the conformance suite must run') });
  });

  it('fails on a file that is not the documented build', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wg-real-guards-'));
    writeFileSync(join(dir, GITHUB_GUARD.file), 'not the guard');
    expect(locateRealGuard(GITHUB_GUARD, { [REAL_GUARDS_ENV]: dir })).toEqual({ fail: expect.stringContaining('expected 06ec9971') });
  });
});
