import { WASI } from 'node:wasi';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { CompilationCache, type CompiledGuard } from '../../src/guard/index.js';
import { guardModule, RESOURCE_JSON } from '../support/guards.js';
import { createWithExports, g, i32At, recordingLogger, type Level, type TestExports } from '../support/instance.js';
import { wat } from '../support/wat.js';

const ERRNO_AT = 0x3800;
const V1_AT = 0x3804;
const V2_AT = 0x3808;
const V3_AT = 0x380c;
const RANDOM_AT = 0x3900;
const ARGS_AT = 0x3b00;
const OUT_MSG = 0x3100;
const ERR_MSG = 0x3200;
const LINES_AT = 0x3300;

/**
 * A guard that uses WASI the way Rust wasm32-wasip1 guards do, without
 * _initialize or _start: label_resource performs the WASI call selected by
 * `mode`, leaves errno and results at fixed addresses, then answers normally.
 */
const WASI_GUARD = guardModule({
  imports: `
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $environ_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $environ_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $fd_prestat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock_time_get (param i32 i64 i32) (result i32)))`,
  resource: `
  (data (i32.const ${OUT_MSG}) "out line\\n")
  (data (i32.const ${ERR_MSG}) "something odd\\n")
  (data (i32.const ${LINES_AT}) "a\\nb\\nc")
  (global $mode (export "mode") (mut i32) (i32.const 0))
  (func $iov (param $at i32) (param $ptr i32) (param $len i32)
    (i32.store (local.get $at) (local.get $ptr))
    (i32.store (i32.add (local.get $at) (i32.const 4)) (local.get $len)))
  (func (export "label_resource") (param $in i32) (param $inlen i32) (param $out i32) (param $cap i32) (result i32)
    (local $e i32)
    (local.set $e (i32.const -1))
    (if (i32.eq (global.get $mode) (i32.const 1))
      (then ;; stdout, in two pieces: "out " + "line\\n"
        (call $iov (i32.const 0x3000) (i32.const ${OUT_MSG}) (i32.const 4))
        (call $iov (i32.const 0x3008) (i32.const ${OUT_MSG + 4}) (i32.const 5))
        (local.set $e (call $fd_write (i32.const 1) (i32.const 0x3000) (i32.const 2) (i32.const ${V1_AT})))))
    (if (i32.eq (global.get $mode) (i32.const 2))
      (then
        (call $iov (i32.const 0x3000) (i32.const ${ERR_MSG}) (i32.const 14))
        (local.set $e (call $fd_write (i32.const 2) (i32.const 0x3000) (i32.const 1) (i32.const ${V1_AT})))))
    (if (i32.eq (global.get $mode) (i32.const 3))
      (then
        (i32.store (i32.const ${V1_AT}) (i32.const 77))
        (call $iov (i32.const 0x3000) (i32.const 0x3a00) (i32.const 64))
        (local.set $e (call $fd_read (i32.const 0) (i32.const 0x3000) (i32.const 1) (i32.const ${V1_AT})))))
    (if (i32.eq (global.get $mode) (i32.const 4))
      (then (local.set $e (call $environ_sizes_get (i32.const ${V1_AT}) (i32.const ${V2_AT})))))
    (if (i32.eq (global.get $mode) (i32.const 5))
      (then (local.set $e (call $args_sizes_get (i32.const ${V1_AT}) (i32.const ${V2_AT})))))
    (if (i32.eq (global.get $mode) (i32.const 6))
      (then (local.set $e (call $random_get (i32.const ${RANDOM_AT}) (i32.const 32)))))
    (if (i32.eq (global.get $mode) (i32.const 7))
      (then (local.set $e (call $fd_prestat_get (i32.const 3) (i32.const ${V1_AT})))))
    (if (i32.eq (global.get $mode) (i32.const 8))
      (then (local.set $e (call $clock_time_get (i32.const 0) (i64.const 1000) (i32.const ${V2_AT})))))
    (if (i32.eq (global.get $mode) (i32.const 9))
      (then ;; stderr as separate writes with no final newline, the way Rust's unbuffered stderr writes a panic
        (call $iov (i32.const 0x3000) (i32.const ${ERR_MSG}) (i32.const 9))
        (drop (call $fd_write (i32.const 2) (i32.const 0x3000) (i32.const 1) (i32.const ${V1_AT})))
        (call $iov (i32.const 0x3000) (i32.const ${ERR_MSG + 9}) (i32.const 4))
        (local.set $e (call $fd_write (i32.const 2) (i32.const 0x3000) (i32.const 1) (i32.const ${V1_AT})))))
    (if (i32.eq (global.get $mode) (i32.const 10))
      (then ;; a, b, c on three lines without a final newline
        (call $iov (i32.const 0x3000) (i32.const ${LINES_AT}) (i32.const 5))
        (local.set $e (call $fd_write (i32.const 1) (i32.const 0x3000) (i32.const 1) (i32.const ${V1_AT})))))
    (if (i32.eq (global.get $mode) (i32.const 11))
      (then (local.set $e (call $args_get (i32.const ${V3_AT}) (i32.const ${ARGS_AT})))))
    (if (i32.eq (global.get $mode) (i32.const 12))
      (then (local.set $e (call $environ_get (i32.const ${V3_AT}) (i32.const ${ARGS_AT})))))
    (if (i32.eq (global.get $mode) (i32.const 13)) ;; a result pointer past the end of memory
      (then (local.set $e (call $args_sizes_get (i32.const ${V1_AT}) (i32.const -8)))))
    (if (i32.eq (global.get $mode) (i32.const 14))
      (then (local.set $e (call $random_get (i32.const -16) (i32.const 32)))))
    (if (i32.eq (global.get $mode) (i32.const 15)) ;; the args strings would end past the end of memory
      (then (local.set $e (call $args_get (i32.const ${V3_AT}) (i32.const -4)))))
    (i32.store (i32.const ${ERRNO_AT}) (local.get $e))
    (memory.copy (local.get $out) (i32.const 4096) (i32.const ${RESOURCE_JSON.length}))
    (i32.const ${RESOURCE_JSON.length}))`,
});

const cache = new CompilationCache();
let compiled: CompiledGuard;
beforeAll(async () => {
  compiled = await cache.load(await wat(WASI_GUARD), { name: 'wasi-guard' });
});

afterEach(() => vi.restoreAllMocks());

function setup(enabled?: Level[]) {
  const logger = recordingLogger(enabled);
  const { instance, exports } = createWithExports(compiled, { logger });
  const run = (mode: number) => {
    g(exports, 'mode', mode);
    expect(instance.labelResource('t', {}).operation).toBe('read');
    return i32At(exports, ERRNO_AT);
  };
  return { instance, exports, logger, run };
}

const u32 = (exports: TestExports, at: number) => new DataView(exports.memory.buffer).getUint32(at, true);

describe('WASI preview1', () => {
  it('is usable from the first call without _initialize (random_get)', () => {
    const { exports, run } = setup();
    expect(run(6)).toBe(0);
    const bytes = new Uint8Array(exports.memory.buffer, RANDOM_AT, 32);
    expect(bytes.some((b) => b !== 0)).toBe(true);
    const first = [...bytes];
    run(6);
    expect([...new Uint8Array(exports.memory.buffer, RANDOM_AT, 32)]).not.toEqual(first);
  });

  it('sends stdout to the logger at debug and never to the process stdout', () => {
    const stdout = vi.spyOn(process.stdout, 'write');
    const stderr = vi.spyOn(process.stderr, 'write');
    const { exports, logger, run } = setup();
    expect(run(1)).toBe(0);
    expect(u32(exports, V1_AT)).toBe(9); // nwritten covers both iovecs
    expect(logger.records).toEqual([{ level: 'debug', obj: { guard: 'wasi-guard', stream: 'stdout' }, msg: 'out line' }]);
    const written = [...stdout.mock.calls, ...stderr.mock.calls].map((c) => String(c[0]));
    expect(written.some((w) => w.includes('out line'))).toBe(false);
  });

  it('sends stderr to the logger at warn', () => {
    const { exports, logger, run } = setup();
    expect(run(2)).toBe(0);
    expect(u32(exports, V1_AT)).toBe(14);
    expect(logger.records).toEqual([{ level: 'warn', obj: { guard: 'wasi-guard', stream: 'stderr' }, msg: 'something odd' }]);
  });

  it('logs a line written in pieces as one record, at the end of the call at the latest', () => {
    const { logger, run } = setup();
    expect(run(9)).toBe(0);
    expect(logger.records).toEqual([{ level: 'warn', obj: { guard: 'wasi-guard', stream: 'stderr' }, msg: 'something odd' }]);
    run(10);
    expect(logger.records.slice(1).map((r) => r.msg)).toEqual(['a\nb', 'c']);
  });

  it('reports the bytes as written even when the log level is off', () => {
    const decode = vi.spyOn(TextDecoder.prototype, 'decode');
    const { exports, logger, run } = setup(['warn', 'error']);
    expect(run(1)).toBe(0);
    expect(u32(exports, V1_AT)).toBe(9);
    expect(logger.records).toEqual([]);
    // Only the guard's JSON output was decoded, not the two stdout pieces.
    expect(decode).toHaveBeenCalledTimes(1);
    decode.mockClear();
    setup(['debug']).run(1);
    expect(decode).toHaveBeenCalledTimes(3);
  });

  it('gives an empty stdin (end of file)', () => {
    const { exports, run } = setup();
    expect(run(3)).toBe(0);
    expect(u32(exports, V1_AT)).toBe(0);
  });

  it('gives no environment and fixed args (the guard name)', () => {
    const { exports, run } = setup();
    expect(run(4)).toBe(0);
    expect([u32(exports, V1_AT), u32(exports, V2_AT)]).toEqual([0, 0]);
    expect(run(5)).toBe(0);
    expect([u32(exports, V1_AT), u32(exports, V2_AT)]).toEqual([1, 'wasi-guard'.length + 1]);
  });

  it('answers the environment, args and out-of-bounds pointers as node:wasi does, but for its two departures from the spec', async () => {
    // The same module, instantiated with node:wasi's own import object.
    const module = new WebAssembly.Module((await wat(WASI_GUARD)) as Uint8Array<ArrayBuffer>);
    const stub = Object.fromEntries(WebAssembly.Module.imports(module).filter((i) => i.module === 'env').map((i) => [i.name, () => 0]));
    const nodeWasi = new WASI({ version: 'preview1', args: ['wasi-guard'], env: {}, returnOnExit: true });
    const raw = new WebAssembly.Instance(module, { env: stub, ...(nodeWasi.getImportObject() as WebAssembly.Imports) });
    const rawExports = raw.exports as TestExports;
    nodeWasi.initialize({ exports: { memory: rawExports.memory } });
    const runRaw = (mode: number) => {
      g(rawExports, 'mode', mode);
      (rawExports.label_resource as (...a: number[]) => number)(0, 0, 0x5000, 4096);
      return i32At(rawExports, ERRNO_AT);
    };
    const region = (exports: TestExports) => [...new Uint8Array(exports.memory.buffer, V1_AT, ARGS_AT + 64 - V1_AT)];
    const ours = setup();
    for (const mode of [4, 5, 11]) {
      expect({ mode, errno: ours.run(mode) }).toEqual({ mode, errno: runRaw(mode) });
      expect(region(ours.exports)).toEqual(region(rawExports));
    }
    // Two deliberate differences, both where node:wasi (uvwasi) departs from the WASI spec and from
    // other runtimes (wazero, the gateway's, among them):
    // - a pointer out of memory is EFAULT (21) here, as in our fd_write and fd_read; node:wasi says
    //   EOVERFLOW (61). Neither writes anything.
    for (const mode of [13, 14, 15]) {
      expect({ mode, errno: ours.run(mode) }).toEqual({ mode, errno: 21 });
      expect({ mode, errno: runRaw(mode) }).toEqual({ mode, errno: 61 });
      expect(region(ours.exports)).toEqual(region(rawExports));
    }
    // - environ_get with an empty environment has nothing to write and succeeds; node:wasi answers
    //   EINVAL, taking the empty array for a null pointer.
    expect(ours.run(12)).toBe(0);
    expect(runRaw(12)).toBe(28);
    expect(region(ours.exports)).toEqual(region(rawExports));
    expect(ours.run(11)).toBe(0);
    expect(u32(ours.exports, V3_AT)).toBe(ARGS_AT);
    expect(Buffer.from(ours.exports.memory.buffer, ARGS_AT, 11).toString('latin1')).toBe('wasi-guard\0');
  });

  it('refuses to load a guard importing a WASI function node:wasi does not have, naming it', async () => {
    const bytes = await wat(guardModule({ imports: '(import "wasi_snapshot_preview1" "sock_teleport" (func (param i32) (result i32)))' }));
    const guard = await cache.load(bytes, { name: 'teleporter' });
    expect(() => createWithExports(guard)).toThrow(/sock_teleport/);
  });

  it('preopens no directories', () => {
    const { run } = setup();
    expect(run(7)).toBe(8); // EBADF: fd 3 is not a preopen
  });

  it('has a working clock', () => {
    const { exports, run } = setup();
    expect(run(8)).toBe(0);
    const ns = new DataView(exports.memory.buffer).getBigUint64(V2_AT, true);
    expect(Number(ns / 1_000_000n)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('gives every instance its own WASI bound to its own memory', () => {
    const a = setup();
    const b = setup();
    new Uint8Array(a.exports.memory.buffer).set(Buffer.from('AAA '), OUT_MSG);
    new Uint8Array(b.exports.memory.buffer).set(Buffer.from('BBB '), OUT_MSG);
    a.run(1);
    b.run(1);
    a.run(1);
    expect(a.logger.records.map((r) => r.msg)).toEqual(['AAA line', 'AAA line']);
    expect(b.logger.records.map((r) => r.msg)).toEqual(['BBB line']);
  });

  it('calls _initialize once when exported and never runs _start', async () => {
    const bytes = await wat(
      guardModule({
        imports: '(import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))',
        extra: `
        (global $initialized (export "initialized") (mut i32) (i32.const 0))
        (global $started (export "started") (mut i32) (i32.const 0))
        (global $init_errno (export "init_errno") (mut i32) (i32.const -1))
        (func (export "_initialize")
          (global.set $initialized (i32.add (global.get $initialized) (i32.const 1)))
          (global.set $init_errno (call $random_get (i32.const 0x3900) (i32.const 8))))
        (func (export "_start") (global.set $started (i32.const 1)) unreachable)`,
      }),
    );
    const reactor = await cache.load(bytes, { name: 'reactor' });
    const { instance, exports } = createWithExports(reactor);
    expect(g(exports, 'initialized')).toBe(1);
    expect(g(exports, 'init_errno')).toBe(0); // WASI was bound before _initialize ran
    instance.labelAgent({});
    instance.labelResource('t', {});
    instance.labelResponse('t', {}, {});
    expect(g(exports, 'initialized')).toBe(1);
    expect(g(exports, 'started')).toBe(0);
  });
});
