/**
 * Guards and helpers for the pool tests: the Rust fixture guard (real
 * toolchain output with test hooks selected by tool name) and small WAT guards
 * whose behaviour is fixed at build time (spin, trap, failing _initialize).
 */
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { CompilationCache, type CompiledGuard, type GuardLimits } from '../../src/guard/index.js';
import { afterAll, afterEach } from 'vitest';
import { GuardPool, type PoolOptions, type PoolState } from '../../src/pool/index.js';
import type { EvictionReason, PoolObserver } from '../../src/pool/index.js';
import { AGENT_JSON, guardModule, RESOURCE_JSON } from './guards.js';
import { wat } from './wat.js';

export const RUST_GUARD_PATH = new URL('../fixtures/rust-guard/rust_guard.wasm', import.meta.url);

export async function loadRustGuard(cache: CompilationCache, options: { name?: string; limits?: Partial<GuardLimits> } = {}): Promise<CompiledGuard> {
  return cache.load(await readFile(RUST_GUARD_PATH), { name: options.name ?? 'rust', limits: options.limits });
}

/** label_resource input selecting a Rust guard hook (or a plain labelling when `tool` is not a hook). */
export function rustInput(tool: string, args: Record<string, unknown> = {}): string {
  return JSON.stringify({ tool_name: tool, tool_args: args });
}

/** The description out of a label_resource output. */
export function description(output: string): string {
  return (JSON.parse(output) as { resource: { description: string } }).resource.description;
}

/** A logger that drops everything. */
export const quietLogger = { debug() {}, info() {}, warn() {}, error() {}, isLevelEnabled: () => false };

const WASI_CLOCK = '(import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))';

/** Writes `value` as 16 lowercase hex digits at `ptr`. */
const HEX64 = `
  (func $hex64 (param $v i64) (param $ptr i32)
    (local $i i32) (local $d i32)
    (local.set $i (i32.const 15))
    (loop $next
      (local.set $d (i32.wrap_i64 (i64.and (local.get $v) (i64.const 15))))
      (i32.store8 (i32.add (local.get $ptr) (local.get $i))
        (select (i32.add (local.get $d) (i32.const 87)) (i32.add (local.get $d) (i32.const 48)) (i32.gt_u (local.get $d) (i32.const 9))))
      (local.set $v (i64.shr_u (local.get $v) (i64.const 4)))
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (br_if $next (i32.ge_s (local.get $i) (i32.const 0)))))
  (func $now (result i64)
    (drop (call $clock (i32.const 1) (i64.const 1) (i32.const 512)))
    (i64.load (i32.const 512)))
`;

/** A spin loop the compiler cannot drop: it feeds a mutable global. */
const SPIN = `
  (global $sink (export "sink") (mut i32) (i32.const 0))
  (func $spin (param $n i32)
    (local $acc i32)
    (loop $more
      (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 1103515245)) (i32.const 12345)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $more (i32.gt_s (local.get $n) (i32.const 0))))
    (global.set $sink (local.get $acc)))
`;

/**
 * CPU-bound guard: label_resource spins `iterations` turns, then answers
 * RESOURCE_JSON. With `stamps`, it instead answers `<start>-<end>` in hex: the
 * WASI monotonic clock (ns) read in the worker when the call began and ended,
 * so a test can tell whether two calls really ran at the same time.
 */
export function spinGuard(iterations: number, options: { stamps?: boolean } = {}): string {
  const n = `(i32.const ${iterations})`;
  const resource = options.stamps
    ? `
  (func (export "label_resource") (param $in i32) (param $inlen i32) (param $out i32) (param $cap i32) (result i32)
    (local $start i64)
    (if (i32.lt_u (local.get $cap) (i32.const 33)) (then (i32.store (local.get $out) (i32.const 33)) (return (i32.const -2))))
    (local.set $start (call $now))
    (call $spin ${n})
    (call $hex64 (local.get $start) (local.get $out))
    (i32.store8 (i32.add (local.get $out) (i32.const 16)) (i32.const 45))
    (call $hex64 (call $now) (i32.add (local.get $out) (i32.const 17)))
    (i32.const 33))`
    : `
  (func (export "label_resource") (param $in i32) (param $inlen i32) (param $out i32) (param $cap i32) (result i32)
    (if (i32.lt_u (local.get $cap) (i32.const ${Buffer.byteLength(RESOURCE_JSON)}))
      (then (i32.store (local.get $out) (i32.const ${Buffer.byteLength(RESOURCE_JSON)})) (return (i32.const -2))))
    (call $spin ${n})
    (memory.copy (local.get $out) (i32.const 4096) (i32.const ${Buffer.byteLength(RESOURCE_JSON)}))
    (i32.const ${Buffer.byteLength(RESOURCE_JSON)}))`;
  return guardModule({
    imports: options.stamps ? WASI_CLOCK : '',
    resource,
    extra: `${SPIN} ${options.stamps ? HEX64 : ''}`,
  });
}

/** Parses the `<start>-<end>` answer of a stamping spin guard into nanoseconds. */
export function stamps(output: string): { start: bigint; end: bigint } {
  const [start, end] = output.split('-');
  return { start: BigInt(`0x${start}`), end: BigInt(`0x${end}`) };
}

/** label_resource always traps with unreachable. */
export const alwaysTrapGuard = () =>
  guardModule({
    resource: `(func (export "label_resource") (param i32 i32 i32 i32) (result i32) unreachable)`,
  });

/**
 * _initialize traps (or, with `hang`, loops for ever) once the realtime clock
 * is past `cutoffMs` (ms since the epoch): instances made before then work,
 * later ones fail to start. label_resource traps on a one-byte input and loops
 * for ever on a two-byte input, so a test can poison an instance on demand;
 * otherwise it answers RESOURCE_JSON.
 */
export function initFailsAfterGuard(cutoffMs: number, options: { hang?: boolean } = {}): string {
  const cutoffNs = BigInt(Math.round(cutoffMs)) * 1_000_000n;
  const resource = `
  (func (export "label_resource") (param $in i32) (param $inlen i32) (param $out i32) (param $cap i32) (result i32)
    (if (i32.eq (local.get $inlen) (i32.const 1)) (then unreachable))
    (if (i32.eq (local.get $inlen) (i32.const 2)) (then (loop $forever (br $forever))))
    (if (i32.lt_u (local.get $cap) (i32.const ${Buffer.byteLength(RESOURCE_JSON)}))
      (then (i32.store (local.get $out) (i32.const ${Buffer.byteLength(RESOURCE_JSON)})) (return (i32.const -2))))
    (memory.copy (local.get $out) (i32.const 4096) (i32.const ${Buffer.byteLength(RESOURCE_JSON)}))
    (i32.const ${Buffer.byteLength(RESOURCE_JSON)}))`;
  const fail = options.hang ? '(loop $forever (br $forever))' : 'unreachable';
  return guardModule({
    imports: WASI_CLOCK,
    resource,
    extra: `
  (func (export "_initialize")
    (drop (call $clock (i32.const 0) (i64.const 1) (i32.const 512)))
    (if (i64.gt_u (i64.load (i32.const 512)) (i64.const ${cutoffNs})) (then ${fail})))`,
  });
}

/** _initialize never returns. */
export const initLoopGuard = () => guardModule({ extra: '(func (export "_initialize") (loop $forever (br $forever)))' });

/** _initialize always traps: no instance can ever be made. */
export const initTrapGuard = () => guardModule({ extra: '(func (export "_initialize") unreachable)' });

/**
 * label_resource answers RESOURCE_JSON but returns -2 without a size hint
 * while out_cap is under `need`, so the host has to double its buffer.
 */
export function noHintGuard(need: number): string {
  const len = Buffer.byteLength(RESOURCE_JSON);
  return guardModule({
    resource: `
  (func (export "label_resource") (param $in i32) (param $inlen i32) (param $out i32) (param $cap i32) (result i32)
    (if (i32.lt_u (local.get $cap) (i32.const ${need})) (then (i32.store (local.get $out) (i32.const 0)) (return (i32.const -2))))
    (memory.copy (local.get $out) (i32.const 4096) (i32.const ${len}))
    (i32.const ${len}))`,
  });
}

export async function compileWat(cache: CompilationCache, source: string, name = 'wat', limits?: Partial<GuardLimits>): Promise<CompiledGuard> {
  return cache.load(await wat(source), { name, limits });
}

/** Polls until `predicate(pool.state())` holds, or fails after `timeoutMs` showing the last state. */
export async function waitForState(pool: GuardPool, predicate: (state: PoolState) => boolean, timeoutMs = 5000): Promise<PoolState> {
  const until = performance.now() + timeoutMs;
  for (;;) {
    const state = pool.state();
    if (predicate(state)) return state;
    if (performance.now() > until) throw new Error(`pool state never matched; last: ${JSON.stringify(state)}`);
    await sleep(2);
  }
}

/** Instances a pool has started and not lost (idle, busy or starting), from PoolState or /v1/guards' `pool`. */
export const startedOf = (pool: { instances: Record<string, number> }) => pool.instances.idle! + pool.instances.busy! + pool.instances.starting!;

/** All instances idle and live, nothing queued. */
export const fullyIdle = (state: PoolState) =>
  state.instances.idle === state.size && state.instances.busy === 0 && state.instances.starting === 0 && state.instances.poisoned === 0;

export interface ObserverEvent {
  type: keyof PoolObserver;
  at: number;
  args: unknown[];
}

/** A PoolObserver that records every callback with a timestamp. */
export function recordingObserver(): Required<PoolObserver> & { events: ObserverEvent[]; of(type: keyof PoolObserver): unknown[][] } {
  const events: ObserverEvent[] = [];
  const record =
    (type: keyof PoolObserver) =>
    (...args: unknown[]) => {
      events.push({ type, at: performance.now(), args });
    };
  return {
    events,
    of: (type) => events.filter((e) => e.type === type).map((e) => e.args),
    callDuration: record('callDuration'),
    queueWait: record('queueWait'),
    batch: record('batch'),
    trap: record('trap'),
    regrowth: record('regrowth'),
    eviction: record('eviction'),
    replacement: record('replacement'),
    rejected: record('rejected'),
  };
}

export type { EvictionReason };

/** Settles a promise into a value or an error, for tests that expect some calls to fail. */
export function settle<T>(promise: Promise<T>): Promise<{ ok: true; value: T; at: number } | { ok: false; error: unknown; at: number }> {
  return promise.then(
    (value) => ({ ok: true as const, value, at: performance.now() }),
    (error: unknown) => ({ ok: false as const, error, at: performance.now() }),
  );
}

/** Threads of this process right now (Linux): worker threads show up here and disappear when terminated. */
export async function threadCount(): Promise<number> {
  const status = await readFile('/proc/self/status', 'utf8');
  return Number(/^Threads:\s+(\d+)/m.exec(status)?.[1] ?? NaN);
}

/** Thread count once it has held still for 300 ms: workers started or terminated a moment ago have come and gone. */
export async function settledThreads(): Promise<number> {
  let last = await threadCount();
  for (let still = 0, i = 0; still < 6 && i < 100; i++) {
    await sleep(50);
    const now = await threadCount();
    still = now === last ? still + 1 : 0;
    last = now;
  }
  return last;
}

/**
 * label_agent calls env.call_backend("t", "{}") into a 64 KiB buffer before
 * answering AGENT_JSON (as a guard that looks something up while it takes in
 * its policy would); label_resource echoes its input back as output.
 */
export function backendInAgentGuard(): string {
  const agentLen = Buffer.byteLength(AGENT_JSON);
  return guardModule({
    imports: '(import "env" "call_backend" (func $call_backend (param i32 i32 i32 i32 i32 i32) (result i32)))',
    memory: '(memory (export "memory") 4)',
    agent: `
  (func (export "label_agent") (param $in i32) (param $inlen i32) (param $out i32) (param $cap i32) (result i32)
    (drop (call $call_backend (i32.const 16384) (i32.const 1) (i32.const 16388) (i32.const 2) (i32.const 131072) (i32.const 65536)))
    (if (i32.lt_u (local.get $cap) (i32.const ${agentLen})) (then (i32.store (local.get $out) (i32.const ${agentLen})) (return (i32.const -2))))
    (memory.copy (local.get $out) (i32.const 1024) (i32.const ${agentLen}))
    (i32.const ${agentLen}))`,
    resource: `
  (func (export "label_resource") (param $in i32) (param $inlen i32) (param $out i32) (param $cap i32) (result i32)
    (if (i32.lt_u (local.get $cap) (local.get $inlen)) (then (i32.store (local.get $out) (local.get $inlen)) (return (i32.const -2))))
    (memory.copy (local.get $out) (local.get $in) (local.get $inlen))
    (local.get $inlen))`,
    extra: '(data (i32.const 16384) "t") (data (i32.const 16388) "{}")',
  });
}

/**
 * A compilation cache and a pool starter for one test file: every pool
 * started is closed after its test, the cache after the file.
 */
export function poolHarness() {
  const cache = new CompilationCache();
  const pools: GuardPool[] = [];
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((p) => p.close()));
  });
  afterAll(() => cache.close());
  return {
    cache,
    async start(guard: CompiledGuard, options: Partial<PoolOptions> = {}): Promise<GuardPool> {
      const pool = await GuardPool.start(guard, { logger: quietLogger, ...options });
      pools.push(pool);
      return pool;
    },
  };
}
