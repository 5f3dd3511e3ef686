#!/usr/bin/env node
/**
 * Guard pool benchmark (issue 4), against the built dist:
 *
 *   1. overhead: label_resource of the Rust fixture guard through a pool of
 *      one worker (sequential calls) vs the same call in-thread on a
 *      GuardInstance; overhead = difference of the medians (target < 50 µs).
 *   2. scaling: a CPU-bound WAT guard (~1 ms per call) with 1 and 2 workers,
 *      64 calls kept in flight, alternating rounds; ratio of the medians
 *      (target >= 1.6x).
 *   3. recovery: time from a trap (the trapping call's rejection) to the pool
 *      being back at full size (idle == size), many times (target < 50 ms).
 *      Also measured for a deadline, which replaces the worker itself.
 *
 *   npx tsc -p tsconfig.build.json && node bench/pool.mjs
 * Options: --calls N (20000) --seconds S (3) --rounds N (3) --recoveries N (200) --spin N (auto: ~1 ms)
 * Writes bench/results/pool.json.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { CompilationCache, GuardInstance } from '../dist/guard/index.js';
import { GuardPool } from '../dist/pool/index.js';
import { constOutputFn, watSourceToWasm } from './lib/wat.mjs';

const { values: opts } = parseArgs({
  options: {
    calls: { type: 'string', default: '20000' },
    seconds: { type: 'string', default: '3' },
    recoveries: { type: 'string', default: '200' },
    spin: { type: 'string' },
    rounds: { type: 'string', default: '3' },
    // Only the real-guard row (written to results/pool-real-guard.json), for a quick run on a loaded machine.
    'real-only': { type: 'boolean', default: false },
  },
});
const CALLS = Number(opts.calls);
const SECONDS = Number(opts.seconds);
const RECOVERIES = Number(opts.recoveries);
const ROUNDS = Number(opts.rounds);

const logger = { debug() {}, info() {}, warn() {}, error() {}, isLevelEnabled: () => false };
const cache = new CompilationCache();
const rust = await cache.load(readFileSync(new URL('../test/fixtures/rust-guard/rust_guard.wasm', import.meta.url)), { name: 'rust' });

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
function summary(samples) {
  const s = Float64Array.from(samples).sort();
  return { n: s.length, median: quantile(s, 0.5), p99: quantile(s, 0.99), max: s[s.length - 1], min: s[0] };
}
const us = (ms) => Math.round(ms * 1000 * 10) / 10;

// ---------------------------------------------------------------- 1. overhead
const INPUT = JSON.stringify({ tool_name: 'get_issue', tool_args: { owner: 'octo-org', repo: 'r1', issue_number: 7 } });
async function overhead(source = rust, input = INPUT, calls = CALLS, policy = undefined) {
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const instance = GuardInstance.create(source);
  // A guard that keeps its policy as instance state gets it on both sides, once.
  if (policy) instance.labelAgent(policy);
  const policyRef = policy ? { key: JSON.stringify(policy), json: JSON.stringify(policy) } : undefined;
  // Same work as the pool's API: a string in, a string out.
  const inThread = () => decoder.decode(instance.invoke('label_resource', encoder.encode(input)));
  const pool = await GuardPool.start(source, { size: 1, logger });
  const viaPool = () => pool.call({ fn: 'label_resource', input, policy: policyRef });
  if ((await viaPool()).output !== inThread()) throw new Error('pool and in-thread outputs differ');

  const direct = [];
  const pooled = [];
  const BLOCKS = 10;
  const perRound = Math.ceil(calls / BLOCKS);
  for (let i = 0; i < Math.min(2000, calls / 4); i++) {
    inThread();
    await viaPool();
  }
  // Alternating rounds, so drift in machine load hits both sides alike.
  for (let round = 0; round < BLOCKS; round++) {
    for (let i = 0; i < perRound; i++) {
      const t0 = performance.now();
      inThread();
      direct.push(performance.now() - t0);
    }
    for (let i = 0; i < perRound; i++) {
      const t0 = performance.now();
      await viaPool();
      pooled.push(performance.now() - t0);
    }
  }
  await pool.close();
  const d = summary(direct);
  const p = summary(pooled);
  return {
    calls: p.n,
    inThread: { medianUs: us(d.median), p99Us: us(d.p99) },
    pool: { medianUs: us(p.median), p99Us: us(p.p99) },
    overheadMedianUs: us(p.median - d.median),
    targetUs: 50,
  };
}

// ---------------------------------------------------------------- 2. scaling
const compileWat = (source) => watSourceToWasm('spin.wat', source);
const RESOURCE_JSON = '{"resource":{"description":"spin","secrecy":[],"integrity":[]},"operation":"read"}';
const constFn = (name, text, at) => constOutputFn(name, text, at, name === 'label_resource' ? '(call $spin)' : '');
/** A guard whose label_resource spins `iterations` turns of an LCG (no allocator: the host places buffers). */
const spinGuard = (iterations) => `(module
  (memory (export "memory") 2)
  (global $sink (mut i32) (i32.const 0))
  (func $spin (local $n i32) (local $acc i32)
    (local.set $n (i32.const ${iterations}))
    (loop $more
      (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 1103515245)) (i32.const 12345)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $more (i32.gt_s (local.get $n) (i32.const 0))))
    (global.set $sink (local.get $acc)))
  ${constFn('label_agent', '{"agent":{"secrecy":[],"integrity":[]}}', 1024)}
  ${constFn('label_resource', RESOURCE_JSON, 2048)}
  ${constFn('label_response', '', 3072)}
)`;

async function spinSource(iterations) {
  const limits = { initialOutputBytes: 4096, maxOutputBytes: 65536, maxInputBytes: 65536 };
  return cache.load(await compileWat(spinGuard(iterations)), { name: 'spin', limits });
}

/** Iterations for ~1 ms per call, measured in-thread (same machine code as in a worker). */
async function calibrate() {
  if (opts.spin) return Number(opts.spin);
  const probe = 1_000_000;
  const instance = GuardInstance.create(await spinSource(probe));
  const input = new TextEncoder().encode('{}');
  for (let i = 0; i < 20; i++) instance.invoke('label_resource', input);
  const times = [];
  for (let i = 0; i < 50; i++) {
    const t0 = performance.now();
    instance.invoke('label_resource', input);
    times.push(performance.now() - t0);
  }
  return Math.round(probe / summary(times).median);
}

async function throughput(source, size) {
  const pool = await GuardPool.start(source, { size, logger, maxQueue: 256, queueTimeoutMs: 60_000 });
  const IN_FLIGHT = 64;
  let done = 0;
  let counting = false;
  let stop = false;
  const client = async () => {
    while (!stop) {
      await pool.call({ fn: 'label_resource', input: '{}' });
      if (counting) done++;
    }
  };
  const clients = Array.from({ length: IN_FLIGHT }, client);
  await sleep(500); // warm-up
  counting = true;
  const t0 = performance.now();
  await sleep(SECONDS * 1000);
  const elapsed = (performance.now() - t0) / 1000;
  const calls = done;
  stop = true;
  await Promise.all(clients);
  await pool.close();
  return { workers: size, callsPerSecond: Math.round(calls / elapsed), calls };
}

async function scaling() {
  const iterations = await calibrate();
  const source = await spinSource(iterations);
  // Alternating rounds, the median of each: other load on the machine drifts over seconds.
  const ones = [];
  const twos = [];
  for (let round = 0; round < ROUNDS; round++) {
    ones.push(await throughput(source, 1));
    twos.push(await throughput(source, 2));
  }
  const median = (runs) => runs.map((r) => r.callsPerSecond).sort((a, b) => a - b)[Math.floor(runs.length / 2)];
  const one = { workers: 1, callsPerSecond: median(ones), rounds: ones.map((r) => r.callsPerSecond) };
  const two = { workers: 2, callsPerSecond: median(twos), rounds: twos.map((r) => r.callsPerSecond) };
  return { iterationsPerCall: iterations, inFlight: 64, seconds: SECONDS, one, two, ratio: Math.round((two.callsPerSecond / one.callsPerSecond) * 100) / 100, target: 1.6 };
}

// ---------------------------------------------------------------- 3. recovery
async function recovery(kind) {
  const size = 2;
  const pool = await GuardPool.start(rust, { size, logger, timeoutMs: kind === 'deadline' ? 50 : 1000 });
  const full = () => {
    const { instances } = pool.state();
    return instances.idle === size;
  };
  const samples = [];
  const n = kind === 'deadline' ? Math.min(RECOVERIES, 30) : RECOVERIES;
  const input = JSON.stringify({ tool_name: kind === 'deadline' ? 'loop_forever' : 'trap_unreachable', tool_args: {} });
  for (let i = 0; i < n; i++) {
    // A success first, so the trap is an isolated one (no backoff), then a quiet pool.
    while (!full()) await sleep(1);
    // (Under heavy machine load the 50 ms deadline can catch a good call too: then wait again.)
    if (!(await pool.call({ fn: 'label_resource', input: INPUT }).then(() => true, () => false))) {
      i--;
      continue;
    }
    if (kind === 'deadline') await sleep(300); // let the spare worker be rebuilt
    while (!full()) await sleep(1);
    const rejected = await pool.call({ fn: 'label_resource', input }).then(
      () => undefined,
      () => performance.now(),
    );
    if (rejected === undefined) throw new Error(`${kind}: the call did not fail`);
    while (!full()) await new Promise(setImmediate);
    samples.push(performance.now() - rejected);
  }
  const { replacements } = pool.state();
  await pool.close();
  const s = summary(samples);
  return { kind, samples: s.n, medianMs: Math.round(s.median * 1000) / 1000, maxMs: Math.round(s.max * 1000) / 1000, replacements, targetMs: 50 };
}

// ------------------------------------------------- 1b. the gateway's real guard
/**
 * The github guard of the compatible gateway (../shared/guards, or
 * WASMGUARD_REAL_GUARDS_DIR): label_resource of a repository read, with the
 * input the service builds (capabilities included) and a policy, through a
 * one-worker pool (dispatch included) next to the same call in-thread (the
 * runtime's floor). No backend on either side: the guard's visibility lookup
 * gets -1 in both, so both do the same work. Skipped when the file is absent.
 */
async function realGuard() {
  const dir = process.env.WASMGUARD_REAL_GUARDS_DIR ?? new URL('../../shared/guards/', import.meta.url).pathname;
  const path = `${dir.replace(/\/$/, '')}/github-guard-db205411.wasm`;
  if (!existsSync(path)) return { skipped: `${path} not found` };
  const source = await cache.load(readFileSync(path), { name: 'github-real' });
  const policy = { 'allow-only': { repos: 'public', 'min-integrity': 'approved' } };
  const input = (tool, args) => JSON.stringify({ tool_name: tool, tool_args: args, capabilities: {} });
  // search_code names no repository: no backend call, so the pool row is dispatch alone.
  const search = await overhead(source, input('search_code', { query: 'wasm' }), Math.min(CALLS, 10000), policy);
  // A repository read asks the backend for the repository's visibility: with no backend configured
  // both answer -1 at once (the pool's worker knows it has none and does not cross to the main thread).
  const read = await overhead(source, input('get_file_contents', { owner: 'octo-org', repo: 'app', path: 'README.md' }), Math.min(CALLS, 10000), policy);
  return { guard: 'github-guard-db205411', goalPoolMedianUs: 60, ...search, tool: 'search_code', repositoryRead: { tool: 'get_file_contents', ...read } };
}

// ---------------------------------------------------------------- run
/** The same comparison for a guard call of ~100 µs: longer than the main thread's spin before it sleeps. */
async function overheadLongCall() {
  const iterations = Math.round((await calibrate()) / 10);
  return { iterationsPerCall: iterations, ...(await overhead(await spinSource(iterations), '{}', Math.min(CALLS, 5000))) };
}

if (opts['real-only']) {
  const row = { date: new Date().toISOString(), node: process.version, cpus: os.availableParallelism(), loadavgBefore: os.loadavg().map((l) => Math.round(l * 100) / 100), ...(await realGuard()) };
  // The fixture guard's row at the same moment: what the machine's load does to dispatch, whatever the guard.
  row.fixtureSameMoment = await overhead(rust, INPUT, Math.min(CALLS, 10000));
  row.loadavgAfter = os.loadavg().map((l) => Math.round(l * 100) / 100);
  await cache.close();
  console.log(JSON.stringify(row, null, 2));
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(new URL('./results/pool-real-guard.json', import.meta.url), `${JSON.stringify(row, null, 2)}\n`);
  process.exit(0);
}

const results = {
  date: new Date().toISOString(),
  node: process.version,
  cpus: os.availableParallelism(),
  cpuModel: os.cpus()[0]?.model,
  loadavg: os.loadavg().map((l) => Math.round(l * 100) / 100),
  overhead: await overhead(),
  realGuard: await realGuard(),
  overheadLongCall: await overheadLongCall(),
  scaling: await scaling(),
  recovery: [await recovery('trap'), await recovery('deadline')],
};
await cache.close();

const { overhead: o, realGuard: rg, overheadLongCall: ol, scaling: sc, recovery: rc } = results;
const pass = (ok) => (ok ? 'ok' : 'MISSED');
const rows = [
  ['label_resource in-thread', `median ${o.inThread.medianUs} µs`, `p99 ${o.inThread.p99Us} µs`, ''],
  ['label_resource via pool (1 worker)', `median ${o.pool.medianUs} µs`, `p99 ${o.pool.p99Us} µs`, ''],
  ['pool overhead per call', `${o.overheadMedianUs} µs`, `target < ${o.targetUs} µs`, pass(o.overheadMedianUs < o.targetUs)],
  ...(rg.skipped
    ? [['real github guard (gateway)', `skipped: ${rg.skipped}`, '', '']]
    : [
        ['real github guard label_resource in-thread', `median ${rg.inThread.medianUs} µs`, `p99 ${rg.inThread.p99Us} µs`, ''],
        ['real github guard label_resource via pool', `median ${rg.pool.medianUs} µs`, `p99 ${rg.pool.p99Us} µs`, `goal <= ${rg.goalPoolMedianUs} µs ${pass(rg.pool.medianUs <= rg.goalPoolMedianUs)}`],
        ['  same, repository read (1 call_backend)', `in-thread ${rg.repositoryRead.inThread.medianUs} µs`, `pool ${rg.repositoryRead.pool.medianUs} µs`, ''],
      ]),
  ['~100 µs guard call in-thread', `median ${ol.inThread.medianUs} µs`, `p99 ${ol.inThread.p99Us} µs`, ''],
  ['~100 µs guard call via pool', `median ${ol.pool.medianUs} µs`, `p99 ${ol.pool.p99Us} µs`, ''],
  ['pool overhead, ~100 µs call', `${ol.overheadMedianUs} µs`, '(no target)', ''],
  [`CPU-bound guard, 1 worker (${sc.iterationsPerCall} iter/call)`, `${sc.one.callsPerSecond} calls/s`, '', ''],
  ['CPU-bound guard, 2 workers', `${sc.two.callsPerSecond} calls/s`, '', ''],
  ['scaling 2 vs 1 worker', `${sc.ratio}x`, `target >= ${sc.target}x`, pass(sc.ratio >= sc.target)],
  ...rc.map((r) => [
    `${r.kind} -> full size (${r.samples} times)`,
    `median ${r.medianMs} ms`,
    `max ${r.maxMs} ms`,
    r.kind === 'trap' ? pass(r.maxMs < r.targetMs) : '(no target)',
  ]),
];
const widths = [0, 1, 2, 3].map((c) => Math.max(...rows.map((r) => r[c].length)));
console.log(`guard pool benchmark — node ${results.node}, ${results.cpus} cpus, load ${results.loadavg.join(' ')}`);
for (const row of rows) console.log(row.map((cell, c) => cell.padEnd(widths[c])).join('  '));

mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/pool.json', import.meta.url), `${JSON.stringify(results, null, 2)}\n`);
