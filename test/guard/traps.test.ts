import { beforeAll, describe, expect, it } from 'vitest';
import {
  CompilationCache,
  GuardExitError,
  GuardLoadError,
  GuardPoisonedError,
  GuardTrapError,
  retiresInstance,
  type CompiledGuard,
  type GuardError,
  type GuardInstance,
  type TrapKind,
} from '../../src/guard/index.js';
import { ALLOCATOR, guardModule, RESOURCE_JSON } from '../support/guards.js';
import { createWithExports, g, type TestExports } from '../support/instance.js';
import { wat } from '../support/wat.js';

/**
 * label_resource does what `mode` says; `calls` counts entries so the tests
 * can see that a poisoned instance never enters the guard again. alloc traps
 * for sizes over `trap_alloc_over`, like an allocator aborting.
 */
const TRAP_GUARD = (allocator: boolean) =>
  guardModule({
    allocator: false,
    imports: '(import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))',
    resource: `
  (func (export "label_resource") (param $in i32) (param $inlen i32) (param $out i32) (param $cap i32) (result i32)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (if (i32.eq (global.get $mode) (i32.const 1)) (then (call $m1)))
    (if (i32.eq (global.get $mode) (i32.const 2)) (then (call $m2)))
    (if (i32.eq (global.get $mode) (i32.const 3)) (then (call $m3)))
    (if (i32.eq (global.get $mode) (i32.const 4)) (then (call $m4)))
    (if (i32.eq (global.get $mode) (i32.const 5)) (then (call $m5)))
    (if (i32.eq (global.get $mode) (i32.const 6)) (then (call $m6)))
    (if (i32.eq (global.get $mode) (i32.const 7)) (then (call $m7)))
    (if (i32.eq (global.get $mode) (i32.const 8)) (then (call $m8)))
    (if (i32.eq (global.get $mode) (i32.const 9)) (then (call $m9)))
    (memory.copy (local.get $out) (i32.const 4096) (i32.const ${RESOURCE_JSON.length}))
    (return (i32.const ${RESOURCE_JSON.length})))
  (func $m1 unreachable)
  (func $m2 (drop (i32.load (i32.const 0xfffffff0))))
  (func $m3 (drop (call $recurse (i32.const 0))))
  (func $m4 (drop (i32.div_s (i32.const 1) (global.get $zero))))
  (func $m5 (call $proc_exit (i32.const 3)))
  (func $m6 (call $proc_exit (i32.const 0)))
  (func $m7 (drop (i32.div_s (i32.const 0x80000000) (i32.const -1))))
  (func $m8 (call_indirect (type $void) (i32.const 0)))
  (func $m9 (loop $grow (br_if $grow (i32.ne (memory.grow (i32.const 16)) (i32.const -1)))) unreachable)
  (func $recurse (param i32) (result i32) (i32.add (call $recurse (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
  (type $void (func))
  (table 1 funcref)
  (global $zero (mut i32) (i32.const 0))
  (global $calls (export "calls") (mut i32) (i32.const 0))
  (global $mode (export "mode") (mut i32) (i32.const 0))`,
    extra: allocator
      ? ALLOCATOR.replace(
          '(local.set $ptr (global.get $heap))',
          '(if (i32.gt_u (local.get $size) (global.get $trap_alloc_over)) (then unreachable)) (local.set $ptr (global.get $heap))',
        ) + '(global $trap_alloc_over (export "trap_alloc_over") (mut i32) (i32.const 0x7fffffff))'
      : '',
  });

const MODES: Array<[TrapKind, number, string]> = [
  ['unreachable', 1, 'unreachable'],
  ['out_of_bounds', 2, 'out-of-bounds load'],
  ['stack_overflow', 3, 'infinite recursion'],
  ['divide_by_zero', 4, 'integer divide by zero'],
  ['runtime', 7, 'integer overflow (INT_MIN / -1)'],
  ['runtime', 8, 'call_indirect through a null table entry'],
];

const cache = new CompilationCache();
let compiled: CompiledGuard;
let directCompiled: CompiledGuard;
beforeAll(async () => {
  compiled = await cache.load(await wat(TRAP_GUARD(true)), { name: 'trapper' });
  directCompiled = await cache.load(await wat(TRAP_GUARD(false)), { name: 'trapper-direct' });
});

function catchError(fn: () => unknown): GuardError {
  try {
    fn();
  } catch (error) {
    return error as GuardError;
  }
  throw new Error('expected the call to throw');
}

/** After a trap: every later call fails fast naming the trap, and the guard is never entered again. */
function expectPoisoned(instance: GuardInstance, exports: TestExports, original: GuardError) {
  const callsBefore = g(exports, 'calls');
  const deallocsBefore = exports.deallocs ? g(exports, 'deallocs') : undefined;
  expect(instance.poisoned).toEqual(original.toData());
  for (const call of [
    () => instance.labelResource('t', {}),
    () => instance.labelAgent({}),
    () => instance.labelResponse('t', {}, {}),
    () => instance.invoke('label_resource', new Uint8Array(2)),
  ]) {
    const later = catchError(call);
    expect(later).toBeInstanceOf(GuardPoisonedError);
    expect(later.code).toBe('WG_ERR_GUARD_POISONED');
    expect(later.message).toContain(original.name);
    expect(later.message).toContain(original.message);
    expect((later as GuardPoisonedError).original).toEqual(original.toData());
    expect(retiresInstance(later)).toBe(false);
  }
  expect(g(exports, 'calls')).toBe(callsBefore);
  if (deallocsBefore !== undefined) expect(g(exports, 'deallocs')).toBe(deallocsBefore);
}

describe('traps', () => {
  it.each(MODES)('classifies %s (%s: %s), poisons the instance and never calls dealloc afterwards', (kind, mode) => {
    const { instance, exports } = createWithExports(compiled);
    expect(instance.labelResource('t', {}).operation).toBe('read'); // a working call first: state is kept
    expect(g(exports, 'deallocs')).toBe(2);
    g(exports, 'mode', mode);
    const error = catchError(() => instance.labelResource('t', {}));
    expect(error).toBeInstanceOf(GuardTrapError);
    expect(error).toMatchObject({ kind, code: 'WG_ERR_GUARD_TRAP', guard: 'trapper', fn: 'label_resource' });
    expect(error.message).toContain(`trapped (${kind})`);
    expect(retiresInstance(error)).toBe(true);
    if (kind === 'stack_overflow') expect(error.cause).toBeInstanceOf(RangeError);
    else expect(error.cause).toBeInstanceOf(WebAssembly.RuntimeError);
    expect(g(exports, 'calls')).toBe(2);
    // The trapped guard's buffers are leaked with it: dealloc is not called into a crashed instance.
    expect(g(exports, 'deallocs')).toBe(2);
    expect(g(exports, 'live_allocs')).toBe(2);
    expectPoisoned(instance, exports, error);
  });

  it('classifies traps the same way without alloc/dealloc', () => {
    for (const [kind, mode] of MODES) {
      const { instance, exports } = createWithExports(directCompiled);
      g(exports, 'mode', mode);
      const error = catchError(() => instance.labelResource('t', {}));
      expect(error).toMatchObject({ kind });
      expectPoisoned(instance, exports, error);
    }
  });

  it('treats WASI proc_exit(3) as a trap carrying the exit code', () => {
    const { instance, exports } = createWithExports(compiled);
    g(exports, 'mode', 5);
    const error = catchError(() => instance.labelResource('t', {}));
    expect(error).toBeInstanceOf(GuardTrapError);
    expect(error).toMatchObject({ kind: 'exit', exitCode: 3, fn: 'label_resource' });
    expect(error.message).toContain('proc_exit(3)');
    expect(retiresInstance(error)).toBe(true);
    expect(g(exports, 'deallocs')).toBe(0);
    expectPoisoned(instance, exports, error);
  });

  it('treats WASI proc_exit(0) as an exit, not a trap, that still retires the instance', () => {
    const { instance, exports } = createWithExports(compiled);
    g(exports, 'mode', 6);
    const error = catchError(() => instance.labelResource('t', {}));
    expect(error).toBeInstanceOf(GuardExitError);
    expect(error).not.toBeInstanceOf(GuardTrapError);
    expect(error).toMatchObject({ exitCode: 0, code: 'WG_ERR_GUARD_EXIT', fn: 'label_resource', guard: 'trapper' });
    expect(error.message).toContain('proc_exit(0)');
    expect(retiresInstance(error)).toBe(true);
    expect(g(exports, 'deallocs')).toBe(0);
    expectPoisoned(instance, exports, error);
  });

  it('says "memory" when the guard aborts with its memory near the cap (growing in 1 MiB chunks)', () => {
    const { instance, exports } = createWithExports(compiled);
    g(exports, 'mode', 9);
    const error = catchError(() => instance.labelResource('t', {}));
    expect(error).toMatchObject({ kind: 'memory' });
    expect(error.message).toContain('with linear memory at or near its cap');
    expect(instance.memoryBytes).toBeGreaterThan(31 * 1024 * 1024);
    expect(instance.memoryBytes).toBeLessThanOrEqual(32 * 1024 * 1024);
    expectPoisoned(instance, exports, error);
  });

  it('does not call dealloc after alloc itself traps', () => {
    const { instance, exports } = createWithExports(compiled);
    g(exports, 'trap_alloc_over', 1024 * 1024); // the input fits, the 4 MiB output buffer traps
    const error = catchError(() => instance.labelResource('t', {}));
    expect(error).toMatchObject({ kind: 'unreachable' });
    expect(g(exports, 'calls')).toBe(0);
    expect(g(exports, 'deallocs')).toBe(0);
    expect(g(exports, 'live_allocs')).toBe(1);
    expectPoisoned(instance, exports, error);
  });

  it('leaves other instances of the same module alone', () => {
    const broken = createWithExports(compiled);
    g(broken.exports, 'mode', 1);
    expect(() => broken.instance.labelResource('t', {})).toThrow(GuardTrapError);
    const fresh = createWithExports(compiled);
    expect(fresh.instance.labelResource('t', {}).operation).toBe('read');
    expect(fresh.instance.poisoned).toBeUndefined();
  });

  it('refuses to create an instance whose _initialize traps or exits', async () => {
    for (const body of ['unreachable', '(call $exit (i32.const 0))']) {
      const bytes = await wat(
        guardModule({
          imports: '(import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))',
          extra: `(func (export "_initialize") ${body})`,
        }),
      );
      const init = await cache.load(bytes, { name: 'bad-init' });
      const error = catchError(() => createWithExports(init));
      expect(error).toBeInstanceOf(GuardLoadError);
      expect(error.message).toContain('guard bad-init: _initialize failed');
    }
  });
});
