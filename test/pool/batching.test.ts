import { describe, expect, it } from 'vitest';
import { GuardTimeoutError, GuardTrapError, parseAgentOutput } from '../../src/guard/index.js';
import type { GuardPool } from '../../src/pool/index.js';
import { description, fullyIdle, loadRustGuard, poolHarness, recordingObserver, rustInput, settle, waitForState } from '../support/pool-guards.js';

const { cache, start } = poolHarness();

const rustCall = (pool: GuardPool, tool: string, args: Record<string, unknown> = {}, policy?: { key: string; json: string }) =>
  pool.call({ fn: 'label_resource', input: rustInput(tool, args), policy });

/**
 * Occupies the pool's only instance, and lets the turn of the event loop
 * end (its batch is handed over then), so that the calls made next wait in
 * the queue and go over as one batch when the instance is free.
 */
async function occupy(pool: GuardPool, ms = 60) {
  const call = rustCall(pool, 'sleep', { ms });
  await new Promise(setImmediate);
  return { done: () => call };
}

const batchSizes = (observer: ReturnType<typeof recordingObserver>) => observer.of('batch').map(([, size]) => size);

describe('batches', () => {
  it('calls made in one turn of the event loop go over together, spread over the idle instances', async () => {
    const observer = recordingObserver();
    const pool = await start(await loadRustGuard(cache), { size: 2, observer });
    const outs = await Promise.all(Array.from({ length: 10 }, (_, i) => rustCall(pool, `get_${i}`)));
    outs.forEach((r, i) => expect(description(r.output)).toBe(`get_${i} under policy none`));
    expect(batchSizes(observer)).toEqual([5, 5]);
    // The first call of each batch had an instance at once; the others waited behind it.
    expect(observer.of('queueWait')).toHaveLength(8);
  });

  it('a call gathered behind a slow one is refused when its wait runs out, and never runs', async () => {
    const observer = recordingObserver();
    const pool = await start(await loadRustGuard(cache), { size: 1, queueTimeoutMs: 150, observer });
    const t0 = performance.now();
    const slow = settle(rustCall(pool, 'sleep', { ms: 400 }));
    const behind = settle(rustCall(pool, 'stats'));
    expect(pool.state().queueLength).toBe(1);
    const refused = await behind;
    expect(refused.ok).toBe(false);
    expect((refused as { error: Error }).error.message).toMatch(/no instance free within 150 ms/);
    expect(refused.at - t0).toBeGreaterThanOrEqual(145);
    expect(refused.at).toBeLessThan((await slow).at);
    expect(observer.of('rejected')).toEqual([['rust', 'wait_timeout']]);
    // It did not run: the next call is the instance's second label_resource call, not its third.
    const stats = JSON.parse(description((await rustCall(pool, 'stats')).output));
    expect(stats.label_resource_calls).toBe(2);
    expect(pool.state().queueLength).toBe(0);
  });

  it('calls that wait for a busy instance go over together, run in order, and each gets its own answer', async () => {
    const observer = recordingObserver();
    const pool = await start(await loadRustGuard(cache), { size: 1, observer });
    const first = await occupy(pool);
    const queued = Array.from({ length: 20 }, (_, i) => rustCall(pool, `get_${i}`));
    await first.done();
    const outs = await Promise.all(queued);
    outs.forEach((r, i) => expect(description(r.output)).toBe(`get_${i} under policy none`));
    expect(batchSizes(observer)).toEqual([1, 20]);
    // Each call is timed on its own in the worker, not as the batch.
    expect(observer.of('callDuration')).toHaveLength(21);
    expect(observer.of('queueWait')).toHaveLength(20);
  });

  it('a batch holds at most 32 calls; the rest follow in the next one', async () => {
    const observer = recordingObserver();
    const pool = await start(await loadRustGuard(cache), { size: 1, observer });
    const first = await occupy(pool);
    const queued = Array.from({ length: 40 }, (_, i) => rustCall(pool, `get_${i}`));
    await first.done();
    (await Promise.all(queued)).forEach((r, i) => expect(description(r.output)).toBe(`get_${i} under policy none`));
    expect(batchSizes(observer)).toEqual([1, 32, 8]);
  });

  it('labels every call of a mixed batch under its own policy, or none', async () => {
    const pool = await start(await loadRustGuard(cache), { size: 1 });
    const acme = { key: 'acme', json: '{"allow-only":{"repos":["acme/x"],"min-integrity":"approved"}}' };
    const pub = { key: 'public', json: '{"allow-only":{"repos":"public"}}' };
    const acmeText = 'under policy {"min-integrity":"approved","repos":["acme/x"]}';
    const pubText = 'under policy {"min-integrity":"none","repos":"public"}';
    const first = await occupy(pool);
    const plan = [acme, undefined, pub, pub, acme, undefined, acme] as const;
    const queued = plan.map((policy, i) => rustCall(pool, `get_${i}`, {}, policy));
    const agent = pool.call({ fn: 'label_agent', policy: pub });
    await first.done();
    const outs = await Promise.all(queued);
    outs.forEach((r, i) => {
      const policy = plan[i];
      expect(description(r.output)).toBe(`get_${i} ${policy === acme ? acmeText : policy === pub ? pubText : 'under policy none'}`);
      // label_agent's answer comes back with a call that had to switch the instance to its policy.
      const switched = policy !== undefined && policy !== plan[i - 1];
      expect(r.agentOutput !== undefined).toBe(switched);
    });
    expect(parseAgentOutput((await agent).output, 'rust').agent).toBeDefined();
  });

  it('call_backend in the middle of a batch: its exchange does not disturb the calls before or after it', async () => {
    const backend = async (tool: string, args: string) => JSON.stringify({ tool, args: JSON.parse(args), pad: 'y'.repeat(3000) });
    const pool = await start(await loadRustGuard(cache), { size: 1, backend });
    const first = await occupy(pool);
    const big = { pad: 'z'.repeat(2000) }; // inputs larger than the backend exchange, so an overlap would show
    const before = rustCall(pool, 'get_before', big);
    const viaBackend = rustCall(pool, 'backend', { tool: 'lookup', args: { n: 7 }, times: 2 });
    const after = rustCall(pool, 'get_after', big);
    await first.done();
    expect(description((await before).output)).toBe('get_before under policy none');
    const hook = JSON.parse(description((await viaBackend).output));
    expect(hook.rcs).toHaveLength(2);
    expect(hook.result).toMatchObject({ tool: 'lookup', args: { n: 7 } });
    expect(description((await after).output)).toBe('get_after under policy none');
  });

  it('a trap in the middle of a batch fails that call only; the worker replaces the instance and runs the rest of the batch on it', async () => {
    const observer = recordingObserver();
    const pool = await start(await loadRustGuard(cache), { size: 1, observer });
    const first = await occupy(pool);
    const before = [rustCall(pool, 'get_a'), rustCall(pool, 'stats')];
    const trap = settle(rustCall(pool, 'trap_unreachable'));
    const after = [rustCall(pool, 'stats'), rustCall(pool, 'get_b')];
    await first.done();
    const [beforeGet, beforeStats] = await Promise.all(before);
    const outcome = await trap;
    const [afterStats, afterGet] = await Promise.all(after);
    expect(description(beforeGet!.output)).toBe('get_a under policy none');
    expect(description(afterGet!.output)).toBe('get_b under policy none');
    expect(outcome.ok).toBe(false);
    expect((outcome as { error: unknown }).error).toBeInstanceOf(GuardTrapError);
    const oldStats = JSON.parse(description(beforeStats!.output));
    const newStats = JSON.parse(description(afterStats!.output));
    expect(newStats.instance_id).not.toBe(oldStats.instance_id);
    expect(newStats.label_resource_calls).toBe(1);
    expect(batchSizes(observer)).toEqual([1, 5]); // no second batch: nothing went back to the queue
    expect(await waitForState(pool, fullyIdle)).toMatchObject({ evictions: { trap: 1 }, replacements: { trap: 1 }, traps: { unreachable: 1 } });
    expect(observer.events.filter((e) => e.type === 'eviction' || e.type === 'replacement').map((e) => [e.type, ...e.args])).toEqual([
      ['eviction', 'rust', 'trap'],
      ['replacement', 'rust', 'trap'],
    ]);
  });

  it('a second trap in the same batch ends it: the calls after it wait for the pool to replace the instance', async () => {
    const observer = recordingObserver();
    const pool = await start(await loadRustGuard(cache), { size: 1, observer });
    const first = await occupy(pool);
    const calls = [
      rustCall(pool, 'stats'),
      settle(rustCall(pool, 'trap_unreachable')),
      rustCall(pool, 'stats'),
      settle(rustCall(pool, 'trap_unreachable')),
      rustCall(pool, 'stats'),
    ];
    await first.done();
    const [a, trap1, b, trap2, c] = await Promise.all(calls);
    expect([trap1, trap2].map((t) => (t as { ok: boolean }).ok)).toEqual([false, false]);
    const ids = [a, b, c].map((r) => JSON.parse(description((r as { output: string }).output)).instance_id);
    expect(new Set(ids).size).toBe(3);
    expect(batchSizes(observer)).toEqual([1, 5, 1]);
    expect(await waitForState(pool, fullyIdle)).toMatchObject({ evictions: { trap: 2 }, replacements: { trap: 2 }, traps: { unreachable: 2 } });
  });

  it('each call of a batch has its own deadline: a batch may run longer than one deadline', async () => {
    const pool = await start(await loadRustGuard(cache), { size: 1, timeoutMs: 300 });
    const first = await occupy(pool);
    const queued = [1, 2, 3].map(() => rustCall(pool, 'sleep', { ms: 200 }));
    await first.done();
    const outs = await Promise.all(queued);
    expect(outs.map((r) => description(r.output))).toEqual(Array(3).fill('slept 200 ms'));
    expect(pool.state().evictions).toEqual({});
  });

  it('a runaway call in a batch is cut at its own deadline; the other calls of the batch still get answers', async () => {
    const observer = recordingObserver();
    // get_c waits about 510 ms for the batch, then for a new worker to start (no spare before the first
    // replacement): a loaded machine can take that past the default 1 s wait bound, which is not under test.
    const pool = await start(await loadRustGuard(cache), { size: 1, timeoutMs: 300, queueTimeoutMs: 5000, observer });
    const first = await occupy(pool);
    const started = performance.now();
    const queued = [settle(rustCall(pool, 'sleep', { ms: 150 })), settle(rustCall(pool, 'loop_forever')), settle(rustCall(pool, 'get_c'))];
    await first.done();
    const [slept, loop, got] = await Promise.all(queued);
    expect(loop!.ok).toBe(false);
    expect((loop as { error: unknown }).error).toBeInstanceOf(GuardTimeoutError);
    // The loop started after the 60 ms occupier and the 150 ms sleep: its deadline counts from its own start.
    expect(loop!.at - started).toBeGreaterThanOrEqual(60 + 150 + 290);
    expect(slept!.ok && description(slept!.value.output)).toBe('slept 150 ms');
    expect(got!.ok ? description(got!.value.output) : got!.error).toBe('get_c under policy none');
    expect(await waitForState(pool, fullyIdle)).toMatchObject({ evictions: { deadline: 1 }, traps: { deadline: 1 } });
    expect(observer.of('trap')).toEqual([['rust', 'label_resource', 'deadline']]);
  });

  it('calls a batch finished before a runaway one keep their answers: they do not run again on the new worker', async () => {
    let backendCalls = 0;
    const backend = async () => {
      backendCalls++;
      return '{"found":true}';
    };
    const observer = recordingObserver();
    const pool = await start(await loadRustGuard(cache), { size: 1, timeoutMs: 300, backend, observer });
    const first = await occupy(pool);
    const queued = [
      settle(rustCall(pool, 'backend', { tool: 'lookup', args: {}, times: 1 })),
      settle(rustCall(pool, 'sleep', { ms: 150 })),
      settle(rustCall(pool, 'loop_forever')),
      settle(rustCall(pool, 'get_after')),
    ];
    await first.done();
    // The batch goes over as the occupier's answer comes back.
    const batchStarted = performance.now();
    const [viaBackend, slept, loop, after] = await Promise.all(queued);
    expect(viaBackend!.ok && JSON.parse(description(viaBackend!.value.output)).result).toEqual({ found: true });
    // Run once: its result was read from the channel after the worker was terminated, not made again.
    expect(backendCalls).toBe(1);
    expect(slept!.ok && description(slept!.value.output)).toBe('slept 150 ms');
    expect((loop as { error: unknown }).error).toBeInstanceOf(GuardTimeoutError);
    expect(after!.ok && description(after!.value.output)).toBe('get_after under policy none');
    // The runaway call's duration counts from its own start (about its 300 ms deadline), not from the batch's: the
    // 150 ms sleep before it is not in it. Judged against the batch's own time, so a slow machine cannot fail it.
    const [failedDuration] = observer.of('callDuration').filter(([, , , outcome]) => outcome === 'error');
    expect(failedDuration![2]).toBeGreaterThanOrEqual(0.3);
    expect((failedDuration![2] as number) * 1000).toBeLessThan(loop!.at - batchStarted - 100);
    expect(observer.of('callDuration')).toHaveLength(5);
  });

  it('outputs that do not all fit in the channel come back over several hand-overs, none lost', async () => {
    const observer = recordingObserver();
    // 64 KiB limits: a channel of 2 x 64 KiB + 1 MiB, too small for 24 outputs of 60 KB.
    const limits = { maxInputBytes: 64 * 1024, maxOutputBytes: 64 * 1024 };
    const pool = await start(await loadRustGuard(cache, { limits }), { size: 1, observer });
    const first = await occupy(pool);
    const queued = Array.from({ length: 24 }, () => rustCall(pool, 'big_output', { size: 60_000 }));
    await first.done();
    const outs = await Promise.all(queued);
    for (const r of outs) expect(Buffer.byteLength(r.output)).toBe(60_000);
    const sizes = batchSizes(observer);
    expect(sizes[1]).toBe(24);
    expect(sizes.length).toBeGreaterThan(2);
    // Each call is answered once: the one whose output found no room was run again, not answered twice.
    expect(observer.of('callDuration')).toHaveLength(25);
  });
});
