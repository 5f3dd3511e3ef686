#!/usr/bin/env node
// Builds every sample guard: guards/<name>/assembly/index.ts -> guards/<name>.wasm
// with the AssemblyScript compiler (a dev dependency), then checks that each
// module has exactly the guard ABI's shape (see guards/README.md).
//
//   node guards/build.mjs            build what is out of date
//   node guards/build.mjs --force    rebuild everything
//   node guards/build.mjs github     build only the named guard(s)
//
// A guard is out of date when its .wasm is older than any file under
// guards/<name>/assembly/, guards/lib/, this script, or the installed compiler
// (its case files next to assembly/ are not sources).
// Exits non-zero with the compiler's diagnostics when anything fails.

import { existsSync, readdirSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const GUARDS_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(GUARDS_DIR);
const LIB_DIR = join(GUARDS_DIR, 'lib');

/** Compiler flags shared by every guard (documented in guards/README.md). */
const ASC_FLAGS = [
  '-O3s', // speed first, some size (optimizeLevel 3, shrinkLevel 1); no debug info
  '--runtime', 'minimal', // no GC during a call; each label function collects as it returns (lib/abi.ts)
  '--use', 'abort=guards/lib/abi/guardAbort', // no env.abort import: log via host_log, then trap
  '--noColors',
];

const ALLOWED_IMPORTS = new Set(['env.call_backend', 'env.host_log']);
const REQUIRED_EXPORTS = ['memory', 'label_agent', 'label_resource', 'label_response', 'alloc', 'dealloc'];

function newestMtime(path) {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const entry of readdirSync(path)) {
    newest = Math.max(newest, newestMtime(join(path, entry)));
  }
  return newest;
}

function discoverGuards() {
  return readdirSync(GUARDS_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(GUARDS_DIR, d.name, 'assembly', 'index.ts')))
    .map((d) => d.name)
    .sort();
}

/** Problems with the module's imports/exports, as human-readable strings. */
function checkShape(bytes) {
  const problems = [];
  const mod = new WebAssembly.Module(bytes);
  for (const imp of WebAssembly.Module.imports(mod)) {
    const name = `${imp.module}.${imp.name}`;
    if (!ALLOWED_IMPORTS.has(name) && imp.module !== 'wasi_snapshot_preview1') {
      problems.push(`imports ${name}, which the host does not provide`);
    }
  }
  const exports = new Map(WebAssembly.Module.exports(mod).map((e) => [e.name, e.kind]));
  for (const name of REQUIRED_EXPORTS) {
    const kind = name === 'memory' ? 'memory' : 'function';
    if (exports.get(name) !== kind) problems.push(`does not export ${kind} ${name}`);
  }
  if (exports.has('_start')) problems.push('exports _start (the host never runs it; build as a library)');
  return problems;
}

async function buildGuard(asc, name) {
  const entry = `guards/${name}/assembly/index.ts`;
  const outRel = `guards/${name}.wasm`;
  let binary = null;
  const started = performance.now();
  const result = await asc.main([entry, '--outFile', outRel, '--baseDir', ROOT, ...ASC_FLAGS], {
    writeFile(filename, contents) {
      if (filename.endsWith('.wasm')) binary = contents;
    },
  });
  const ms = Math.round(performance.now() - started);
  if (result.error) {
    const diagnostics = result.stderr.toString().trim();
    throw new Error(`${entry}: ${result.error.message}${diagnostics ? `\n${diagnostics}` : ''}`);
  }
  if (!binary) throw new Error(`${entry}: the compiler produced no binary`);
  const problems = checkShape(binary);
  if (problems.length > 0) {
    throw new Error(`${outRel} is not a valid guard:\n  - ${problems.join('\n  - ')}`);
  }
  // Write atomically: a half-written .wasm must never look up to date.
  const out = join(ROOT, outRel);
  const tmp = `${out}.${process.pid}.tmp`;
  writeFileSync(tmp, binary);
  renameSync(tmp, out);
  return { ms, size: binary.length };
}

async function main() {
  const args = process.argv.slice(2);
  const force = args.includes('--force');
  const wanted = args.filter((a) => !a.startsWith('--'));
  const all = discoverGuards();
  const unknown = wanted.filter((n) => !all.includes(n));
  if (unknown.length > 0) {
    throw new Error(`no such guard: ${unknown.join(', ')} (found: ${all.join(', ') || 'none'})`);
  }
  const names = wanted.length > 0 ? wanted : all;
  if (names.length === 0) throw new Error(`no guards found under ${relative(ROOT, GUARDS_DIR)}/<name>/assembly/index.ts`);

  const compilerPackage = join(ROOT, 'node_modules', 'assemblyscript', 'package.json');
  if (!existsSync(compilerPackage)) {
    // e.g. a production install (npm ci --omit=dev) of a tree whose guards were built earlier
    const missing = names.filter((n) => !existsSync(join(GUARDS_DIR, `${n}.wasm`)));
    if (missing.length > 0) {
      throw new Error(
        `the AssemblyScript compiler is not installed and ${missing.map((n) => `${n}.wasm`).join(', ')} ` +
          'must be built: run npm install (with dev dependencies) first',
      );
    }
    console.log('guards: AssemblyScript is not installed; using the existing guards/*.wasm');
    return;
  }
  const shared = Math.max(newestMtime(LIB_DIR), statSync(fileURLToPath(import.meta.url)).mtimeMs, statSync(compilerPackage).mtimeMs);

  let asc = null;
  for (const name of names) {
    const out = join(GUARDS_DIR, `${name}.wasm`);
    const newestSource = Math.max(shared, newestMtime(join(GUARDS_DIR, name, 'assembly')));
    if (!force && existsSync(out) && statSync(out).mtimeMs > newestSource) {
      console.log(`guards: ${name}.wasm is up to date`);
      continue;
    }
    asc ??= (await import('assemblyscript/asc')).default;
    const { ms, size } = await buildGuard(asc, name);
    console.log(`guards: built ${name}.wasm (${size} bytes) in ${ms} ms`);
  }
}

main().catch((error) => {
  for (const name of discoverGuards()) {
    const tmp = join(GUARDS_DIR, `${name}.wasm.${process.pid}.tmp`);
    if (existsSync(tmp)) unlinkSync(tmp);
  }
  console.error(`guards: build failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
