/**
 * Where the conformance suite finds the real guards of the compatible
 * gateway (built from its public source; see ../shared/guards/README.md).
 * `.ci/run` sets WASMGUARD_REAL_GUARDS_DIR; without it the suite skips and
 * says why. In CI (CI=true) a directory that was set but lacks the guard, or
 * a guard whose digest is not the one built there, fails loudly instead: a
 * skipped conformance suite must not pass for a tested one.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export const REAL_GUARDS_ENV = 'WASMGUARD_REAL_GUARDS_DIR';

/** The github guard of gh-aw-mcpg at db205411, as shared/guards/README.md describes it. */
export const GITHUB_GUARD = {
  file: 'github-guard-db205411.wasm',
  sha256: '06ec99712012f1f908343e3a07de45b1f801a9a58096b522dd19859c1a95a2b0',
} as const;

export type Located = { path: string } | { skip: string } | { fail: string };

export function locateRealGuard(guard: { file: string; sha256: string }, env: NodeJS.ProcessEnv = process.env): Located {
  const dir = env[REAL_GUARDS_ENV];
  if (!dir) return { skip: `${REAL_GUARDS_ENV} is not set (CI sets it to ../shared/guards); the real-guard conformance suite did not run` };
  const path = resolve(dir, guard.file);
  const ci = env.CI === 'true';
  if (!existsSync(path)) {
    const problem = `${REAL_GUARDS_ENV}=${dir} but ${path} does not exist`;
    return ci ? { fail: `${problem}: in CI the conformance suite must run` } : { skip: `${problem}; the real-guard conformance suite did not run` };
  }
  const digest = createHash('sha256').update(readFileSync(path)).digest('hex');
  if (digest !== guard.sha256) return { fail: `${path} has sha256 ${digest}, expected ${guard.sha256} (the build that shared/guards/README.md describes)` };
  return { path };
}
