import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import {
  GuardExitError,
  GuardLoadError,
  GuardTimeoutError,
  GuardTrapError,
  GuardUnavailableError,
  type TrapKind,
} from '../../src/guard/index.js';
import { GuardPool } from '../../src/pool/index.js';
import { RESOURCE_JSON } from '../support/guards.js';
import {
  alwaysTrapGuard,
  compileWat,
  description,
  fullyIdle,
  initFailsAfterGuard,
  initLoopGuard,
  initTrapGuard,
  loadRustGuard,
  quietLogger,
  recordingObserver,
  rustInput,
  settle,
  threadCount,
  waitForState,
  poolHarness,
} from '../support/pool-guards.js';

const { cache, start: startPool } = poolHarness();

const start = startPool;

const rustCall = (pool: GuardPool, tool: string, args: Record<string, unknown> = {}) =>
  pool.call({ fn: 'label_resource', input: rustInput(tool, args) });

describe('trap poisoning', () => {
  it('a trap in one of N concurrent calls fails only that call; the pool returns to N healthy idle instances', async () => {
    const observer = recordingObserver();
    const pool = await start(await loadRustGuard(cache), { size: 3, observer });
    const calls = [
      settle(rustCall(pool, 'sleep', { ms: 80 })),
      settle(rustCall(pool, 'trap_unreachable')),
      settle(rustCall(pool, 'sleep', { ms: 80 })),
    ];
    const [a, trapped, c] = await Promise.all(calls);
    expect(a!.ok && c!.ok).toBe(true);
    expect(trapped!.ok).toBe(false);
    const error = (trapped as { error: unknown }).error;
    expect(error).toBeInstanceOf(GuardTrapError);
    expect(error).toMatchObject({ kind: 'unreachable', code: 'WG_ERR_GUARD_TRAP', guard: 'rust', fn: 'label_resource' });

    const state = await waitForState(pool, fullyIdle);
    expect(state).toMatchObject({
      healthy: true,
      instances: { idle: 3, busy: 0, starting: 0, poisoned: 0 },
      evictions: { trap: 1 },
      replacements: { trap: 1 },
      traps: { unreachable: 1 },
    });
    expect(observer.of('trap')).toEqual([['rust', 'label_resource', 'unreachable']]);
    expect(observer.of('eviction')).toEqual([['rust', 'trap']]);
    expect(observer.of('replacement')).toEqual([['rust', 'trap']]);
    // All three instances serve again.
    const again = await Promise.all([1, 2, 3].map(() => rustCall(pool, 'sleep', { ms: 30 })));
    expect(again.map((r) => description(r.output))).toEqual(Array(3).fill('slept 30 ms'));
  });

  it('the trapped instance is never used again: its replacement is a fresh instance', async () => {
    const pool = await start(await loadRustGuard(cache), { size: 1 });
    const before = JSON.parse(description((await rustCall(pool, 'stats')).output));
    await rustCall(pool, 'get_a');
    await expect(rustCall(pool, 'trap_oob')).rejects.toMatchObject({ kind: 'out_of_bounds' });
    await waitForState(pool, fullyIdle);
    const after = JSON.parse(description((await rustCall(pool, 'stats')).output));
    expect(after.instance_id).not.toBe(before.instance_id);
    expect(after.label_resource_calls).toBe(1); // a new instance: this stats call is its first
  });

  it('calls queued behind a trapping call are served by the other instances', async () => {
    const pool = await start(await loadRustGuard(cache), { size: 2 });
    const trap = settle(rustCall(pool, 'trap_unreachable'));
    const rest = Array.from({ length: 20 }, (_, i) => rustCall(pool, `get_${i}`));
    expect((await trap).ok).toBe(false);
    const outs = await Promise.all(rest);
    outs.forEach((r, i) => expect(description(r.output)).toBe(`get_${i} under policy none`));
    await waitForState(pool, fullyIdle);
  });

  it('counts traps by kind; exit(0) is an eviction for exit, not a trap', async () => {
    const observer = recordingObserver();
    // memory_bomb stops at the memory cap.
    const pool = await start(await loadRustGuard(cache, { limits: { memoryLimitBytes: 32 * 1024 * 1024 } }), { size: 2, observer });
    const cases: Array<[string, new (...a: never[]) => Error, TrapKind | undefined]> = [
      ['trap_unreachable', GuardTrapError, 'unreachable'],
      ['panic', GuardTrapError, 'unreachable'],
      ['trap_oob', GuardTrapError, 'out_of_bounds'],
      ['trap_stack', GuardTrapError, 'stack_overflow'],
      ['trap_div0', GuardTrapError, 'divide_by_zero'],
      ['exit_3', GuardTrapError, 'exit'],
      ['memory_bomb', GuardTrapError, 'memory'],
      ['exit_0', GuardExitError, undefined],
    ];
    for (const [tool, Class, kind] of cases) {
      await waitForState(pool, fullyIdle);
      await rustCall(pool, 'get_ok'); // a success in between keeps backoff out of the way
      const error = await rustCall(pool, tool).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, tool).toBeInstanceOf(Class);
      if (kind) expect(error, tool).toMatchObject({ kind });
    }
    const state = await waitForState(pool, fullyIdle);
    expect(state.traps).toEqual({ unreachable: 2, out_of_bounds: 1, stack_overflow: 1, divide_by_zero: 1, exit: 1, memory: 1 });
    expect(state.evictions).toEqual({ trap: 7, exit: 1 });
    expect(state.replacements).toEqual({ trap: 7, exit: 1 });
    expect(observer.of('trap')).toHaveLength(7);
    expect(observer.of('eviction').filter(([, reason]) => reason === 'exit')).toHaveLength(1);
  });

  it('traps in label_agent and label_response poison the instance too', async () => {
    const pool = await start(await loadRustGuard(cache), { size: 1 });
    await expect(
      pool.call({ fn: 'label_agent', policy: { key: 'h', json: '{"allow-only":{},"test-hook":"trap_div0"}' } }),
    ).rejects.toMatchObject({ kind: 'divide_by_zero', fn: 'label_agent' });
    await waitForState(pool, fullyIdle);
    await expect(
      pool.call({ fn: 'label_response', input: JSON.stringify({ tool_name: 'response_trap_oob', tool_result: [], tool_args: {} }) }),
    ).rejects.toMatchObject({ kind: 'out_of_bounds', fn: 'label_response' });
    // A trap while applying the policy before a label_resource call.
    await waitForState(pool, fullyIdle);
    await expect(
      pool.call({ fn: 'label_resource', input: rustInput('get_x'), policy: { key: 'h2', json: '{"allow-only":{},"test-hook":"trap_unreachable"}' } }),
    ).rejects.toMatchObject({ kind: 'unreachable', fn: 'label_agent' });
    const state = await waitForState(pool, fullyIdle);
    expect(state.traps).toEqual({ divide_by_zero: 1, out_of_bounds: 1, unreachable: 1 });
    expect(description((await rustCall(pool, 'get_x')).output)).toBe('get_x under policy none');
  });
});

describe('deadlines', () => {
  it('an infinite loop is cut at the deadline while concurrent healthy calls complete; the worker is replaced', async () => {
    const observer = recordingObserver();
    const pool = await start(await loadRustGuard(cache), { size: 2, timeoutMs: 400, observer });
    const started = performance.now();
    const loop = settle(rustCall(pool, 'loop_forever'));
    // Meanwhile the other instance keeps serving.
    const healthy: string[] = [];
    for (let i = 0; i < 10; i++) healthy.push(description((await rustCall(pool, 'sleep', { ms: 20 })).output));
    const outcome = await loop;
    expect(healthy).toEqual(Array(10).fill('slept 20 ms'));
    expect(outcome.ok).toBe(false);
    const error = (outcome as { error: unknown }).error;
    expect(error).toBeInstanceOf(GuardTimeoutError);
    expect(error).toMatchObject({ code: 'WG_ERR_GUARD_TIMEOUT', guard: 'rust', fn: 'label_resource' });
    expect(outcome.at - started).toBeGreaterThanOrEqual(390);

    const state = await waitForState(pool, fullyIdle);
    expect(state).toMatchObject({ evictions: { deadline: 1 }, replacements: { deadline: 1 }, traps: { deadline: 1 }, healthy: true });
    expect(observer.of('trap')).toEqual([['rust', 'label_resource', 'deadline']]);
    expect(observer.of('callDuration').some(([, fn, s, o]) => fn === 'label_resource' && o === 'error' && (s as number) >= 0.39)).toBe(true);
    await Promise.all([rustCall(pool, 'sleep', { ms: 20 }), rustCall(pool, 'sleep', { ms: 20 })]);
  });

  it('the looping worker is really stopped: no CPU burnt after the timeout, its thread is gone', async () => {
    const pool = await start(await loadRustGuard(cache), { size: 1, timeoutMs: 200, spare: false });
    await waitForState(pool, fullyIdle);
    const threadsBefore = await threadCount();
    await expect(rustCall(pool, 'loop_forever')).rejects.toBeInstanceOf(GuardTimeoutError);
    await waitForState(pool, fullyIdle);
    await sleep(50);
    const cpu = process.cpuUsage();
    await sleep(300);
    const used = process.cpuUsage(cpu);
    // A thread still spinning would add ~300 ms of user time.
    expect(used.user / 1000).toBeLessThan(150);
    expect(await threadCount()).toBeLessThanOrEqual(threadsBefore);
  });

  it('several loops at once: each is cut and replaced; the pool is whole again', async () => {
    const pool = await start(await loadRustGuard(cache), { size: 2, timeoutMs: 250, queueTimeoutMs: 5000 }); // workers boot slowly from TypeScript sources
    const outcomes = await Promise.all([1, 2, 3].map(() => settle(rustCall(pool, 'loop_forever'))));
    expect(outcomes.map((o) => (o.ok ? 'ok' : (o.error as Error).constructor.name))).toEqual(Array(3).fill('GuardTimeoutError'));
    const state = await waitForState(pool, (s) => fullyIdle(s) && (s.replacements.deadline ?? 0) === 3);
    expect(state.evictions).toEqual({ deadline: 3 });
    expect(description((await rustCall(pool, 'get_x')).output)).toBe('get_x under policy none');
  });
});

describe('repeated failures: backoff and health', () => {
  it('a guard that always traps backs off, is reported unhealthy and refused at once instead of spinning', async () => {
    const observer = recordingObserver();
    const pool = await start(await compileWat(cache, alwaysTrapGuard(), 'trapper'), {
      size: 1,
      observer,
      backoff: { baseMs: 20, maxMs: 200 },
      queueTimeoutMs: 5000,
    });
    let sawUnhealthy = false;
    const errors = new Map<string, number>();
    const until = performance.now() + 1200;
    while (performance.now() < until) {
      const outcome = await settle(pool.call({ fn: 'label_resource', input: '{}' }));
      expect(outcome.ok).toBe(false);
      const name = (outcome as { error: Error }).error.constructor.name;
      errors.set(name, (errors.get(name) ?? 0) + 1);
      if (!pool.healthy) sawUnhealthy = true;
      if (name === 'GuardUnavailableError') await sleep(5);
    }
    const state = pool.state();
    expect(sawUnhealthy).toBe(true);
    expect(errors.get('GuardTrapError')).toBeGreaterThanOrEqual(3);
    expect(errors.get('GuardUnavailableError')).toBeGreaterThan(0);
    expect([...errors.keys()].sort()).toEqual(['GuardTrapError', 'GuardUnavailableError']);
    // Without backoff this would be hundreds; with 0, 20, 40, 80, 160, 200, 200... ms it is about 8 in 1.2 s.
    const replacements = state.replacements.trap ?? 0;
    expect(replacements).toBeGreaterThanOrEqual(3);
    expect(replacements).toBeLessThanOrEqual(12);
    expect(state.consecutiveFailures).toBeGreaterThanOrEqual(3);
    // The gaps between replacements grow (backoff), up to the cap.
    const at = observer.events.filter((e) => e.type === 'replacement').map((e) => e.at);
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    expect(Math.max(...gaps.slice(-2))).toBeGreaterThanOrEqual(150);
    expect(observer.of('rejected').some(([, reason]) => reason === 'unavailable')).toBe(true);
  });

  it('queued calls are failed with GuardUnavailableError as soon as the guard turns unhealthy', async () => {
    const observer = recordingObserver();
    const pool = await start(await compileWat(cache, alwaysTrapGuard(), 'trapper'), {
      size: 1,
      observer,
      backoff: { baseMs: 50, maxMs: 1000 },
      queueTimeoutMs: 10_000,
    });
    const t0 = performance.now();
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => settle(pool.call({ fn: 'label_resource', input: '{}' }))));
    expect(performance.now() - t0).toBeLessThan(5000); // nowhere near the 10 s wait timeout
    const kinds = outcomes.map((o) => (o.ok ? 'ok' : (o.error as Error).constructor.name));
    expect(observer.of('rejected')).toEqual(Array(kinds.filter((k) => k === 'GuardUnavailableError').length).fill(['trapper', 'unavailable']));
    expect(kinds.filter((k) => k === 'GuardTrapError').length).toBeGreaterThanOrEqual(3);
    expect(kinds.filter((k) => k === 'GuardUnavailableError').length).toBeGreaterThan(0);
    expect(kinds.every((k) => k === 'GuardTrapError' || k === 'GuardUnavailableError')).toBe(true);
  });

  it('recovers: once calls succeed again the failure count resets and the pool is healthy', async () => {
    const pool = await start(await loadRustGuard(cache), { size: 1, backoff: { baseMs: 10, maxMs: 50 } });
    for (let i = 0; i < 5; i++) {
      await waitForState(pool, fullyIdle);
      await expect(rustCall(pool, 'trap_unreachable')).rejects.toBeInstanceOf(GuardTrapError);
    }
    expect(pool.state().consecutiveFailures).toBe(5);
    expect(pool.healthy).toBe(false); // no live instance right now, too many failures
    await waitForState(pool, fullyIdle, 2000);
    expect(pool.healthy).toBe(true);
    expect(description((await rustCall(pool, 'get_x')).output)).toBe('get_x under policy none');
    expect(pool.state()).toMatchObject({ consecutiveFailures: 0, healthy: true });
  });
});

describe('instantiation failures', () => {
  it('GuardPool.start rejects with the guard\'s load error when _initialize traps, and leaves no worker behind', async () => {
    const threads = await threadCount();
    const guard = await compileWat(cache, initTrapGuard(), 'bad-init');
    const error = await GuardPool.start(guard, { size: 2, logger: quietLogger }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(GuardLoadError);
    expect((error as Error).message).toMatch(/_initialize failed.*unreachable/);
    await sleep(50);
    expect(await threadCount()).toBeLessThanOrEqual(threads);
  });

  it('GuardPool.start rejects with a timeout when _initialize never returns, and leaves no worker behind', async () => {
    const threads = await threadCount();
    const guard = await compileWat(cache, initLoopGuard(), 'hang-init');
    const error = await GuardPool.start(guard, { size: 2, logger: quietLogger, timeoutMs: 300 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(GuardTimeoutError);
    expect((error as Error).message).toMatch(/instantiation did not finish within 300 ms/);
    await sleep(50);
    expect(await threadCount()).toBeLessThanOrEqual(threads);
  });

  it('a replacement that cannot be instantiated is retried with backoff; the guard is reported unavailable', async () => {
    const observer = recordingObserver();
    // Instances made from now + 1.5 s on fail in _initialize.
    const cutoff = Date.now() + 1500;
    const guard = await compileWat(cache, initFailsAfterGuard(cutoff), 'late-init');
    const pool = await start(guard, { size: 1, observer, backoff: { baseMs: 20, maxMs: 100 }, spare: false });
    expect(Date.now()).toBeLessThan(cutoff); // otherwise the pool could not have started
    expect((await pool.call({ fn: 'label_resource', input: '{"a":1}' })).output).toBe(RESOURCE_JSON);
    await sleep(cutoff - Date.now() + 20);
    // The existing instance still works; poison it (a one-byte input makes it trap).
    expect((await pool.call({ fn: 'label_resource', input: '{"a":1}' })).output).toBe(RESOURCE_JSON);
    await expect(pool.call({ fn: 'label_resource', input: 'x' })).rejects.toBeInstanceOf(GuardTrapError);
    await sleep(600);
    const state = pool.state();
    expect(state.healthy).toBe(false);
    expect(state.instances.idle).toBe(0);
    expect(state.evictions.start_failed).toBeGreaterThanOrEqual(3);
    expect(state.evictions.start_failed).toBeLessThanOrEqual(12); // backoff: 0, 20, 40, 80, 100, 100 ... ms
    expect(state.replacements).toEqual({});
    expect(observer.of('trap').filter(([, fn]) => fn === 'instantiate').length).toBe(state.evictions.start_failed);
    await expect(pool.call({ fn: 'label_resource', input: '{"a":1}' })).rejects.toBeInstanceOf(GuardUnavailableError);
  });

  it('a new worker that cannot instantiate (after a deadline) is retried with backoff, never served from', async () => {
    const observer = recordingObserver();
    const cutoff = Date.now() + 1500;
    const guard = await compileWat(cache, initFailsAfterGuard(cutoff), 'late-init');
    const pool = await start(guard, { size: 1, observer, timeoutMs: 200, backoff: { baseMs: 20, maxMs: 100 }, spare: false });
    expect(Date.now()).toBeLessThan(cutoff);
    await sleep(cutoff - Date.now() + 20);
    await expect(pool.call({ fn: 'label_resource', input: 'xy' })).rejects.toBeInstanceOf(GuardTimeoutError);
    const state = await waitForState(pool, (s) => (s.evictions.start_failed ?? 0) >= 3, 3000);
    expect(state).toMatchObject({ healthy: false, evictions: { deadline: 1 }, replacements: {} });
    expect(state.instances.idle + state.instances.busy).toBe(0);
    await expect(pool.call({ fn: 'label_resource', input: '{"a":1}' })).rejects.toBeInstanceOf(GuardUnavailableError);
  });

  it('a replacement whose _initialize hangs is cut by the deadline, in the worker and in a new worker alike', async () => {
    const observer = recordingObserver();
    const cutoff = Date.now() + 1500;
    const guard = await compileWat(cache, initFailsAfterGuard(cutoff, { hang: true }), 'hang-later');
    const pool = await start(guard, { size: 1, observer, timeoutMs: 150, backoff: { baseMs: 20, maxMs: 100 }, spare: false });
    expect(Date.now()).toBeLessThan(cutoff);
    await sleep(cutoff - Date.now() + 20);
    await expect(pool.call({ fn: 'label_resource', input: 'x' })).rejects.toBeInstanceOf(GuardTrapError);
    // First the reset inside the worker hangs, then each new worker does.
    const state = await waitForState(pool, (s) => (s.evictions.start_failed ?? 0) >= 3, 5000);
    expect(state.healthy).toBe(false);
    expect(state.instances.starting + state.instances.poisoned).toBe(1);
    expect(observer.of('trap').filter(([, fn, kind]) => fn === 'instantiate' && kind === 'deadline').length).toBeGreaterThanOrEqual(3);
    const closing = performance.now();
    await pool.close();
    expect(performance.now() - closing).toBeLessThan(1000);
  });

  it('a replacement inside a batch whose _initialize hangs: the trap and the failed start are counted, and the call behind, which never ran, is not answered as timed out', async () => {
    const observer = recordingObserver();
    const cutoff = Date.now() + 1500;
    const guard = await compileWat(cache, initFailsAfterGuard(cutoff, { hang: true }), 'hang-inline');
    const pool = await start(guard, { size: 1, observer, timeoutMs: 150, backoff: { baseMs: 20, maxMs: 100 }, spare: false });
    expect(Date.now()).toBeLessThan(cutoff);
    await sleep(cutoff - Date.now() + 20);
    // One turn of the event loop: one batch. The first call traps (one-byte input); the worker starts a fresh
    // instance inside the batch for the second, and that start never ends.
    const trapped = settle(pool.call({ fn: 'label_resource', input: 'x' }));
    const behind = settle(pool.call({ fn: 'label_resource', input: '{"a":1}' }));
    const first = await trapped;
    expect(first.ok || (first.error as Error).constructor).toBe(GuardTrapError);
    expect(observer.of('batch')).toEqual([['hang-inline', 2]]);
    // Every later start hangs too: the second call waits for an instance until the guard is unavailable.
    const second = await behind;
    expect(second.ok || (second.error as Error).constructor).toBe(GuardUnavailableError);
    const traps = observer.of('trap').map(([, fn, kind]) => `${fn as string}:${kind as string}`);
    expect(traps.slice(0, 2)).toEqual(['label_resource:unreachable', 'instantiate:deadline']);
    expect(traps.filter((t) => t.startsWith('label_resource'))).toEqual(['label_resource:unreachable']);
    expect(observer.of('eviction').map(([, reason]) => reason).slice(0, 2)).toEqual(['trap', 'start_failed']);
    expect(observer.of('callDuration').map(([, fn, , outcome]) => `${fn as string}:${outcome as string}`)).toEqual(['label_resource:error']);
    await pool.close();
  });
});
