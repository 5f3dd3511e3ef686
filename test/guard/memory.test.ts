import { describe, expect, it } from 'vitest';
import { CompilationCache, GuardLoadError, type GuardLimits } from '../../src/guard/index.js';
import { guardModule, RESOURCE_JSON } from '../support/guards.js';
import { createWithExports, g, MiB } from '../support/instance.js';
import { wat } from '../support/wat.js';

/**
 * A memory bomb: label_resource calls memory.grow(step) until it fails,
 * recording the largest size reached and what the failing grow returned, then
 * answers normally. The module declares no maximum unless told to.
 */
const BOMB = (memory = '(memory (export "memory") 2)', allocator = true) =>
  guardModule({
    memory,
    allocator,
    resource: `
  (func (export "label_resource") (param $in i32) (param $inlen i32) (param $out i32) (param $cap i32) (result i32)
    (local $r i32)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (loop $grow
      (local.set $r (memory.grow (global.get $step)))
      (if (i32.ne (local.get $r) (i32.const -1)) (then (global.set $grown (i32.add (global.get $grown) (global.get $step))) (br $grow))))
    (global.set $failed_with (local.get $r))
    (global.set $pages (memory.size))
    (memory.copy (local.get $out) (i32.const 4096) (i32.const ${RESOURCE_JSON.length}))
    (i32.const ${RESOURCE_JSON.length}))
  (global $calls (export "calls") (mut i32) (i32.const 0))
  (global $step (export "step") (mut i32) (i32.const 1))
  (global $grown (export "grown") (mut i32) (i32.const 0))
  (global $pages (export "pages") (mut i32) (i32.const 0))
  (global $failed_with (export "failed_with") (mut i32) (i32.const 0))`,
  });

const cache = new CompilationCache();
const load = async (source: string, limits?: Partial<GuardLimits>) => cache.load(await wat(source), { name: 'bomb', limits });

describe('linear memory cap', () => {
  it('stops a memory bomb without declared maximum at 32 MiB: memory.grow returns -1 inside the guard', async () => {
    const { instance, exports } = createWithExports(await load(BOMB()));
    expect(instance.labelResource('t', {}).operation).toBe('read');
    expect(g(exports, 'failed_with')).toBe(-1);
    expect(g(exports, 'pages')).toBe(512);
    expect(exports.memory.buffer.byteLength).toBe(32 * MiB);
    expect(instance.memoryBytes).toBe(32 * MiB);
    // Not a trap: the guard handled the failed grow and the instance serves on.
    expect(instance.poisoned).toBeUndefined();
    expect(g(exports, 'live_allocs')).toBe(0);
    g(exports, 'step', 1000);
    instance.labelResource('t', {});
    expect(g(exports, 'failed_with')).toBe(-1);
    expect(instance.memoryBytes).toBe(32 * MiB);
  });

  it('refuses one huge grow as well (no partial growth past the cap)', async () => {
    const { instance, exports } = createWithExports(await load(BOMB()));
    g(exports, 'step', 65535);
    instance.labelResource('t', {});
    expect(g(exports, 'grown')).toBe(0);
    expect(g(exports, 'failed_with')).toBe(-1);
    expect(instance.memoryBytes).toBeLessThan(32 * MiB);
  });

  it('caps a module that declares a larger maximum', async () => {
    const { instance, exports } = createWithExports(await load(BOMB('(memory (export "memory") 2 65536)')));
    instance.labelResource('t', {});
    expect(g(exports, 'pages')).toBe(512);
    expect(instance.memoryBytes).toBe(32 * MiB);
  });

  it("keeps a module's own smaller maximum", async () => {
    const { instance, exports } = createWithExports(await load(BOMB('(memory (export "memory") 2 100)')));
    instance.labelResource('t', {});
    expect(g(exports, 'pages')).toBe(100);
  });

  it('applies a smaller configured limit', async () => {
    const compiled = await load(BOMB(), { memoryLimitBytes: 4 * MiB, initialOutputBytes: 64 * 1024 });
    const { instance, exports } = createWithExports(compiled);
    instance.labelResource('t', {});
    expect(g(exports, 'failed_with')).toBe(-1);
    expect(g(exports, 'pages')).toBe(64);
    expect(instance.memoryBytes).toBe(4 * MiB);
  });

  it('also caps guards without alloc/dealloc (the host region is inside the cap)', async () => {
    const { instance, exports } = createWithExports(await load(BOMB('(memory (export "memory") 2)', false)));
    instance.labelResource('t', {});
    expect(g(exports, 'pages')).toBe(512);
    // The next call needs a fresh region at the end of memory, which is full: a buffer error, not a trap.
    expect(() => instance.labelResource('t', {})).toThrow(/cannot grow memory/);
    expect(instance.poisoned).toBeUndefined();
    expect(instance.memoryBytes).toBe(32 * MiB);
  });

  it('refuses at load a module whose minimum is over the cap', async () => {
    const error = await load(BOMB('(memory (export "memory") 513)')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GuardLoadError);
    expect((error as Error).message).toContain('guard bomb: memory declares a minimum of 513 pages');
    expect((error as Error).message).toContain('over the cap of 512 pages');
    await expect(load(BOMB('(memory (export "memory") 512)'))).resolves.toBeTruthy();
    const smaller = await load(BOMB('(memory (export "memory") 100)'), { memoryLimitBytes: 4 * MiB }).catch((e: unknown) => e);
    expect(smaller).toBeInstanceOf(GuardLoadError);
    expect((smaller as Error).message).toContain('minimum of 100 pages (6400 KiB), over the cap of 64 pages');
  });
});
