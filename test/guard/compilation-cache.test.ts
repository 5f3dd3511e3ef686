import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  CompilationCache,
  CompilationCacheClosedError,
  DEFAULT_LIMITS,
  GuardInstance,
  GuardLoadError,
} from '../../src/guard/index.js';
import { guardModule } from '../support/guards.js';
import { createWithExports, g, MiB } from '../support/instance.js';
import { wat } from '../support/wat.js';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** A guard whose label_resource grows memory page by page until memory.grow fails, keeping the page count. */
const GROWER = guardModule({
  memory: '(memory (export "memory") 2)',
  extra: `(global $pages (export "pages") (mut i32) (i32.const 0))
    (func (export "grow_all") (loop $l (br_if $l (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
      (global.set $pages (memory.size)))`,
});

describe('CompilationCache', () => {
  it('compiles the same bytes once and counts hits, misses and compile time', async () => {
    const cache = new CompilationCache();
    const events: Array<{ hit: boolean; compileMs: number }> = [];
    cache.onCompile((e) => events.push(e));
    const bytes = await wat(guardModule({}));
    const a = await cache.load(bytes, { name: 'a' });
    const b = await cache.load(bytes.slice(), { name: 'b' });
    expect(b.module).toBe(a.module);
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 1, entries: 1 });
    expect(cache.stats().compileMsTotal).toBeGreaterThan(0);
    expect(events.map((e) => e.hit)).toEqual([false, true]);
    expect(events[0]!.compileMs).toBeGreaterThan(0);
    // Each load keeps its own name; the digest is of the bytes as given.
    expect([a.name, b.name]).toEqual(['a', 'b']);
    expect(a.digest).toBe(sha256(bytes));
    expect(a.sizeBytes).toBe(bytes.length);
  });

  it('compiles once for concurrent loads of the same bytes', async () => {
    const cache = new CompilationCache();
    const bytes = await wat(guardModule({}));
    const loaded = await Promise.all(Array.from({ length: 5 }, (_, i) => cache.load(bytes, { name: `g${i}` })));
    expect(new Set(loaded.map((c) => c.module)).size).toBe(1);
    expect(cache.stats()).toMatchObject({ hits: 4, misses: 1, entries: 1 });
  });

  it('compiles different bytes separately', async () => {
    const cache = new CompilationCache();
    const a = await cache.load(await wat(guardModule({})), { name: 'a' });
    const b = await cache.load(await wat(guardModule({ allocator: false })), { name: 'b' });
    expect(b.module).not.toBe(a.module);
    expect(cache.stats()).toMatchObject({ hits: 0, misses: 2, entries: 2 });
  });

  it('keeps one entry per memory limit, since the cap is written into the binary', async () => {
    const cache = new CompilationCache();
    const bytes = await wat(GROWER);
    const big = await cache.load(bytes, { name: 'big' });
    const small = await cache.load(bytes, { name: 'small', limits: { memoryLimitBytes: 4 * MiB } });
    const smallAgain = await cache.load(bytes, { name: 'small2', limits: { memoryLimitBytes: 4 * MiB } });
    expect(small.module).not.toBe(big.module);
    expect(smallAgain.module).toBe(small.module);
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 2, entries: 2 });
    // The digest names the guard's bytes, not the capped binary.
    expect(small.digest).toBe(big.digest);

    for (const [compiled, pages] of [
      [big, 512],
      [small, 64],
    ] as const) {
      const { exports } = createWithExports(compiled);
      (exports.grow_all as () => void)();
      expect(g(exports, 'pages')).toBe(pages);
    }
  });

  it('shares the module across limits that do not touch the binary', async () => {
    const cache = new CompilationCache();
    const bytes = await wat(guardModule({}));
    const a = await cache.load(bytes, { name: 'a' });
    const b = await cache.load(bytes, { name: 'b', limits: { maxInputBytes: 1024, maxBackendCalls: 5 } });
    expect(b.module).toBe(a.module);
    expect(a.limits).toEqual(DEFAULT_LIMITS);
    expect(b.limits).toEqual({ ...DEFAULT_LIMITS, maxInputBytes: 1024, maxBackendCalls: 5 });
  });

  it('checks the expected SHA-256, naming both digests on mismatch', async () => {
    const cache = new CompilationCache();
    const bytes = await wat(guardModule({}));
    const digest = sha256(bytes);
    await expect(cache.load(bytes, { name: 'ok', expectedSha256: digest.toUpperCase() })).resolves.toMatchObject({ digest });
    const wrong = 'ab'.repeat(32);
    const error = await cache.load(bytes, { name: 'pinned', expectedSha256: wrong }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GuardLoadError);
    expect((error as Error).message).toContain(digest);
    expect((error as Error).message).toContain(wrong);
    expect((error as GuardLoadError).guard).toBe('pinned');
  });

  it('does not keep a module that failed to load', async () => {
    const cache = new CompilationCache();
    const bad = await wat('(module (memory (export "memory") 1))');
    await expect(cache.load(bad, { name: 'bad' })).rejects.toBeInstanceOf(GuardLoadError);
    await expect(cache.load(bad, { name: 'bad' })).rejects.toBeInstanceOf(GuardLoadError);
    expect(cache.stats()).toMatchObject({ hits: 0, misses: 0, entries: 0 });
  });

  it('drops a module when its last load is released, and compiles it again after', async () => {
    const cache = new CompilationCache();
    const bytes = await wat(guardModule({}));
    const first = await cache.load(bytes, { name: 'a' });
    const second = await cache.load(bytes, { name: 'b' });
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 1, entries: 1 });
    cache.release(first);
    // One pool still uses it.
    expect(cache.stats().entries).toBe(1);
    cache.release(second);
    expect(cache.stats().entries).toBe(0);
    await cache.load(bytes, { name: 'a' });
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 2, entries: 1 });
  });

  it('refuses loads after close() and releases its entries', async () => {
    const cache = new CompilationCache();
    const bytes = await wat(guardModule({}));
    const compiled = await cache.load(bytes, { name: 'a' });
    expect(cache.closed).toBe(false);
    await cache.close();
    expect(cache.closed).toBe(true);
    expect(cache.stats().entries).toBe(0);
    const error = await cache.load(bytes, { name: 'a' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CompilationCacheClosedError);
    expect((error as CompilationCacheClosedError).code).toBe('WG_ERR_CACHE_CLOSED');
    // What was handed out before close keeps working (instances already in the pool drain normally).
    expect(GuardInstance.create(compiled).labelResource('t', {}).operation).toBe('read');
  });

  it('lets close() wait for a compile in flight', async () => {
    const cache = new CompilationCache();
    const pending = cache.load(await wat(guardModule({})), { name: 'a' });
    await cache.close();
    await expect(pending).resolves.toBeTruthy();
    expect(cache.stats().entries).toBe(0);
  });
});
