import { describe, expect, it } from 'vitest';
import {
  GuardPolicyRejectedError,
  parseAgentOutput,
  parseResourceOutput,
} from '../../src/guard/index.js';
import { AGENT_JSON, guardModule, RESOURCE_JSON } from '../support/guards.js';
import {
  backendInAgentGuard,
  compileWat,
  description,
  fullyIdle,
  loadRustGuard,
  rustInput,
  spinGuard,
  stamps,
  waitForState,
  poolHarness,
} from '../support/pool-guards.js';

const { cache, start: startPool } = poolHarness();

const start = startPool;

/** Normalized allow-only objects as the Rust guard prints them in its descriptions. */
const POLICIES = [
  { key: 'p-public', json: '{"allow-only":{"repos":"public"}}', expect: '{"min-integrity":"none","repos":"public"}' },
  {
    key: 'p-acme',
    json: '{"allow-only":{"repos":["acme/x","acme/y"],"min-integrity":"approved"},"difc_mode":"propagate"}',
    expect: '{"min-integrity":"approved","repos":["acme/x","acme/y"]}',
  },
  { key: 'p-all', json: '{"allow-only":{"repos":"all","org":"zed"}}', expect: '{"min-integrity":"none","org":"zed","repos":"all"}' },
] as const;

describe('basic calls through worker threads', () => {
  it('runs the three label functions in a worker and returns their raw output', async () => {
    const pool = await start(await compileWat(cache, guardModule({}), 'basic'), { size: 2 });
    const input = JSON.stringify({ tool_name: 'x', tool_args: {} });
    const plain = await pool.call({ fn: 'label_resource', input });
    expect(plain).toEqual({ output: RESOURCE_JSON });
    expect(parseResourceOutput(plain.output, 'basic').operation).toBe('read');

    // A policy on an instance that never saw it: label_agent runs first and its output comes back too.
    const withPolicy = await pool.call({ fn: 'label_resource', input, policy: { key: 'a', json: '{}' } });
    expect(withPolicy.output).toBe(RESOURCE_JSON);
    expect(withPolicy.agentOutput).toBe(AGENT_JSON);

    const agent = await pool.call({ fn: 'label_agent', policy: { key: 'b', json: '{}' } });
    expect(parseAgentOutput(agent.output, 'basic').mode).toBe('filter');
    expect(agent.agentOutput).toBeUndefined();

    const response = await pool.call({ fn: 'label_response', input: '{"tool_name":"x","tool_result":[],"tool_args":{}}' });
    expect(response.output).toBe('');

    for (let i = 0; i < 500; i++) expect((await pool.call({ fn: 'label_resource', input })).output).toBe(RESOURCE_JSON);
    expect(fullyIdle(pool.state())).toBe(true);
    expect(pool.state()).toMatchObject({ size: 2, healthy: true, queueLength: 0, consecutiveFailures: 0, evictions: {}, traps: {} });
  });

  it('carries non-ASCII input and output intact through the shared buffer', async () => {
    const pool = await start(await loadRustGuard(cache), { size: 1 });
    const repo = 'ørg/répo-日本語-🦀';
    const out = await pool.call({ fn: 'label_resource', input: rustInput('get_file', { repo }) });
    expect(description(out.output)).toBe(`get_file repo ${repo} under policy none`);
  });
});

describe('parallelism', () => {
  // ~45 ms of spinning per call on this machine; each call reports when it ran, by the worker's clock.
  const ITERATIONS = 10_000_000;

  it('two calls on a pool of two run at the same time', async () => {
    const pool = await start(await compileWat(cache, spinGuard(ITERATIONS, { stamps: true }), 'spin'), { size: 2 });
    const [a, b] = (await Promise.all([1, 2].map(() => pool.call({ fn: 'label_resource', input: '{}' })))).map((r) => stamps(r.output));
    // The two intervals overlap: each started before the other ended.
    expect(a!.start).toBeLessThan(b!.end);
    expect(b!.start).toBeLessThan(a!.end);
  });

  it('on a pool of one the same two calls run one after the other', async () => {
    const pool = await start(await compileWat(cache, spinGuard(ITERATIONS, { stamps: true }), 'spin'), { size: 1 });
    const [a, b] = (await Promise.all([1, 2].map(() => pool.call({ fn: 'label_resource', input: '{}' })))).map((r) => stamps(r.output));
    const [first, second] = a!.start < b!.start ? [a!, b!] : [b!, a!];
    expect(second.start).toBeGreaterThanOrEqual(first.end);
  });

  it('a Rust guard blocked in WASI sleep does not hold up a call on the other instance', async () => {
    const pool = await start(await loadRustGuard(cache), { size: 2 });
    const order: string[] = [];
    const slow = pool.call({ fn: 'label_resource', input: rustInput('sleep', { ms: 300 }) }).then((r) => (order.push('slow'), r));
    const fast = pool.call({ fn: 'label_resource', input: rustInput('get_x') }).then((r) => (order.push('fast'), r));
    expect(description((await slow).output)).toBe('slept 300 ms');
    await fast;
    expect(order).toEqual(['fast', 'slow']);
  });
});

describe('the event loop', () => {
  it('stays free while a guard call runs: timers fire during a long call', async () => {
    const pool = await start(await compileWat(cache, spinGuard(60_000_000), 'spin'), { size: 1 });
    const ticks: number[] = [];
    const timer = setInterval(() => ticks.push(performance.now()), 5);
    const t0 = performance.now();
    await pool.call({ fn: 'label_resource', input: '{}' });
    const t1 = performance.now();
    clearInterval(timer);
    expect(t1 - t0).toBeGreaterThan(40);
    // The interval kept running during the call: at least one tick in each half of it.
    const mid = (t0 + t1) / 2;
    expect(ticks.some((t) => t > t0 && t < mid)).toBe(true);
    expect(ticks.some((t) => t >= mid && t < t1)).toBe(true);
  });
});

describe('policy affinity', () => {
  it('never labels a call under another call\'s policy: 200 interleaved concurrent calls, 3 policies and none, 2 instances', async () => {
    const pool = await start(await loadRustGuard(cache), { size: 2, maxQueue: 1000, queueTimeoutMs: 30_000 });
    const calls = Array.from({ length: 200 }, (_, i) => {
      const policy = i % 4 === 3 ? undefined : POLICIES[i % 4]!;
      const input = rustInput(`get_item_${i}`, { repo: `o/r${i}` });
      return pool
        .call({ fn: 'label_resource', input, ...(policy && { policy: { key: policy.key, json: policy.json } }) })
        .then((r) => ({ i, policy, r }));
    });
    const results = await Promise.all(calls);
    let agentRuns = 0;
    for (const { i, policy, r } of results) {
      expect(description(r.output)).toBe(`get_item_${i} repo o/r${i} under policy ${policy?.expect ?? 'none'}`);
      if (r.agentOutput) {
        agentRuns++;
        expect(policy).toBeDefined();
        expect(JSON.parse(r.agentOutput).normalized_policy['allow-only']).toEqual(JSON.parse(policy!.expect));
      }
    }
    // Policies changed hands on the instances (otherwise the test proves nothing).
    expect(agentRuns).toBeGreaterThan(2);
    expect(fullyIdle(pool.state())).toBe(true);
  });

  it('the same under random mixing of policies, functions and sequential bursts', async () => {
    const pool = await start(await loadRustGuard(cache), { size: 3, maxQueue: 1000, queueTimeoutMs: 30_000 });
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    for (let round = 0; round < 5; round++) {
      const calls = Array.from({ length: 60 }, (_, i) => {
        const pick = Math.floor(random() * 4);
        const policy = pick === 3 ? undefined : POLICIES[pick]!;
        const tool = `list_${round}_${i}`;
        return pool
          .call({ fn: 'label_resource', input: rustInput(tool), ...(policy && { policy: { key: policy.key, json: policy.json } }) })
          .then((r) => expect(description(r.output)).toBe(`${tool} under policy ${policy?.expect ?? 'none'}`));
      });
      await Promise.all(calls);
    }
  });

  it('prefers an idle instance already initialised with the policy: label_agent runs once per instance', async () => {
    const pool = await start(await loadRustGuard(cache), { size: 2 });
    const [a, b] = POLICIES;
    const runs: string[] = [];
    for (let i = 0; i < 20; i++) {
      const policy = i % 2 === 0 ? a : b;
      const r = await pool.call({ fn: 'label_resource', input: rustInput('get_x'), policy: { key: policy.key, json: policy.json } });
      expect(description(r.output)).toBe(`get_x under policy ${policy.expect}`);
      if (r.agentOutput) runs.push(policy.key);
    }
    expect(runs).toEqual([a.key, b.key]);
  });

  it('knows the policy an instance holds from its worker, also after a call that failed under it', async () => {
    const pool = await start(await loadRustGuard(cache), { size: 2 });
    const [a, b, c] = POLICIES.map((p) => ({ key: p.key, json: p.json }));
    await pool.call({ fn: 'label_resource', input: rustInput('get_x'), policy: b }); // instance 0 holds b
    await pool.call({ fn: 'label_resource', input: rustInput('get_x'), policy: a }); // instance 1 holds a
    // A guard error is no trap: the instance lives on, and its worker says it still holds a.
    await expect(pool.call({ fn: 'label_resource', input: rustInput('guard_error'), policy: a })).rejects.toThrow();
    // Both instances hold a policy: c takes the first, and a's instance stays warm for a.
    expect((await pool.call({ fn: 'label_resource', input: rustInput('get_x'), policy: c })).agentOutput).toBeDefined();
    const again = await pool.call({ fn: 'label_resource', input: rustInput('get_x'), policy: a });
    expect(again.agentOutput).toBeUndefined();
    expect(description(again.output)).toBe(`get_x under policy ${POLICIES[0].expect}`);
    expect(pool.state()).toMatchObject({ evictions: {}, traps: {} });
  });

  it('a call without a policy gets an instance that never ran label_agent, even after policies were applied', async () => {
    const pool = await start(await loadRustGuard(cache), { size: 1 });
    const p = POLICIES[1];
    await pool.call({ fn: 'label_agent', policy: { key: p.key, json: p.json } });
    const under = await pool.call({ fn: 'label_resource', input: rustInput('get_x'), policy: { key: p.key, json: p.json } });
    expect(under.agentOutput).toBeUndefined(); // label_agent itself initialised the instance
    expect(description(under.output)).toBe(`get_x under policy ${p.expect}`);
    const none = await pool.call({ fn: 'label_resource', input: rustInput('get_x') });
    expect(description(none.output)).toBe('get_x under policy none');
    const again = await pool.call({ fn: 'label_resource', input: rustInput('get_x'), policy: { key: p.key, json: p.json } });
    expect(again.agentOutput).toBeDefined();
    expect(description(again.output)).toBe(`get_x under policy ${p.expect}`);
  });

  it('a rejected policy fails that call only; the instance is re-initialised before it labels again', async () => {
    const pool = await start(await loadRustGuard(cache), { size: 1 });
    const good = POLICIES[0];
    await pool.call({ fn: 'label_resource', input: rustInput('get_x'), policy: { key: good.key, json: good.json } });
    await expect(
      pool.call({ fn: 'label_resource', input: rustInput('get_x'), policy: { key: 'bad', json: '{"allow-only":{"repos":5}}' } }),
    ).rejects.toBeInstanceOf(GuardPolicyRejectedError);
    await expect(pool.call({ fn: 'label_agent', policy: { key: 'bad2', json: '{"nope":1}' } })).rejects.toBeInstanceOf(
      GuardPolicyRejectedError,
    );
    // The Rust guard keeps its old policy after a rejection; the pool must not trust that and re-applies.
    const again = await pool.call({ fn: 'label_resource', input: rustInput('get_x'), policy: { key: good.key, json: good.json } });
    expect(again.agentOutput).toBeDefined();
    expect(description(again.output)).toBe(`get_x under policy ${good.expect}`);
    expect(pool.state()).toMatchObject({ evictions: {}, traps: {} });
    expect(fullyIdle(pool.state())).toBe(true);
  });

  it('label_agent calling the backend does not corrupt the label_resource input of the same dispatch', async () => {
    let backendCalls = 0;
    const pool = await start(await compileWat(cache, backendInAgentGuard(), 'agent-backend'), {
      size: 1,
      backend: async () => {
        backendCalls++;
        return JSON.stringify({ filler: 'y'.repeat(8000) });
      },
    });
    const input = rustInput('get_issue', { repo: 'o/r', pad: 'z'.repeat(300) });
    const r = await pool.call({ fn: 'label_resource', input, policy: { key: 'k', json: '{"allow-only":{}}' } });
    expect(backendCalls).toBe(1);
    expect(r.agentOutput).toBe(AGENT_JSON);
    expect(r.output).toBe(input); // the guard echoes what it was given
  });

  it('after a trap, the replacement instance is re-initialised with the policy before it labels', async () => {
    const pool = await start(await loadRustGuard(cache), { size: 1 });
    const p = POLICIES[2];
    const policy = { key: p.key, json: p.json };
    await pool.call({ fn: 'label_resource', input: rustInput('get_x'), policy });
    await expect(pool.call({ fn: 'label_resource', input: rustInput('trap_unreachable'), policy })).rejects.toThrow();
    await waitForState(pool, fullyIdle);
    const r = await pool.call({ fn: 'label_resource', input: rustInput('get_x'), policy });
    expect(r.agentOutput).toBeDefined();
    expect(description(r.output)).toBe(`get_x under policy ${p.expect}`);
  });
});
