import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { GuardInputTooLargeError, GuardOverloadedError, type CompiledGuard, type GuardLimits } from '../../src/guard/index.js';
import { GuardPool, type PoolOptions } from '../../src/pool/index.js';
import { description, fullyIdle, loadRustGuard, recordingObserver, rustInput, settle, waitForState, poolHarness } from '../support/pool-guards.js';

const { cache, start: startPool } = poolHarness();

async function start(options: Partial<PoolOptions> = {}, limits?: Partial<GuardLimits>): Promise<GuardPool> {
  const guard: CompiledGuard = await loadRustGuard(cache, { limits });
  return startPool(guard, options);
}

const sleepCall = (pool: GuardPool, ms: number) => pool.call({ fn: 'label_resource', input: rustInput('sleep', { ms }) });

describe('bounded queue', () => {
  it('a call past maxQueue is rejected at once with GuardOverloadedError', async () => {
    const observer = recordingObserver();
    const pool = await start({ size: 1, maxQueue: 2, observer });
    const running = settle(sleepCall(pool, 300));
    const queued = [settle(sleepCall(pool, 10)), settle(sleepCall(pool, 10))];
    expect(pool.state().queueLength).toBe(2);
    const refused = await settle(sleepCall(pool, 10));
    expect(refused.ok).toBe(false);
    const error = (refused as { error: unknown }).error as GuardOverloadedError;
    expect(error).toBeInstanceOf(GuardOverloadedError);
    expect(error).toMatchObject({ code: 'WG_ERR_GUARD_OVERLOADED', retryAfterSeconds: 1, guard: 'rust' });
    expect(error.message).toMatch(/2 calls already waiting \(limit 2\)/);
    // Promptly: refused while the running call still runs.
    const ran = await running;
    expect(refused.at).toBeLessThan(ran.at);
    expect((await Promise.all(queued)).every((o) => o.ok)).toBe(true);
    expect(observer.of('rejected')).toEqual([['rust', 'queue_full']]);
    expect(observer.of('queueWait')).toHaveLength(2);
  });

  it('a burst of 100 on one instance with maxQueue 10: 11 served, 89 refused before the first finishes', async () => {
    const pool = await start({ size: 1, maxQueue: 10, queueTimeoutMs: 10_000 });
    const outcomes = await Promise.all(Array.from({ length: 100 }, () => settle(sleepCall(pool, 20))));
    const served = outcomes.filter((o) => o.ok);
    const refused = outcomes.filter((o) => !o.ok);
    expect(served).toHaveLength(11);
    expect(refused.every((o) => (o as { error: unknown }).error instanceof GuardOverloadedError)).toBe(true);
    const firstServed = Math.min(...served.map((o) => o.at));
    expect(Math.max(...refused.map((o) => o.at))).toBeLessThan(firstServed);
    expect(fullyIdle(pool.state())).toBe(true);
    expect(pool.state().queueLength).toBe(0);
  });

  it('a call that waits longer than queueTimeoutMs is rejected with GuardOverloadedError, while the instance is still busy', async () => {
    const observer = recordingObserver();
    const pool = await start({ size: 1, queueTimeoutMs: 150, observer });
    const running = settle(sleepCall(pool, 600));
    const t0 = performance.now();
    const waited = await settle(sleepCall(pool, 10));
    expect(waited.ok).toBe(false);
    expect((waited as { error: unknown }).error).toBeInstanceOf(GuardOverloadedError);
    expect(((waited as { error: Error }).error).message).toMatch(/no instance free within 150 ms/);
    expect(waited.at - t0).toBeGreaterThanOrEqual(145);
    expect(waited.at).toBeLessThan((await running).at);
    expect(pool.state().queueLength).toBe(0);
    expect(observer.of('rejected')).toEqual([['rust', 'wait_timeout']]);
    // The pool goes on serving.
    expect(description((await sleepCall(pool, 1)).output)).toBe('slept 1 ms');
  });

  it('a queued call served in time is not rejected, and its wait is observed', async () => {
    const observer = recordingObserver();
    const pool = await start({ size: 1, queueTimeoutMs: 1000, observer });
    const [a, b] = await Promise.all([sleepCall(pool, 100), sleepCall(pool, 1)]);
    expect(description(a.output)).toBe('slept 100 ms');
    expect(description(b.output)).toBe('slept 1 ms');
    const waits = observer.of('queueWait');
    expect(waits).toHaveLength(1);
    expect(waits[0]![1] as number).toBeGreaterThanOrEqual(0.09);
    await sleep(1100); // the wait timer of the served call was cleared: nothing fires later
    expect(observer.of('rejected')).toEqual([]);
  });
});

describe('input limits', () => {
  it('an oversize input or policy is refused with GuardInputTooLargeError before dispatch', async () => {
    const observer = recordingObserver();
    const pool = await start({ size: 1, observer }, { maxInputBytes: 1024 });
    const big = rustInput('get_x', { pad: 'x'.repeat(2000) });
    await expect(pool.call({ fn: 'label_resource', input: big })).rejects.toMatchObject({
      name: 'GuardInputTooLargeError',
      size: Buffer.byteLength(big),
      limit: 1024,
      fn: 'label_resource',
    });
    const bigPolicy = JSON.stringify({ 'allow-only': { repos: Array.from({ length: 200 }, (_, i) => `o/r${i}`) } });
    await expect(pool.call({ fn: 'label_resource', input: rustInput('get_x'), policy: { key: 'p', json: bigPolicy } })).rejects.toMatchObject({
      name: 'GuardInputTooLargeError',
      fn: 'label_agent',
    });
    await expect(pool.call({ fn: 'label_agent', policy: { key: 'p', json: bigPolicy } })).rejects.toBeInstanceOf(GuardInputTooLargeError);
    // Multi-byte characters count in bytes.
    const wide = rustInput('get_x', { pad: 'é'.repeat(500) });
    expect(wide.length).toBeLessThan(1024);
    await expect(pool.call({ fn: 'label_resource', input: wide })).rejects.toBeInstanceOf(GuardInputTooLargeError);
    // Nothing reached a worker.
    expect(observer.of('callDuration')).toEqual([]);
    expect(pool.state()).toMatchObject({ instances: { idle: 1 }, evictions: {}, traps: {} });
    // Exactly at the limit is fine.
    const base = rustInput('get_x', { pad: '' });
    const exact = rustInput('get_x', { pad: 'y'.repeat(1024 - Buffer.byteLength(base)) });
    expect(Buffer.byteLength(exact)).toBe(1024);
    expect(description((await pool.call({ fn: 'label_resource', input: exact })).output)).toBe('get_x under policy none');
  });

  it('large inputs and outputs near the limits cross the channel intact', async () => {
    const pool = await start({ size: 1 }, { maxInputBytes: 2 * 1024 * 1024, maxOutputBytes: 4 * 1024 * 1024 });
    const pad = 'p'.repeat(2 * 1024 * 1024 - 200);
    const out = await pool.call({ fn: 'label_resource', input: rustInput('big_output', { size: 3 * 1024 * 1024, pad }) });
    expect(out.output.length).toBe(3 * 1024 * 1024);
    expect(JSON.parse(out.output).operation).toBe('read');
    await waitForState(pool, fullyIdle);
  });
});
