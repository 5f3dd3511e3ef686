import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { recordingLogger } from '../support/instance.js';
import {
  compileWat,
  description,
  fullyIdle,
  loadRustGuard,
  noHintGuard,
  recordingObserver,
  rustInput,
  settle,
  waitForState,
  poolHarness,
} from '../support/pool-guards.js';

const { cache, start: startPool } = poolHarness();

const start = startPool;

describe('state()', () => {
  it('reports instances by state and the queue length as calls come and go', async () => {
    const pool = await start(await loadRustGuard(cache), { size: 2 });
    expect(pool.state()).toEqual({
      size: 2,
      healthy: true,
      instances: { starting: 0, idle: 2, busy: 0, poisoned: 0 },
      queueLength: 0,
      consecutiveFailures: 0,
      evictions: {},
      replacements: {},
      traps: {},
      regrowths: {},
    });
    const calls = [1, 2, 3].map(() => pool.call({ fn: 'label_resource', input: rustInput('sleep', { ms: 100 }) }));
    expect(pool.state()).toMatchObject({ instances: { idle: 0, busy: 2 }, queueLength: 1 });
    await Promise.all(calls);
    expect(pool.state()).toMatchObject({ instances: { idle: 2, busy: 0 }, queueLength: 0 });
    // A snapshot: mutating it does not touch the pool.
    const snapshot = pool.state();
    snapshot.evictions.trap = 99;
    expect(pool.state().evictions).toEqual({});
  });

  it('defaults to one instance per available core', async () => {
    const pool = await start(await loadRustGuard(cache));
    expect(pool.state().size).toBe(availableParallelism());
    expect(fullyIdle(pool.state())).toBe(true);
  });

  it('shows the poisoned instance until it is replaced', async () => {
    const pool = await start(await loadRustGuard(cache), { size: 1, backoff: { baseMs: 300, maxMs: 300 } });
    // Two failures in a row: the second replacement waits 300 ms.
    await settle(pool.call({ fn: 'label_resource', input: rustInput('trap_unreachable') }));
    await waitForState(pool, fullyIdle);
    await settle(pool.call({ fn: 'label_resource', input: rustInput('trap_unreachable') }));
    expect(pool.state().instances).toEqual({ starting: 0, idle: 0, busy: 0, poisoned: 1 });
    await waitForState(pool, fullyIdle);
  });
});

describe('regrowths', () => {
  it('a hinted regrowth is counted in state().regrowths and reported to the observer', async () => {
    const observer = recordingObserver();
    const guard = await loadRustGuard(cache, { limits: { initialOutputBytes: 256 } });
    const pool = await start(guard, { size: 1, observer });
    const out = await pool.call({ fn: 'label_resource', input: rustInput('big_output', { size: 1000 }) });
    expect(out.output.length).toBe(1000);
    await pool.call({ fn: 'label_resource', input: rustInput('big_output', { size: 2000 }) });
    await pool.call({ fn: 'label_resource', input: rustInput('get_x') }); // fits: no regrowth
    expect(pool.state().regrowths).toEqual({ label_resource: { hinted: 2, doubled: 0 } });
    expect(observer.of('regrowth')).toEqual([
      ['rust', 'label_resource', 'hinted', 1],
      ['rust', 'label_resource', 'hinted', 1],
    ]);
  });

  it('doubling without a hint is counted as doubled, per function', async () => {
    const observer = recordingObserver();
    const guard = await compileWat(cache, noHintGuard(300), 'nohint', { initialOutputBytes: 128 });
    const pool = await start(guard, { size: 1, observer });
    await pool.call({ fn: 'label_resource', input: '{}' }); // 128 -> 256 -> 512
    expect(pool.state().regrowths).toEqual({ label_resource: { hinted: 0, doubled: 2 } });
    expect(observer.of('regrowth')).toEqual([['nohint', 'label_resource', 'doubled', 2]]);
  });

  it('regrowths of a call that fails in the end are still counted', async () => {
    const guard = await compileWat(cache, noHintGuard(1000), 'nohint', { initialOutputBytes: 128, maxOutputAttempts: 2 });
    const pool = await start(guard, { size: 1 });
    // 128 -> 256 (doubled), then out of attempts.
    await expect(pool.call({ fn: 'label_resource', input: '{}' })).rejects.toMatchObject({ name: 'GuardBufferLimitError' });
    expect(pool.state().regrowths).toEqual({ label_resource: { hinted: 0, doubled: 1 } });
    expect(fullyIdle(pool.state())).toBe(true); // a buffer limit is not a trap
    expect(pool.state().evictions).toEqual({});
  });
});

describe('observer', () => {
  it('receives callDuration, queueWait, batch, trap, eviction, replacement, regrowth and rejected events', async () => {
    const observer = recordingObserver();
    const guard = await loadRustGuard(cache, { limits: { initialOutputBytes: 256 } });
    const pool = await start(guard, { size: 1, observer, maxQueue: 1 });
    const call = (tool: string, args: Record<string, unknown> = {}) => settle(pool.call({ fn: 'label_resource', input: rustInput(tool, args) }));
    const first = call('sleep', { ms: 100 });
    const second = call('big_output', { size: 500 }); // queued
    const third = call('get_x'); // queue full
    await Promise.all([first, second, third]);
    await call('trap_oob');
    await waitForState(pool, fullyIdle);
    const types = new Set(observer.events.map((e) => e.type));
    expect([...types].sort()).toEqual(['batch', 'callDuration', 'eviction', 'queueWait', 'regrowth', 'rejected', 'replacement', 'trap']);
    // The first two calls were made in one turn: they went over together.
    expect(observer.of('batch')).toEqual([
      ['rust', 2],
      ['rust', 1],
    ]);
    const durations = observer.of('callDuration');
    expect(durations.map(([, fn, , outcome]) => [fn, outcome])).toEqual([
      ['label_resource', 'ok'],
      ['label_resource', 'ok'],
      ['label_resource', 'error'],
    ]);
    expect(durations[0]![2] as number).toBeGreaterThanOrEqual(0.09);
    expect(observer.of('trap')).toEqual([['rust', 'label_resource', 'out_of_bounds']]);
    expect(observer.of('rejected')).toEqual([['rust', 'queue_full']]);
    expect(observer.of('regrowth')).toEqual([['rust', 'label_resource', 'hinted', 1]]);
  });

  it('an observer that throws is logged and changes nothing for calls or instances', async () => {
    const logger = recordingLogger();
    const boom = () => {
      throw new Error('metrics bug');
    };
    const pool = await start(await loadRustGuard(cache), {
      size: 1,
      logger,
      observer: { callDuration: boom, trap: boom, eviction: boom, replacement: boom, queueWait: boom },
    });
    const both = await Promise.all([
      pool.call({ fn: 'label_resource', input: rustInput('sleep', { ms: 20 }) }),
      pool.call({ fn: 'label_resource', input: rustInput('get_x') }), // queued: queueWait
    ]);
    expect(description(both[1].output)).toBe('get_x under policy none');
    await expect(pool.call({ fn: 'label_resource', input: rustInput('trap_unreachable') })).rejects.toMatchObject({ kind: 'unreachable' });
    await waitForState(pool, fullyIdle);
    expect(description((await pool.call({ fn: 'label_resource', input: rustInput('get_y') })).output)).toBe('get_y under policy none');
    const failures = logger.at('error').filter((r) => r.msg === 'pool observer failed');
    expect(failures.map((r) => r.obj.callback).sort()).toEqual(
      ['callDuration', 'callDuration', 'callDuration', 'callDuration', 'eviction', 'queueWait', 'replacement', 'trap'].sort(),
    );
  });
});

describe('guard logs', () => {
  it('host_log and WASI stderr from a worker reach the main logger, with the guard name', async () => {
    const logger = recordingLogger();
    const pool = await start(await loadRustGuard(cache), { size: 1, logger, logLevel: 'debug' });
    await pool.call({ fn: 'label_resource', input: rustInput('log_flood', { count: 3, level: 2 }) });
    await pool.call({ fn: 'label_resource', input: rustInput('print', { text: 'hi' }) });
    await new Promise((r) => setTimeout(r, 50)); // log messages travel by postMessage
    const warns = logger.at('warn').map((r) => [r.obj.guard, r.msg]);
    expect(warns).toEqual(
      expect.arrayContaining([
        ['rust', expect.stringContaining('rust_guard log_flood 0')],
        ['rust', expect.stringContaining('rust_guard log_flood 2')],
        ['rust', expect.stringContaining('rust_guard stderr: hi')],
      ]),
    );
    expect(logger.at('debug').some((r) => String(r.msg).includes('rust_guard: label_resource tool=log_flood'))).toBe(true);
  });

  it('disabled levels never cross the thread', async () => {
    const logger = recordingLogger();
    const pool = await start(await loadRustGuard(cache), { size: 1, logger, logLevel: 'error' });
    await pool.call({ fn: 'label_resource', input: rustInput('log_flood', { count: 3, level: 2 }) });
    await new Promise((r) => setTimeout(r, 50));
    expect(logger.records.filter((r) => r.obj.guard === 'rust' && r.level !== 'error')).toEqual([]);
  });
});
