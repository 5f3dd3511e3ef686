/**
 * The decision pipeline without HTTP, on the Rust guard in a real pool: which
 * guard calls each decision makes (counted on the pool), and what it answers
 * when it makes none.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { DecisionService } from '../../src/decision/decision-service.js';
import { UnknownGuardError } from '../../src/decision/errors.js';
import { CompilationCache, GuardPolicyRejectedError } from '../../src/guard/index.js';
import type { PoolCall } from '../../src/pool/index.js';
import { GuardRegistry } from '../../src/runtime/guard-registry.js';
import { RUST_GUARD } from '../support/fixtures.js';

const POLICY = { 'allow-only': { repos: ['acme/x'], 'min-integrity': 'approved' } };
const AGENT = { secrecy: ['private:acme/x'], integrity: ['approved:acme'] };

let cache: CompilationCache;
let registry: GuardRegistry;
let decisions: DecisionService;
let calls: MockInstance;

beforeAll(async () => {
  cache = new CompilationCache();
  registry = await GuardRegistry.load(
    [
      { name: 'rust', path: RUST_GUARD, poolSize: 1, timeoutMs: 5000, memoryLimitMb: 32 },
      { name: 'other', path: RUST_GUARD, poolSize: 1, timeoutMs: 5000, memoryLimitMb: 32, mode: 'propagate' },
    ],
    cache,
    { logger: pino({ level: 'silent' }), logLevel: 'silent' },
  );
  decisions = new DecisionService(registry, 'strict');
});
afterAll(async () => {
  await registry?.close(0);
  await cache?.close();
});

beforeEach(() => {
  calls?.mockRestore();
  const pool = registry.get('rust')!.pool;
  calls = vi.spyOn(pool, 'call');
});

/** The guard functions called through the pool since the test began. */
const called = () => calls.mock.calls.map(([call]) => (call as PoolCall).fn);

describe('unknown guard', () => {
  it('is an UnknownGuardError naming it and the loaded guards', async () => {
    const error = await decisions.evaluate({ guard: 'gitlab', tool: 'get_issue' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnknownGuardError);
    expect((error as Error).message).toBe('unknown guard "gitlab"; loaded guards: rust, other');
  });
});

describe('label_agent', () => {
  it('runs once per policy: repeated and concurrent requests share the answer', async () => {
    const policy = { 'allow-only': { repos: ['acme/once'] } };
    const answers = await Promise.all(Array.from({ length: 5 }, () => decisions.labelAgent({ guard: 'rust', policy })));
    await decisions.labelAgent({ guard: 'rust', policy });
    await decisions.evaluate({ guard: 'rust', tool: 'get_issue', policy });
    expect(called()).toEqual(['label_agent', 'label_resource']);
    for (const answer of answers) expect(answer).toEqual({ agent: { secrecy: ['private:acme/once'], integrity: [] }, mode: 'filter', normalized_policy: expect.any(Object), guard_digest: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  it('is run again after the guard refused a policy: refusals are not cached', async () => {
    const policy = { 'allow-only': { repos: 12 } };
    for (let i = 0; i < 2; i++) {
      await expect(decisions.labelAgent({ guard: 'rust', policy })).rejects.toBeInstanceOf(GuardPolicyRejectedError);
    }
    expect(called()).toEqual(['label_agent', 'label_agent']);
  });

  it("reports the guard's configured mode over label_agent's difc_mode", async () => {
    expect((await decisions.labelAgent({ guard: 'other', policy: POLICY })).mode).toBe('propagate');
    expect((await decisions.labelAgent({ guard: 'rust', policy: POLICY })).mode).toBe('filter');
  });
});

describe('evaluate', () => {
  it('with no policy calls only label_resource', async () => {
    const evaluated = await decisions.evaluate({ guard: 'rust', tool: 'get_issue', args: { owner: 'acme', repo: 'x' } });
    expect(called()).toEqual(['label_resource']);
    expect((calls.mock.calls[0]![0] as PoolCall).policy).toBeUndefined();
    expect(evaluated).toMatchObject({ mode: 'strict', agent: { secrecy: [], integrity: [] } });
  });

  it('sends the policy with every label call, so the instance labels under it', async () => {
    await decisions.evaluate({ guard: 'rust', tool: 'get_issue', policy: POLICY, agent: AGENT });
    const policies = calls.mock.calls.map(([call]) => (call as PoolCall).policy?.json);
    expect(policies.every((json) => json === JSON.stringify(POLICY))).toBe(true);
  });
});

describe('evaluateResponse', () => {
  const base = { guard: 'rust', tool: 'list_issues', args: { owner: 'acme', repo: 'x' }, result: { items: [{ author_association: 'MEMBER' }] }, agent: AGENT };

  it('labels the call again when operation or resource is missing', async () => {
    await decisions.evaluateResponse({ ...base, mode: 'filter' });
    expect(called()).toEqual(['label_resource', 'label_response']);
    calls.mockClear();
    await decisions.evaluateResponse({ ...base, mode: 'filter', operation: 'read' });
    expect(called()).toEqual(['label_resource', 'label_response']);
  });

  it('uses operation and resource as given, without label_resource', async () => {
    await decisions.evaluateResponse({ ...base, mode: 'filter', operation: 'read', resource: { secrecy: [], integrity: ['approved:acme'] } });
    expect(called()).toEqual(['label_response']);
  });

  it('does not label a write result whose resource labels pass a read, and returns it whole', async () => {
    const result = { created: 42 };
    // A public agent may write to the public repository, and read what it wrote.
    const evaluated = await decisions.evaluateResponse({ ...base, tool: 'create_issue', result, mode: 'filter', agent: { secrecy: [], integrity: [] } });
    expect(called()).toEqual(['label_resource']);
    expect(evaluated).toMatchObject({ decision: 'allow', result, operation: 'write', filtered: [], labels: [{ path: '', source: 'resource', allowed: true }] });
  });

  it('labels and checks a write result whose resource labels would not pass a read', async () => {
    const result = { number: 7, title: 'private issue' };
    // Writing into a private repository is allowed; reading its reply back is not.
    const resource = { description: 'repo acme/secret', secrecy: ['private:acme/secret'], integrity: [] };
    const agent = { secrecy: [], integrity: [] };
    const evaluate = await decisions.evaluate({ ...base, tool: 'update_issue', agent, mode: 'filter' });
    expect(evaluate.operation).toBe('write');
    calls.mockClear();
    const evaluated = await decisions.evaluateResponse({ ...base, tool: 'update_issue', result, agent, mode: 'filter', operation: 'write', resource });
    expect(called()).toEqual(['label_response']);
    expect(evaluated).toMatchObject({ decision: 'deny', result: null, operation: 'write' });
    expect(evaluated.reason).toContain('private:acme/secret');
  });

  it('denies without labelling the result when the call itself was not allowed, and shows nothing', async () => {
    const evaluated = await decisions.evaluateResponse({
      ...base,
      tool: 'create_issue',
      result: { created: 42 },
      mode: 'strict',
      operation: 'write',
      resource: { secrecy: [], integrity: ['approved:other'] },
    });
    expect(called()).toEqual([]);
    expect(evaluated).toMatchObject({ decision: 'deny', result: null, filtered: [], labels: [], agent: AGENT });
    expect(evaluated.reason).toContain('approved:other');
  });

  it('gives each decision its own id', async () => {
    const a = await decisions.evaluateResponse({ ...base, mode: 'propagate' });
    const b = await decisions.evaluateResponse({ ...base, mode: 'propagate' });
    expect(a.decision_id).not.toBe(b.decision_id);
  });
});
