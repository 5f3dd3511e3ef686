import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { GuardPoolClosedError, GuardTimeoutError, type CompiledGuard } from '../../src/guard/index.js';
import { GuardPool, type PoolOptions } from '../../src/pool/index.js';
import {
  alwaysTrapGuard,
  compileWat,
  description,
  fullyIdle,
  loadRustGuard,
  recordingObserver,
  rustInput,
  settle,
  settledThreads,
  threadCount,
  waitForState,
  poolHarness,
} from '../support/pool-guards.js';

const { cache, start: startPool } = poolHarness();

let rust: CompiledGuard;
async function start(options: Partial<PoolOptions> = {}, guard?: CompiledGuard): Promise<GuardPool> {
  rust ??= await loadRustGuard(cache);
  return startPool(guard ?? rust, options);
}

const rustCall = (pool: GuardPool, tool: string, args: Record<string, unknown> = {}) =>
  pool.call({ fn: 'label_resource', input: rustInput(tool, args) });

describe('close()', () => {
  it('lets calls in flight and in the queue finish, then terminates the workers; later calls are refused', async () => {
    const threads = await threadCount();
    const observer = recordingObserver();
    const pool = await start({ size: 2, observer });
    await waitForState(pool, fullyIdle);
    expect(await threadCount()).toBeGreaterThan(threads);
    const calls = [1, 2, 3, 4].map((i) => settle(rustCall(pool, 'sleep', { ms: 100 + i })));
    await sleep(10);
    expect(pool.state()).toMatchObject({ instances: { busy: 2 }, queueLength: 2 });
    const closed = settle(pool.close());
    const outcomes = await Promise.all(calls);
    const done = await closed;
    expect(outcomes.map((o) => (o.ok ? description(o.value.output) : o.error))).toEqual([1, 2, 3, 4].map((i) => `slept ${100 + i} ms`));
    // close resolved after the last call.
    expect(done.ok).toBe(true);
    expect(done.at).toBeGreaterThanOrEqual(Math.max(...outcomes.map((o) => o.at)));

    await expect(rustCall(pool, 'get_x')).rejects.toBeInstanceOf(GuardPoolClosedError);
    await expect(pool.call({ fn: 'label_agent', policy: { key: 'k', json: '{}' } })).rejects.toMatchObject({ code: 'WG_ERR_POOL_CLOSED' });
    expect(observer.of('rejected')).toEqual([
      ['rust', 'closed'],
      ['rust', 'closed'],
    ]);
    await sleep(50);
    expect(await threadCount()).toBeLessThanOrEqual(threads);
  });

  it('is idempotent: every call gets the same completion', async () => {
    const pool = await start({ size: 1 });
    const call = rustCall(pool, 'sleep', { ms: 50 });
    const first = pool.close();
    const second = pool.close();
    expect(second).toBe(first);
    await Promise.all([first, second, call]);
    await pool.close();
  });

  it('closes an idle pool at once', async () => {
    const pool = await start({ size: 2 });
    const t0 = performance.now();
    await pool.close();
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('bounds the wait by the grace period: a call still running then fails with GuardPoolClosedError, queued ones too', async () => {
    const threads = await threadCount();
    const pool = await start({ size: 1, timeoutMs: 30_000, queueTimeoutMs: 30_000 });
    await waitForState(pool, fullyIdle);
    const running = settle(rustCall(pool, 'loop_forever'));
    const queued = settle(rustCall(pool, 'get_x'));
    await sleep(20);
    const t0 = performance.now();
    await pool.close(300);
    const took = performance.now() - t0;
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(2000);
    for (const outcome of [await running, await queued]) {
      expect(outcome.ok).toBe(false);
      expect((outcome as { error: unknown }).error).toBeInstanceOf(GuardPoolClosedError);
    }
    // Shutting down is not a guard failure.
    expect(pool.state()).toMatchObject({ traps: {}, evictions: {} });
    await sleep(50);
    expect(await threadCount()).toBeLessThanOrEqual(threads);
  });

  it('does not wait out the grace period when the last call in flight traps or times out', async () => {
    const pool = await start({ size: 1, timeoutMs: 200 });
    const slow = settle(rustCall(pool, 'sleep', { ms: 100 }));
    const trap = settle(rustCall(pool, 'trap_unreachable'));
    const t0 = performance.now();
    await pool.close(10_000);
    expect(performance.now() - t0).toBeLessThan(2000);
    expect((await slow).ok).toBe(true);
    expect((await trap).ok).toBe(false);

    const pool2 = await start({ size: 1, timeoutMs: 200 });
    const loop = settle(rustCall(pool2, 'loop_forever'));
    const t1 = performance.now();
    await pool2.close(10_000);
    expect(performance.now() - t1).toBeLessThan(2000);
    expect((await loop as { error: unknown }).error).toBeInstanceOf(GuardTimeoutError);
  });

  it('while a replacement is under way: no worker is left behind', async () => {
    const threads = await threadCount();
    const pool = await start({ size: 2, backoff: { baseMs: 50, maxMs: 500 } });
    await waitForState(pool, fullyIdle);
    await Promise.all([settle(rustCall(pool, 'trap_unreachable')), settle(rustCall(pool, 'trap_oob'))]);
    await pool.close();
    await sleep(700); // past any backoff timer that could have started a worker
    expect(await threadCount()).toBeLessThanOrEqual(threads);
  });

  it('closes a pool whose guard is unhealthy', async () => {
    const pool = await start({ size: 1, backoff: { baseMs: 200, maxMs: 2000 } }, await compileWat(cache, alwaysTrapGuard(), 'trapper'));
    for (let i = 0; i < 4; i++) {
      await waitForState(pool, fullyIdle, 3000);
      await settle(pool.call({ fn: 'label_resource', input: '{}' }));
    }
    expect(pool.healthy).toBe(false);
    const t0 = performance.now();
    await pool.close();
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});

describe('the spare worker', () => {
  it('is not started with the pool; the first worker replacement starts one, and the next replacement takes it', async () => {
    const before = await threadCount();
    const pool = await start({ size: 1, timeoutMs: 200 });
    await waitForState(pool, fullyIdle);
    // Counted from the started pool (the first worker of a process, or tsx in a test worker, brings threads of its own).
    const started = await settledThreads();

    await expect(rustCall(pool, 'loop_forever')).rejects.toBeInstanceOf(GuardTimeoutError);
    await waitForState(pool, (s) => fullyIdle(s) && s.replacements.deadline === 1);
    // The terminated worker went, its replacement came, and, new, a spare: more threads than at the start.
    const withSpare = await settledThreads();
    expect(withSpare).toBeGreaterThan(started);

    await expect(rustCall(pool, 'loop_forever')).rejects.toBeInstanceOf(GuardTimeoutError);
    await waitForState(pool, (s) => fullyIdle(s) && s.replacements.deadline === 2);
    expect(description((await rustCall(pool, 'get_x')).output)).toBe('get_x under policy none');
    // The spare served the replacement and was started again: as many threads as after the first.
    expect(await settledThreads()).toBe(withSpare);
    await pool.close();
    expect(await settledThreads()).toBeLessThanOrEqual(before);
  });
});
