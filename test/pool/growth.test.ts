import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { CompiledGuard } from '../../src/guard/index.js';
import type { GuardPool, PoolState } from '../../src/pool/index.js';
import { RESOURCE_JSON } from '../support/guards.js';
import {
  compileWat,
  description,
  initFailsAfterGuard,
  loadRustGuard,
  poolHarness,
  recordingObserver,
  rustInput,
  settle,
  settledThreads,
  startedOf,
  waitForState,
} from '../support/pool-guards.js';

const { cache, start } = poolHarness();

let rust: CompiledGuard;
const rustGuard = async () => (rust ??= await loadRustGuard(cache));
const sleepCall = (pool: GuardPool, ms: number) => pool.call({ fn: 'label_resource', input: rustInput('sleep', { ms }) });
const allIdle = (n: number) => (state: PoolState) => state.instances.idle === n && startedOf(state) === n && state.queueLength === 0;

describe('a pool that starts warm instances and grows while calls wait', () => {
  it('starts `warm` instances, adds one at a time while calls wait, up to `size`, and keeps them', async () => {
    const before = await settledThreads();
    const pool = await start(await rustGuard(), { size: 3, warm: 1 });
    expect(pool.state()).toMatchObject({ size: 3, instances: { idle: 1, busy: 0, starting: 0, poisoned: 0 } });
    const oneWorker = await settledThreads();
    expect(oneWorker).toBeGreaterThan(before);

    // Six clients making 40 ms calls one after another: calls wait, and the pool grows.
    const client = async () => {
      for (let i = 0; i < 10; i++) expect(description((await sleepCall(pool, 40)).output)).toBe('slept 40 ms');
    };
    await Promise.all(Array.from({ length: 6 }, client));
    await waitForState(pool, (s) => startedOf(s) === 3);
    // Only calls that waited made it grow; a start is counted as neither an eviction nor a replacement.
    expect(pool.state()).toMatchObject({ evictions: {}, replacements: {} });
    const threeWorkers = await settledThreads();
    expect(threeWorkers).toBeGreaterThan(oneWorker);

    // At its size it grows no further, however many calls wait.
    await Promise.all(Array.from({ length: 6 }, client));
    await waitForState(pool, allIdle(3));
    expect(await settledThreads()).toBe(threeWorkers);
  });

  it('does not grow while the warm instances keep up: one call at a time never waits', async () => {
    const pool = await start(await rustGuard(), { size: 3, warm: 1 });
    for (let i = 0; i < 20; i++) await sleepCall(pool, 1);
    expect(startedOf(pool.state())).toBe(1);
  });

  it('starts every instance when `warm` is not given, and never more than `size`', async () => {
    expect(startedOf((await start(await rustGuard(), { size: 2 })).state())).toBe(2);
    expect(startedOf((await start(await rustGuard(), { size: 2, warm: 5 })).state())).toBe(2);
  });

  it('an instance being added when the pool closes is terminated with the others: no thread is left', async () => {
    const before = await settledThreads();
    const pool = await start(await rustGuard(), { size: 2, warm: 1 });
    const calls = [settle(sleepCall(pool, 100)), settle(sleepCall(pool, 100))];
    await sleep(0);
    // The second call waits, so the second worker is starting now.
    expect(pool.state().instances.starting).toBe(1);
    await pool.close();
    expect((await Promise.all(calls)).every((c) => c.ok)).toBe(true);
    expect(await settledThreads()).toBeLessThanOrEqual(before);
  });

  it('an instance that cannot start while the pool grows is a failed start: counted, and the running one keeps serving', async () => {
    const cutoff = Date.now() + 1000;
    const guard = await compileWat(cache, initFailsAfterGuard(cutoff), 'late-init');
    const pool = await start(guard, { size: 2, warm: 1, backoff: { baseMs: 50, maxMs: 200 } });
    await sleep(cutoff - Date.now() + 20);
    // Two calls at once: the second waits, so the pool tries to add an instance, which cannot start now.
    const calls = await Promise.all([1, 2].map(() => pool.call({ fn: 'label_resource', input: '{"a":1}' })));
    expect(calls.map((c) => c.output)).toEqual([RESOURCE_JSON, RESOURCE_JSON]);
    const state = await waitForState(pool, (s) => (s.evictions.start_failed ?? 0) >= 1);
    expect(state.healthy).toBe(true);
    expect(state.instances.idle + state.instances.busy).toBe(1);
    expect((await pool.call({ fn: 'label_resource', input: '{"a":1}' })).output).toBe(RESOURCE_JSON);
  });
});

describe('an instance that keeps failing to start while the others serve', () => {
  it('is retried with a growing backoff, not at once after each successful call', async () => {
    // Long enough for the first instance to start on a loaded machine (800 ms once was not).
    const cutoff = Date.now() + 2000;
    const guard = await compileWat(cache, initFailsAfterGuard(cutoff), 'late-init');
    const observer = recordingObserver();
    const pool = await start(guard, { size: 2, warm: 1, observer, backoff: { baseMs: 1000, maxMs: 5000 } });
    await sleep(cutoff - Date.now() + 20);
    // Calls keep succeeding on the first instance for 3 s, two at a time so the pool wants to grow; on a
    // loaded machine (slow worker starts) for up to 10 s, until the third failed start.
    const started = performance.now();
    const failures = () => observer.events.filter((e) => e.type === 'trap').length;
    while (performance.now() - started < 3000 || (failures() < 3 && performance.now() - started < 10_000)) {
      const calls = await Promise.all([1, 2].map(() => pool.call({ fn: 'label_resource', input: '{"a":1}' })));
      expect(calls.map((c) => c.output)).toEqual([RESOURCE_JSON, RESOURCE_JSON]);
      await sleep(5);
    }
    const failedAt = observer.events.filter((e) => e.type === 'trap').map((e) => e.at);
    expect(pool.state().evictions.start_failed).toBe(failedAt.length);
    // The first failed start is retried at once; from the second in a row on, each try waits out the backoff
    // (1 s, then 2 s), whatever the calls succeeding meanwhile. Reset by every successful call, the failures
    // in a row would stay at 1 and each try would follow the last at once (a worker start apart).
    expect(failedAt.length).toBeGreaterThanOrEqual(3);
    const gaps = failedAt.slice(2).map((at, i) => Math.round(at - failedAt[i + 1]!));
    expect(Math.min(...gaps), `gaps between failed starts: ${gaps.join(', ')} ms`).toBeGreaterThanOrEqual(950);
  });
});
