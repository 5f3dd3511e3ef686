#!/usr/bin/env node
/**
 * Guard call latency, in-thread (no worker, no HTTP): one label_resource call
 * on a small input through GuardInstance, for a guard with alloc/dealloc and
 * one without (direct-memory fallback), plus the Rust wasm32-wasip1 fixture
 * guard when it is present; and the cost of GuardInstance.create from a module
 * already in the compilation cache.
 *
 * Runs against the built dist:  npx tsc -p tsconfig.build.json && node bench/guard-call.mjs
 * Options: --calls N (20000) --warmup N (2000) --creates N (2000)
 * Writes bench/results/guard-call.json.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { CompilationCache, GuardInstance } from '../dist/guard/index.js';
import { constOutputFn, watSourceToWasm } from './lib/wat.mjs';

const { values: opts } = parseArgs({
  options: {
    calls: { type: 'string', default: '20000' },
    warmup: { type: 'string', default: '2000' },
    creates: { type: 'string', default: '2000' },
  },
});
const CALLS = Number(opts.calls);
const WARMUP = Number(opts.warmup);
const CREATES = Number(opts.creates);

const RESOURCE_JSON =
  '{"resource":{"description":"repo octo-org/r1","secrecy":["private:octo-org/r1"],"integrity":["approved:octo-org"]},"operation":"read"}';
const AGENT_JSON = '{"agent":{"secrecy":[],"integrity":[]},"difc_mode":"filter"}';

// A bump allocator that resets when everything is freed, like test/support/guards.ts.
const ALLOCATOR = `
  (global $heap (mut i32) (i32.const 65536))
  (global $live (mut i32) (i32.const 0))
  (func (export "alloc") (param $size i32) (result i32)
    (local $ptr i32) (local $need i32)
    (local.set $ptr (global.get $heap))
    (global.set $heap (i32.and (i32.add (i32.add (global.get $heap) (local.get $size)) (i32.const 7)) (i32.const -8)))
    (local.set $need (i32.sub (i32.shr_u (i32.add (global.get $heap) (i32.const 65535)) (i32.const 16)) (memory.size)))
    (if (i32.gt_s (local.get $need) (i32.const 0))
      (then (if (i32.eq (memory.grow (local.get $need)) (i32.const -1)) (then (return (i32.const 0))))))
    (global.set $live (i32.add (global.get $live) (i32.const 1)))
    (local.get $ptr))
  (func (export "dealloc") (param i32 i32)
    (global.set $live (i32.sub (global.get $live) (i32.const 1)))
    (if (i32.eqz (global.get $live)) (then (global.set $heap (i32.const 65536)))))`;

const watGuard = (allocator) => `(module
  (memory (export "memory") 2)
  ${allocator ? ALLOCATOR : ''}
  ${constOutputFn('label_agent', AGENT_JSON, 1024)}
  ${constOutputFn('label_resource', RESOURCE_JSON, 4096)}
  (func (export "label_response") (param i32 i32 i32 i32) (result i32) (i32.const 0)))`;

const wat = (source) => watSourceToWasm('bench.wat', source);

function summarize(samplesNs) {
  const sorted = Float64Array.from(samplesNs).sort();
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] / 1000;
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length / 1000;
  return { n: sorted.length, medianUs: at(0.5), p99Us: at(0.99), meanUs: mean, minUs: sorted[0] / 1000, maxUs: sorted[sorted.length - 1] / 1000 };
}

function timeCalls(fn, n, warmup) {
  for (let i = 0; i < warmup; i++) fn();
  const samples = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    samples[i] = Number(process.hrtime.bigint() - t0);
  }
  return summarize(samples);
}

const cache = new CompilationCache();
const guards = [
  { name: 'wat-alloc', label: 'WAT guard, alloc/dealloc', compiled: await cache.load(await wat(watGuard(true)), { name: 'wat-alloc' }) },
  { name: 'wat-direct', label: 'WAT guard, direct memory (no alloc)', compiled: await cache.load(await wat(watGuard(false)), { name: 'wat-direct' }) },
];
const RUST = new URL('../test/fixtures/rust-guard/rust_guard.wasm', import.meta.url);
if (existsSync(RUST)) {
  guards.push({ name: 'rust', label: 'Rust wasm32-wasip1 guard (serde_json)', compiled: await cache.load(readFileSync(RUST), { name: 'rust' }), rust: true });
}

const TOOL = 'get_issue';
const ARGS = { owner: 'octo-org', repo: 'r1', issue_number: 42 };
const rawInput = new TextEncoder().encode(JSON.stringify({ tool_name: TOOL, tool_args: ARGS }));

const results = { calls: [], create: [] };
for (const guard of guards) {
  const instance = GuardInstance.create(guard.compiled);
  if (guard.rust) instance.labelAgent({ 'allow-only': { repos: 'public', 'min-integrity': 'none' } });
  // Typed call: input JSON built, output parsed (what the service does per decision).
  const typed = timeCalls(() => instance.labelResource(TOOL, ARGS), CALLS, WARMUP);
  // Raw ABI call: pre-encoded input, output bytes (the guard-boundary cost alone).
  const raw = timeCalls(() => instance.invoke('label_resource', rawInput), CALLS, WARMUP);
  results.calls.push({ guard: guard.name, label: guard.label, path: 'labelResource', ...typed });
  results.calls.push({ guard: guard.name, label: guard.label, path: 'invoke (raw bytes)', ...raw });

  const creates = guard.rust ? Math.min(CREATES, 500) : CREATES;
  const created = timeCalls(() => GuardInstance.create(guard.compiled), creates, Math.min(200, creates));
  // First call on a fresh instance: it pays for the 4 MiB output buffer (memory growth) and lazy compilation.
  const first = timeCalls(() => {
    const fresh = GuardInstance.create(guard.compiled);
    if (guard.rust) fresh.labelAgent({ 'allow-only': { repos: 'public' } });
    fresh.labelResource(TOOL, ARGS);
  }, Math.min(creates, 300), 20);
  results.create.push({ guard: guard.name, label: guard.label, what: 'GuardInstance.create (cached module)', ...created });
  results.create.push({ guard: guard.name, label: guard.label, what: guard.rust ? 'create + label_agent + first label_resource' : 'create + first label_resource', ...first });
}

const stats = cache.stats();
const fmt = (n) => n.toFixed(1).padStart(8);
console.log(`\nguard call latency, in-thread (${CALLS} calls after ${WARMUP} warm-up; µs)`);
console.log(`${'guard'.padEnd(12)} ${'path'.padEnd(20)} ${'median'.padStart(8)} ${'p99'.padStart(8)} ${'mean'.padStart(8)}`);
for (const r of results.calls) console.log(`${r.guard.padEnd(12)} ${r.path.padEnd(20)} ${fmt(r.medianUs)} ${fmt(r.p99Us)} ${fmt(r.meanUs)}`);
console.log(`\ninstantiation from the compilation cache (µs)`);
console.log(`${'guard'.padEnd(12)} ${'what'.padEnd(44)} ${'n'.padStart(6)} ${'median'.padStart(8)} ${'p99'.padStart(8)}`);
for (const r of results.create) console.log(`${r.guard.padEnd(12)} ${r.what.padEnd(44)} ${String(r.n).padStart(6)} ${fmt(r.medianUs)} ${fmt(r.p99Us)}`);
console.log(`\ncompilation: ${stats.misses} modules, ${stats.compileMsTotal.toFixed(1)} ms total` + (guards.some((g) => g.rust) ? ` (Rust guard ${(readFileSync(RUST).length / 1024).toFixed(0)} KiB)` : ''));

const out = {
  date: new Date().toISOString(),
  node: process.version,
  cpu: os.cpus()[0]?.model,
  cpus: os.cpus().length,
  settings: { calls: CALLS, warmup: WARMUP, creates: CREATES, tool: TOOL, args: ARGS, inputBytes: rawInput.length },
  compile: { modules: stats.misses, compileMsTotal: stats.compileMsTotal },
  ...results,
};
const dir = new URL('./results/', import.meta.url);
mkdirSync(dir, { recursive: true });
writeFileSync(new URL('guard-call.json', dir), JSON.stringify(out, null, 2) + '\n');
console.log(`\nwrote bench/results/guard-call.json (${performance.now().toFixed(0)} ms)`);
