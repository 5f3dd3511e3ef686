import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { GuardTimeoutError, type CompiledGuard, type GuardLimits } from '../../src/guard/index.js';
import { GuardPool, type BackendHandler, type PoolOptions } from '../../src/pool/index.js';
import { description, fullyIdle, loadRustGuard, rustInput, waitForState, poolHarness } from '../support/pool-guards.js';

const { cache, start: startPool } = poolHarness();

let rust: CompiledGuard;
async function start(options: Partial<PoolOptions> = {}, limits?: Partial<GuardLimits>): Promise<GuardPool> {
  rust = await loadRustGuard(cache, { limits });
  return startPool(rust, { size: 1, ...options });
}

interface BackendHook {
  hinted: number | null;
  rc: number;
  rcs: number[];
  result: unknown;
}

async function backendHook(pool: GuardPool, args: { tool: string; args?: unknown; times?: number }): Promise<BackendHook> {
  const r = await pool.call({ fn: 'label_resource', input: rustInput('backend', args) });
  return JSON.parse(description(r.output)) as BackendHook;
}

describe('call_backend from a worker', () => {
  it('reaches the asynchronous backend on the main thread and returns its result to the blocked guard', async () => {
    const seen: Array<{ tool: string; args: string; signal: AbortSignal }> = [];
    const backend: BackendHandler = async (tool, args, signal) => {
      seen.push({ tool, args, signal });
      await sleep(30); // really asynchronous: the worker stays blocked meanwhile
      return JSON.stringify({ echo: JSON.parse(args), tool, n: seen.length });
    };
    const pool = await start({ backend });
    const out = await backendHook(pool, { tool: 'get_collaborator_permission', args: { user: 'ü', n: 1 }, times: 3 });
    expect(seen.map((s) => [s.tool, s.args])).toEqual(Array(3).fill(['get_collaborator_permission', '{"n":1,"user":"ü"}']));
    expect(seen.every((s) => s.signal instanceof AbortSignal && !s.signal.aborted)).toBe(true);
    expect(out.rcs).toHaveLength(3);
    expect(out.rcs.every((rc) => rc > 0)).toBe(true);
    expect(out.result).toEqual({ echo: { n: 1, user: 'ü' }, tool: 'get_collaborator_permission', n: 3 });
  });

  it('accepts a Uint8Array reply, and maps undefined, a throw and a rejection to -1', async () => {
    const replies: Array<() => Promise<string | Uint8Array | undefined>> = [
      async () => new TextEncoder().encode('{"bytes":true}'),
      async () => undefined,
      async () => {
        throw new Error('backend down');
      },
      () => Promise.reject(new Error('refused')),
    ];
    let n = 0;
    const pool = await start({ backend: () => replies[n++]!() });
    expect(await backendHook(pool, { tool: 'a' })).toMatchObject({ rc: 14, result: { bytes: true } });
    expect(await backendHook(pool, { tool: 'b' })).toMatchObject({ rc: -1, result: null });
    expect(await backendHook(pool, { tool: 'c' })).toMatchObject({ rc: -1, result: null });
    expect(await backendHook(pool, { tool: 'd' })).toMatchObject({ rc: -1, result: null });
    expect(fullyIdle(pool.state())).toBe(true);
  });

  it('a pool without a backend gives -1 to every call_backend', async () => {
    const pool = await start();
    expect(await backendHook(pool, { tool: 'x' })).toMatchObject({ rc: -1, rcs: [-1] });
  });

  it('a result bigger than the guard buffer follows the -2 protocol without calling the backend twice', async () => {
    let calls = 0;
    const big = JSON.stringify({ data: 'x'.repeat(100_000) }); // the hook's buffer is 64 KiB
    const pool = await start({
      backend: async () => {
        calls++;
        return big;
      },
    });
    const out = await backendHook(pool, { tool: 'big' });
    expect(out.rcs).toEqual([-2, big.length]);
    expect(out.hinted).toBe(big.length);
    expect(out.result).toEqual(JSON.parse(big));
    expect(calls).toBe(1);
  });

  it('a result bigger than the shared channel is an error (-1), not a crash', async () => {
    // Small limits make a small channel: 2 x 64 KiB + 1 MiB.
    const pool = await start(
      { backend: async () => JSON.stringify({ data: 'x'.repeat(2 * 1024 * 1024) }) },
      { maxInputBytes: 64 * 1024, initialOutputBytes: 16 * 1024, maxOutputBytes: 64 * 1024 },
    );
    expect(await backendHook(pool, { tool: 'huge' })).toMatchObject({ rc: -1, result: null });
    expect(fullyIdle(pool.state())).toBe(true);
  });

  it('the 51st call_backend of one invocation gets -1 without reaching the backend', async () => {
    let calls = 0;
    const pool = await start({
      backend: async () => {
        calls++;
        return '{}';
      },
    });
    const out = await backendHook(pool, { tool: 't', times: 51 });
    expect(calls).toBe(50);
    expect(out.rcs.slice(0, 50).every((rc) => rc === 2)).toBe(true);
    expect(out.rcs[50]).toBe(-1);
    // The count is per invocation: the next call has its 50 again.
    expect((await backendHook(pool, { tool: 't', times: 2 })).rcs).toEqual([2, 2]);
  });

  it('calls on two instances reach the backend concurrently', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const pool = await start({
      size: 2,
      backend: async () => {
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        await sleep(100);
        inFlight--;
        return '{"ok":1}';
      },
    });
    const both = await Promise.all([backendHook(pool, { tool: 'a' }), backendHook(pool, { tool: 'b' })]);
    expect(both.map((b) => b.result)).toEqual([{ ok: 1 }, { ok: 1 }]);
    expect(maxInFlight).toBe(2);
  });

  it('a backend that never answers (and ignores its signal) is cut by the guard deadline; the worker is replaced', async () => {
    let signal: AbortSignal | undefined;
    const pool = await start({ timeoutMs: 300, backend: (_t, _a, s) => ((signal = s), new Promise(() => {})) });
    const started = performance.now();
    await expect(backendHook(pool, { tool: 'hang' })).rejects.toBeInstanceOf(GuardTimeoutError);
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    expect(signal?.aborted).toBe(true);
    const state = await waitForState(pool, fullyIdle);
    expect(state.evictions).toEqual({ deadline: 1 });
    expect(state.replacements).toEqual({ deadline: 1 });
    expect(state.traps).toEqual({ deadline: 1 });
    expect(description((await pool.call({ fn: 'label_resource', input: rustInput('get_x') })).output)).toBe('get_x under policy none');
  });

  it('a backend that honours its signal is aborted at the deadline, and the call still fails with a timeout', async () => {
    const pool = await start({
      timeoutMs: 300,
      backend: (_t, _a, signal) =>
        new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true })),
    });
    await expect(backendHook(pool, { tool: 'slow' })).rejects.toBeInstanceOf(GuardTimeoutError);
    await waitForState(pool, fullyIdle);
  });

  it('a slow backend answering within the deadline is fine', async () => {
    const pool = await start({
      timeoutMs: 1000,
      backend: async () => {
        await sleep(200);
        return '"late but in time"';
      },
    });
    expect(await backendHook(pool, { tool: 'slow' })).toMatchObject({ result: 'late but in time' });
  });
});
