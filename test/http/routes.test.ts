/**
 * Every route of docs/contract.md §4 answering a good request over real HTTP,
 * with every response field.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUST_GUARD, STATIC_GUARD, startService, type TestService } from '../support/server.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const POLICY = { 'allow-only': { repos: ['acme/x', 'acme/y'], 'min-integrity': 'approved' }, difc_mode: 'propagate' };

const RUST_DIGEST = createHash('sha256').update(readFileSync(RUST_GUARD)).digest('hex');

let s: TestService;

beforeAll(async () => {
  s = await startService({
    guards: [
      { name: 'rust', path: RUST_GUARD, poolSize: 2 },
      {
        name: 'static',
        path: STATIC_GUARD,
        policy: { mode: 'filter' },
        mode: 'strict',
        timeoutMs: 750,
        memoryLimitMb: 16,
        limits: { maxInputBytes: 4096, initialOutputBytes: 1024, maxBackendCalls: 0 },
      },
    ],
  });
});
afterAll(() => s?.close());

describe('POST /v1/agents/label', () => {
  it("returns the agent's labels, the mode and the normalized policy from label_agent", async () => {
    const reply = await s.post('/v1/agents/label', { guard: 'rust', policy: POLICY });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.body).toEqual({
      agent: { secrecy: ['private:acme/x', 'private:acme/y'], integrity: ['approved:acme'] },
      mode: 'propagate',
      normalized_policy: { 'allow-only': { 'min-integrity': 'approved', repos: ['acme/x', 'acme/y'] }, difc_mode: 'propagate' },
      // The digest of the module that decided: here the one file loaded.
      guard_digest: RUST_DIGEST,
    });
  });

  it('gives the same answer from the cache on a second call', async () => {
    const first = await s.post('/v1/agents/label', { guard: 'rust', policy: { 'allow-only': { repos: 'all' } } });
    const second = await s.post('/v1/agents/label', { guard: 'rust', policy: { 'allow-only': { repos: 'all' } } });
    expect(first.status).toBe(200);
    expect(second.body).toEqual(first.body);
    expect(first.body.agent).toEqual({ secrecy: ['*'], integrity: [] });
  });
});

describe('POST /v1/evaluate', () => {
  it('returns decision_id, decision, operation, resource, check_response, mode and agent', async () => {
    const reply = await s.post('/v1/evaluate', {
      guard: 'rust',
      tool: 'get_issue',
      args: { owner: 'acme', repo: 'x', private: true },
      policy: POLICY,
    });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.headers.get('content-type')).toMatch(/^application\/json/);
    const { decision_id, ...rest } = reply.body;
    expect(decision_id).toMatch(UUID);
    expect(rest).toEqual({
      guard_digest: RUST_DIGEST,
      decision: 'allow',
      operation: 'read',
      resource: {
        description: 'get_issue repo acme/x under policy {"min-integrity":"approved","repos":["acme/x","acme/y"]}',
        secrecy: ['private:acme/x'],
        integrity: [],
      },
      // Reads of untrusted data in propagate mode are allowed but the result must still be labelled.
      check_response: true,
      reason: expect.stringContaining('needs a per-item response check: resource integrity lacks [approved:acme]'),
      mode: 'propagate',
      agent: { secrecy: ['private:acme/x', 'private:acme/y'], integrity: ['approved:acme'] },
    });
  });

  it('denies a write the agent may not make, with a reason naming the missing tags', async () => {
    const reply = await s.post('/v1/evaluate', {
      guard: 'rust',
      tool: 'create_issue',
      args: { owner: 'acme', repo: 'z' },
      agent: { secrecy: ['private:acme/x'], integrity: [] },
      mode: 'strict',
    });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.body).toMatchObject({ decision: 'deny', operation: 'write', check_response: false, mode: 'strict' });
    expect(reply.body.reason).toContain('private:acme/x');
  });

  it('treats a missing or unknown operation from the guard as a write', async () => {
    const unknown = await s.post('/v1/evaluate', { guard: 'rust', tool: 'get_x', args: { test_operation: 'bogus' }, mode: 'strict' });
    expect(unknown.body.operation).toBe('write');
    const missing = await s.post('/v1/evaluate', { guard: 'rust', tool: 'get_x', args: { test_operation: null }, mode: 'strict' });
    expect(missing.body.operation).toBe('write');
  });

  it('gives every decision its own decision_id', async () => {
    const replies = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        i % 2 === 0
          ? s.post('/v1/evaluate', { guard: 'rust', tool: 'get_issue' })
          : s.post('/v1/evaluate/response', { guard: 'rust', tool: 'list_issues', result: { items: [] }, mode: 'filter' }),
      ),
    );
    const ids = replies.map((r) => {
      expect(r.status, r.text).toBe(200);
      expect(r.body.decision_id).toMatch(UUID);
      return r.body.decision_id as string;
    });
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('POST /v1/evaluate/response', () => {
  it('returns decision_id, decision, result, filtered, agent, labels, operation and mode', async () => {
    const result = { items: [{ id: 1, author_association: 'MEMBER' }, { id: 2, author_association: 'NONE' }], total: 2 };
    const reply = await s.post('/v1/evaluate/response', {
      guard: 'rust',
      tool: 'list_issues',
      args: { owner: 'acme', repo: 'x' },
      result,
      agent: { secrecy: [], integrity: ['approved:acme'] },
      mode: 'filter',
      policy: { 'allow-only': { repos: 'public', org: 'acme' } },
    });
    expect(reply.status, reply.text).toBe(200);
    const { decision_id, ...rest } = reply.body;
    expect(decision_id).toMatch(UUID);
    expect(rest).toEqual({
      guard_digest: RUST_DIGEST,
      decision: 'allow',
      // "total" is outside the collection and unlabelled: it carries the resource labels, which the agent may not read.
      result: { items: [{ id: 1, author_association: 'MEMBER' }] },
      filtered: [
        {
          path: '/items/1',
          reason: expect.stringContaining('approved:acme'),
          secrecy_violation: false,
          integrity_violation: true,
          description: 'item 1',
        },
        {
          path: '/total',
          reason: expect.stringContaining('approved:acme'),
          secrecy_violation: expect.any(Boolean),
          integrity_violation: true,
          description: expect.any(String),
        },
      ],
      agent: { secrecy: [], integrity: ['approved:acme'] },
      labels: [
        { path: '/items/0', kind: 'item', source: 'labeled', allowed: true, description: 'item 0', secrecy: [], integrity: ['approved:acme'] },
        { path: '/items/1', kind: 'item', source: 'labeled', allowed: false, description: 'item 1', secrecy: [], integrity: [] },
        { path: '/total', kind: 'envelope', source: 'resource', allowed: false, description: expect.any(String), secrecy: expect.any(Array), integrity: [] },
      ],
      operation: 'read',
      mode: 'filter',
      reason: 'filtered 2 of 3 parts the agent may not read',
      notice: expect.stringMatching(/^\[Filtered\] 2 item\(s\) in this response were removed by integrity policy and are not shown: item 1 \(/),
    });
  });
});

describe('GET /v1/guards', () => {
  it('lists every loaded guard with digest, exports, defaults, limits and pool state', async () => {
    const reply = await s.get('/v1/guards');
    expect(reply.status).toBe(200);
    const guards = reply.body.guards as Array<Record<string, any>>;
    expect(guards.map((g) => g.name)).toEqual(['rust', 'static']);
    const [rust, stat] = guards as [Record<string, any>, Record<string, any>];
    expect(rust.digest).toBe(createHash('sha256').update(readFileSync(RUST_GUARD)).digest('hex'));
    expect(rust.size_bytes).toBe(readFileSync(RUST_GUARD).length);
    // Version 1 until a reload replaces it; loaded_at is when this version was loaded.
    expect(rust.version).toBe(1);
    expect(Date.parse(rust.loaded_at)).toBeLessThanOrEqual(Date.now());
    expect(rust.exports).toEqual(expect.arrayContaining(['memory', 'label_agent', 'label_resource', 'label_response', 'alloc', 'dealloc']));
    expect(rust.imports).toEqual({ wasi: true, call_backend: true, host_log: true });
    expect(rust.alloc_dealloc).toBe(true);
    expect(rust.default_policy).toBeNull();
    expect(rust.mode).toBeNull();
    expect(rust.backend).toBeNull();
    expect(rust.limits).toEqual({
      timeout_ms: 5000,
      memory_limit_bytes: 32 * 1024 * 1024,
      max_input_bytes: 8 * 1024 * 1024,
      initial_output_bytes: 4 * 1024 * 1024,
      max_output_bytes: 16 * 1024 * 1024,
      max_backend_calls: 50,
    });
    expect(rust.pool).toMatchObject({ size: 2, healthy: true, queueLength: 0 });
    expect(rust.pool.instances.idle + rust.pool.instances.busy).toBe(2);

    expect(stat.digest).toBe(createHash('sha256').update(readFileSync(STATIC_GUARD)).digest('hex'));
    expect(stat.imports.wasi).toBe(false);
    expect(stat.default_policy).toEqual({ mode: 'filter' });
    expect(stat.mode).toBe('strict');
    // Limits set in the guard's config; the others keep their defaults.
    expect(stat.limits).toEqual({
      timeout_ms: 750,
      memory_limit_bytes: 16 * 1024 * 1024,
      max_input_bytes: 4096,
      initial_output_bytes: 1024,
      max_output_bytes: 16 * 1024 * 1024,
      max_backend_calls: 0,
    });
    expect(stat.pool.size).toBe(1);
  });
});

describe('per-guard limits from the config', () => {
  it("a guard's own maxInputBytes refuses a larger call with 413, naming the limit; other guards keep the default", async () => {
    const args = { pad: 'x'.repeat(5000) };
    const reply = await s.post('/v1/evaluate', { guard: 'static', tool: 'anything', args });
    expect(reply.status).toBe(413);
    expect(reply.body).toMatchObject({ error: { code: 'WG_ERR_INPUT_TOO_LARGE' }, decision: 'deny' });
    expect((reply.body.error as { message: string }).message).toMatch(/4096/);
    expect((await s.post('/v1/evaluate', { guard: 'rust', tool: 'get_x', args })).status).toBe(200);
  });
});

describe('operations', () => {
  it('GET /healthz', async () => {
    const reply = await s.get('/healthz');
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ status: 'ok' });
  });

  it('GET /readyz', async () => {
    const reply = await s.get('/readyz');
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ status: 'ready', session_store: 'up' });
  });

  it('GET /metrics in the Prometheus text format, counting decisions by guard, operation, decision and mode', async () => {
    await s.post('/v1/evaluate', { guard: 'static', tool: 'anything' });
    const reply = await s.get('/metrics');
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(reply.text).toMatch(/^# HELP /m);
    expect(reply.text).toMatch(/^wasmguard_decisions_total\{guard="static",operation="read",decision="allow",mode="strict",stage="request"\} [1-9]/m);
    expect(reply.text).toMatch(/^wasmguard_http_request_duration_seconds_count\{method="POST",route="\/v1\/evaluate",status="200"\} [1-9]/m);
    expect(reply.text).toMatch(/^wasmguard_pool_instances\{guard="rust",state="idle"\} /m);
    expect(reply.text).toContain('process_cpu_user_seconds_total');
  });

  it('GET /metrics labels request durations by route pattern, and requests that match no route as unmatched', async () => {
    await s.get('/v1/guards');
    await s.get('/no/such/route?x=1');
    const reply = await s.get('/metrics');
    expect(reply.text).toMatch(/^wasmguard_http_request_duration_seconds_count\{method="GET",route="\/v1\/guards",status="200"\} [1-9]/m);
    expect(reply.text).toMatch(/^wasmguard_http_request_duration_seconds_count\{method="GET",route="unmatched",status="404"\} [1-9]/m);
    expect(reply.text).not.toContain('/no/such/route');
  });

  it('GET /openapi.json serves the OpenAPI 3.1 document', async () => {
    const reply = await s.get('/openapi.json');
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toMatch(/^application\/json/);
    expect(reply.body.openapi).toBe('3.1.0');
    expect(Object.keys(reply.body.paths)).toEqual(
      expect.arrayContaining(['/v1/agents/label', '/v1/evaluate', '/v1/evaluate/response', '/v1/guards', '/healthz', '/readyz', '/metrics']),
    );
  });
});
