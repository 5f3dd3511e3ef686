import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { CompiledGuard } from '../../src/guard/index.js';
import type { GuardPool } from '../../src/pool/index.js';
import { description, loadRustGuard, poolHarness, rustInput, settledThreads, startedOf, waitForState } from '../support/pool-guards.js';

const { cache, start } = poolHarness();

let rust: CompiledGuard;
const rustGuard = async () => (rust ??= await loadRustGuard(cache));
const sleepCall = (pool: GuardPool, ms: number) => pool.call({ fn: 'label_resource', input: rustInput('sleep', { ms }) });

/** Calls that all wait at once: the pool grows to `size` (one instance at a time, while they wait). */
async function growTo(pool: GuardPool, size: number): Promise<void> {
  const client = async () => {
    for (let i = 0; i < 8; i++) expect(description((await sleepCall(pool, 40)).output)).toBe('slept 40 ms');
  };
  await Promise.all(Array.from({ length: 2 * size }, client));
  await waitForState(pool, (s) => startedOf(s) === size);
}

describe('a pool that stops the instances it grew once they stay idle', () => {
  it('stops grown instances idle for idleMs, down to the warm ones, and grows again under the next burst', async () => {
    const before = await settledThreads();
    const pool = await start(await rustGuard(), { size: 3, warm: 1, idleMs: 300 });
    const oneWorker = await settledThreads();
    await growTo(pool, 3);

    const shrunk = await waitForState(pool, (s) => startedOf(s) === 1 && s.instances.idle === 1, 5000);
    // A stopped instance is neither an eviction nor anything to replace: it is gone, with its worker.
    expect(shrunk).toMatchObject({ size: 3, instances: { idle: 1, busy: 0, starting: 0, poisoned: 0 }, evictions: {}, replacements: {} });
    expect(await settledThreads()).toBe(oneWorker);
    expect(oneWorker).toBeGreaterThan(before);

    // The warm instance still serves, and the pool grows again when calls wait.
    expect(description((await sleepCall(pool, 1)).output)).toBe('slept 1 ms');
    await growTo(pool, 3);
  });

  it('never stops an instance while it runs a call, however long past idleMs', async () => {
    const pool = await start(await rustGuard(), { size: 3, warm: 1, idleMs: 600, timeoutMs: 5000 });
    await growTo(pool, 3);
    // All three idle first: on a busy machine one may still be finishing, and calls sent while only two
    // are idle go to those two in one batch.
    await waitForState(pool, (s) => s.instances.idle === 3, 5000);
    // Three long calls at once: every instance is busy well past idleMs.
    const calls = Array.from({ length: 3 }, () => sleepCall(pool, 1500));
    await sleep(1000);
    expect(pool.state()).toMatchObject({ instances: { busy: 3, idle: 0, poisoned: 0 } });
    for (const result of await Promise.all(calls)) expect(description(result.output)).toBe('slept 1500 ms');
    // Idle once they are done, and stopped after idleMs.
    await waitForState(pool, (s) => startedOf(s) === 1, 5000);
  });

  it('keeps an instance that is used again within idleMs, and stops only those that are not', async () => {
    const pool = await start(await rustGuard(), { size: 3, warm: 2, idleMs: 400 });
    await growTo(pool, 3);
    // One call at a time, every 100 ms for 1.2 s: the first idle instance takes each, the others stay idle.
    for (let i = 0; i < 12; i++) {
      await sleepCall(pool, 1);
      await sleep(100);
    }
    // The third (grown) instance is stopped; the two warm ones stay however long they idle.
    expect(startedOf(pool.state())).toBe(2);
    await sleep(600);
    expect(startedOf(pool.state())).toBe(2);
  });

  it('keeps grown instances when idleMs is 0 (the class default)', async () => {
    const pool = await start(await rustGuard(), { size: 2, warm: 1 });
    await growTo(pool, 2);
    await sleep(300);
    expect(startedOf(pool.state())).toBe(2);
  });

  it('closes cleanly with a look for idle instances still due', async () => {
    const before = await settledThreads();
    const pool = await start(await rustGuard(), { size: 2, warm: 1, idleMs: 60_000 });
    await growTo(pool, 2);
    await pool.close();
    expect(await settledThreads()).toBe(before);
  });
});
