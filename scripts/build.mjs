#!/usr/bin/env node
// Run at install (`prepare`) and by `npm start`, `npm test` and `npm run bench`:
// builds what is out of date and skips the rest, so a start after install is quick.
// (`npm run build`, which the Dockerfile runs, builds both in full without this script.)
//   - the sample guards: guards/build.mjs (skips each .wasm newer than its sources)
//   - the TypeScript: tsc, skipped while dist/ was built after the last change to
//     src/, the tsconfig files and the lockfile (the stamp dist/.build-stamp)
//
//   node scripts/build.mjs           build what is out of date
//   node scripts/build.mjs --force   rebuild everything

import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const STAMP = join(ROOT, 'dist', '.build-stamp');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const force = process.argv.includes('--force');

function newestMtime(path) {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

function run(args) {
  const result = spawnSync(process.execPath, args, { cwd: ROOT, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

run(['guards/build.mjs', ...(force ? ['--force'] : [])]);

const sources = ['src', 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json'].map((p) => join(ROOT, p)).filter((p) => existsSync(p));
const upToDate = !force && existsSync(STAMP) && statSync(STAMP).mtimeMs > Math.max(...sources.map(newestMtime));
if (upToDate) {
  console.log('build: dist/ is up to date');
} else if (!existsSync(TSC)) {
  // A production install (npm ci --omit=dev) of a tree built earlier.
  if (!existsSync(join(ROOT, 'dist', 'server.js'))) {
    console.error('build: TypeScript is not installed and dist/ is missing: run npm install (with dev dependencies) first');
    process.exit(1);
  }
  console.log('build: TypeScript is not installed; using the existing dist/');
} else {
  const started = performance.now();
  run([TSC, '-p', 'tsconfig.build.json']);
  // tsc writes files without the executable bit; npm sets it on the project's own bin only at install,
  // so a dist/ built again afterwards would leave `npx wasmguard` with "permission denied".
  for (const bin of Object.values(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).bin ?? {})) chmodSync(join(ROOT, bin), 0o755);
  // Written after tsc succeeded: a failed build never looks up to date.
  writeFileSync(STAMP, `${new Date().toISOString()}\n`);
  console.log(`build: compiled TypeScript to dist/ in ${Math.round(performance.now() - started)} ms`);
}
