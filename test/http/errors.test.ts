/**
 * Every error of docs/contract.md §4 over real HTTP: status, code, a message
 * naming the field, limit or guard, the body {"error": {code, message},
 * "decision": "deny"}, and a service that keeps serving afterwards.
 */
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorOf, RUST_GUARD, startService, type Reply, type TestService } from '../support/server.js';

const MiB = 1024 * 1024;
const POLICY = { 'allow-only': { repos: 'public', 'min-integrity': 'none' } };

let s: TestService;

beforeAll(async () => {
  s = await startService({
    server: { bodyLimitBytes: 12 * MiB, maxJsonDepth: 64 },
    guards: [
      { name: 'rust', path: RUST_GUARD },
      // A short deadline for loop_forever; other calls on this guard are not made.
      { name: 'rust-deadline', path: RUST_GUARD, timeoutMs: 300 },
      // One instance and no queue: a second call while one runs is refused at once.
      { name: 'rust-busy', path: RUST_GUARD, maxQueue: 0, timeoutMs: 20_000 },
    ],
  });
});
afterAll(() => s?.close());

/** A good request right after an error: the service (and the guard) still serve. */
async function stillServes(guard = 'rust'): Promise<void> {
  const reply = await s.post('/v1/evaluate', { guard, tool: 'get_issue', args: { owner: 'octo-org', repo: 'app' } });
  expect(reply.status, reply.text).toBe(200);
  expect(reply.body.decision).toBe('allow');
  expect(reply.body.resource.description).toBe('get_issue repo octo-org/app under policy none');
}

function expectError(reply: Reply, status: number, code: string, message?: RegExp | string): { code: string; message: string } {
  expect(reply.status, reply.text).toBe(status);
  expect(reply.headers.get('content-type')).toMatch(/^application\/json/);
  const error = errorOf(reply);
  expect(error.code).toBe(code);
  if (message !== undefined) expect(error.message).toMatch(message);
  return error;
}

describe('400 invalid request', () => {
  it('names the field with the wrong type', async () => {
    expectError(await s.post('/v1/evaluate', { guard: 'rust', tool: 42 }), 400, 'WG_ERR_INVALID_REQUEST', 'body.tool must be string');
    expectError(
      await s.post('/v1/evaluate', { guard: 'rust', tool: 'get_issue', agent: { secrecy: ['a', 7], integrity: [] } }),
      400,
      'WG_ERR_INVALID_REQUEST',
      'body.agent.secrecy[1] must be string',
    );
    expectError(
      await s.post('/v1/evaluate', { guard: 'rust', tool: 'get_issue', mode: 'lenient' }),
      400,
      'WG_ERR_INVALID_REQUEST',
      'body.mode must be one of "strict", "filter", "propagate"',
    );
    expectError(await s.post('/v1/agents/label', { guard: 'rust', policy: 'public' }), 400, 'WG_ERR_INVALID_REQUEST', 'body.policy must be object');
    expectError(
      await s.post('/v1/evaluate/response', { guard: 'rust', tool: 'list_issues', result: [], operation: 'delete' }),
      400,
      'WG_ERR_INVALID_REQUEST',
      /^body\.operation must be one of "read", "write", "read-write"/,
    );
    await stillServes();
  });

  it('names an unknown field', async () => {
    expectError(
      await s.post('/v1/evaluate', { guard: 'rust', tool: 'get_issue', polcy: POLICY }),
      400,
      'WG_ERR_INVALID_REQUEST',
      'body has unknown field "polcy"',
    );
    expectError(
      await s.post('/v1/evaluate', { guard: 'rust', tool: 'get_issue', agent: { secrecy: [], integrity: [], trust: [] } }),
      400,
      'WG_ERR_INVALID_REQUEST',
      'body.agent has unknown field "trust"',
    );
    await stillServes();
  });

  it('names a missing field', async () => {
    expectError(await s.post('/v1/evaluate', { guard: 'rust' }), 400, 'WG_ERR_INVALID_REQUEST', 'body is missing required field "tool"');
    expectError(
      await s.post('/v1/evaluate/response', { guard: 'rust', tool: 'list_issues' }),
      400,
      'WG_ERR_INVALID_REQUEST',
      'body is missing required field "result"',
    );
    expectError(await s.post('/v1/agents/label', { policy: POLICY }), 400, 'WG_ERR_INVALID_REQUEST', 'body is missing required field "guard"');
    await stillServes();
  });

  it('refuses a body that is not a JSON object', async () => {
    expectError(await s.post('/v1/evaluate', '[1, 2]'), 400, 'WG_ERR_INVALID_REQUEST', 'body must be object');
    expectError(await s.post('/v1/evaluate', 'null'), 400, 'WG_ERR_INVALID_REQUEST', 'body must be object');
    await stillServes();
  });

  it('refuses invalid JSON, saying what is wrong', async () => {
    const error = expectError(await s.post('/v1/evaluate', '{"guard": "rust", "tool": '), 400, 'WG_ERR_INVALID_JSON');
    expect(error.message).toMatch(/^request body is not valid JSON: .+/);
    expectError(await s.post('/v1/evaluate', "{'guard': 'rust'}"), 400, 'WG_ERR_INVALID_JSON', /not valid JSON/);
    await stillServes();
  });

  it('refuses __proto__ and constructor.prototype keys anywhere in the body', async () => {
    for (const text of [
      '{"guard": "rust", "tool": "get_issue", "__proto__": {"isAdmin": true}}',
      '{"guard": "rust", "tool": "get_issue", "args": {"deep": [{"__proto__": {"x": 1}}]}}',
      '{"guard": "rust", "tool": "get_issue", "args": {"constructor": {"prototype": {"polluted": true}}}}',
    ]) {
      expectError(await s.post('/v1/evaluate', text), 400, 'WG_ERR_INVALID_JSON', /"__proto__" or "constructor\.prototype" key/);
    }
    // Nothing leaked into Object.prototype of the server (same process).
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // "constructor" alone is an ordinary key.
    const ok = await s.post('/v1/evaluate', { guard: 'rust', tool: 'get_issue', args: { constructor: 'fine' } });
    expect(ok.status, ok.text).toBe(200);
  });

  it('refuses JSON nested deeper than maxJsonDepth, and counts only structure', async () => {
    const deep = `{"guard": "rust", "tool": "get_issue", "args": ${'['.repeat(100)}${']'.repeat(100)}}`;
    expectError(await s.post('/v1/evaluate', deep), 400, 'WG_ERR_JSON_TOO_DEEP', 'nested deeper than the limit of 64 levels');
    // Very deep nesting (a stack-exhaustion attempt) gets the same answer.
    expectError(await s.post('/v1/evaluate', '['.repeat(200_000)), 400, 'WG_ERR_JSON_TOO_DEEP');
    // Brackets inside strings do not count; nesting under the limit is fine.
    const fine = await s.post('/v1/evaluate', {
      guard: 'rust',
      tool: 'get_issue',
      args: { text: '['.repeat(500), nested: JSON.parse(`${'['.repeat(60)}${']'.repeat(60)}`) },
    });
    expect(fine.status, fine.text).toBe(200);
  });

  it('refuses an empty body', async () => {
    expectError(await s.post('/v1/evaluate', ''), 400, 'WG_ERR_INVALID_REQUEST', /empty/);
    await stillServes();
  });
});

describe('404', () => {
  it('names the unknown guard and lists the loaded ones', async () => {
    for (const [path, body] of [
      ['/v1/agents/label', { guard: 'gitlab', policy: POLICY }],
      ['/v1/evaluate', { guard: 'gitlab', tool: 'get_issue' }],
      ['/v1/evaluate/response', { guard: 'gitlab', tool: 'get_issue', result: {} }],
    ] as const) {
      const error = expectError(await s.post(path, body), 404, 'WG_ERR_UNKNOWN_GUARD', 'unknown guard "gitlab"');
      expect(error.message).toContain('rust, rust-deadline, rust-busy');
    }
    await stillServes();
  });

  it('answers an unknown route with the error body', async () => {
    expectError(await s.get('/v2/evaluate'), 404, 'WG_ERR_NOT_FOUND', 'no route GET /v2/evaluate');
    expectError(await s.post('/v1/evaluate/request', {}), 404, 'WG_ERR_NOT_FOUND', 'no route POST /v1/evaluate/request');
    expectError(await s.get('/v1/evaluate?x=1'), 404, 'WG_ERR_NOT_FOUND', 'no route GET /v1/evaluate');
    await stillServes();
  });
});

describe('413', () => {
  it('refuses a body over bodyLimitBytes, naming the limit', async () => {
    const body = JSON.stringify({ guard: 'rust', tool: 'list_issues', result: 'x'.repeat(12 * MiB) });
    expectError(await s.post('/v1/evaluate/response', body), 413, 'WG_ERR_BODY_TOO_LARGE', `over the limit of ${12 * MiB} bytes`);
    await stillServes();
  });

  it('refuses a guard input over the guard input limit (8 MiB) before the guard sees it', async () => {
    // The body is under the 12 MiB body limit; the label_response input built from it is just over 8 MiB.
    const result = 'x'.repeat(8 * MiB - 40);
    const error = expectError(
      await s.post('/v1/evaluate/response', { guard: 'rust', tool: 'list_issues', result, operation: 'read', resource: { secrecy: [], integrity: [] } }),
      413,
      'WG_ERR_INPUT_TOO_LARGE',
      /^input to label_response is \d+ bytes, over the guard input limit of 8388608 bytes$/,
    );
    expect(Number(/is (\d+) bytes/.exec(error.message)![1])).toBeGreaterThan(8 * MiB);
    // Just under the limit goes through to the guard.
    const under = await s.post('/v1/evaluate/response', {
      guard: 'rust',
      tool: 'list_issues',
      result: 'x'.repeat(8 * MiB - 200),
      operation: 'read',
      resource: { secrecy: [], integrity: [] },
    });
    expect(under.status, under.text.slice(0, 300)).toBe(200);
    expect(under.body.result).toHaveLength(8 * MiB - 200);
    await stillServes();
  });
});

describe('415', () => {
  it('refuses a body that is not application/json, text/plain included', async () => {
    const json = JSON.stringify({ guard: 'rust', tool: 'get_issue' });
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
      expectError(await s.post('/v1/evaluate', json, { 'content-type': type }), 415, 'WG_ERR_UNSUPPORTED_MEDIA_TYPE', 'application/json');
    }
    // application/json with a charset is JSON.
    const ok = await s.post('/v1/evaluate', json, { 'content-type': 'application/json; charset=utf-8' });
    expect(ok.status, ok.text).toBe(200);
  });

  it('refuses a compressed body instead of reading its bytes as JSON', async () => {
    const gzipped = gzipSync(JSON.stringify({ guard: 'rust', tool: 'get_issue' }));
    const reply = await s.post('/v1/evaluate', gzipped, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    expectError(reply, 415, 'WG_ERR_UNSUPPORTED_MEDIA_TYPE', 'request body has content-encoding "gzip", which is not supported; send it uncompressed');
    await stillServes();
  });
});

describe('422', () => {
  it("passes on the guard's own reason for refusing the policy", async () => {
    for (const [path, body] of [
      ['/v1/agents/label', { guard: 'rust', policy: { 'deny-all': {} } }],
      ['/v1/evaluate', { guard: 'rust', tool: 'get_issue', policy: { 'deny-all': {} } }],
      ['/v1/evaluate/response', { guard: 'rust', tool: 'get_issue', result: {}, policy: { 'deny-all': {} } }],
    ] as const) {
      expectError(await s.post(path, body), 422, 'WG_ERR_POLICY_REJECTED', 'guard rust rejected the policy: policy must contain allow-only');
    }
    expectError(
      await s.post('/v1/agents/label', { guard: 'rust', policy: { 'allow-only': { repos: 42 } } }),
      422,
      'WG_ERR_POLICY_REJECTED',
      'allow-only.repos must be "public", "all" or an array of repo names',
    );
    await stillServes();
  });
});

describe('502 guard failures', () => {
  it('a guard error code', async () => {
    expectError(
      await s.post('/v1/evaluate', { guard: 'rust', tool: 'guard_error' }),
      502,
      'WG_ERR_GUARD_REPORTED',
      'guard rust label_resource returned error code -7',
    );
    await stillServes();
  });

  it('malformed output', async () => {
    expectError(
      await s.post('/v1/evaluate', { guard: 'rust', tool: 'bad_json' }),
      502,
      'WG_ERR_GUARD_OUTPUT',
      /^guard rust label_resource output: not valid JSON/,
    );
    await stillServes();
  });

  it('output over the output buffer limit', async () => {
    expectError(
      await s.post('/v1/evaluate', { guard: 'rust', tool: 'big_output', args: { size: 20 * MiB } }),
      502,
      'WG_ERR_BUFFER_LIMIT',
      /over the limit of 16777216 bytes/,
    );
    await stillServes();
  });

  it.each([
    ['trap_unreachable', 'label_resource', /unreachable/],
    ['trap_oob', 'label_resource', /out_of_bounds|out of bounds/],
    ['trap_stack', 'label_resource', /stack/],
    ['response_trap_div0', 'label_response', /divide_by_zero|divide by zero/],
  ])('a trap (%s), after which a fresh instance serves', async (tool, fn, kind) => {
    const reply =
      fn === 'label_resource'
        ? await s.post('/v1/evaluate', { guard: 'rust', tool })
        : await s.post('/v1/evaluate/response', { guard: 'rust', tool, result: { items: [] } });
    const error = expectError(reply, 502, 'WG_ERR_GUARD_TRAP', `guard rust ${fn} trapped`);
    expect(error.message).toMatch(kind);
    await stillServes();
  });

  it('a WASI exit, during label_agent too', async () => {
    expectError(await s.post('/v1/evaluate', { guard: 'rust', tool: 'exit_0' }), 502, 'WG_ERR_GUARD_EXIT', /proc_exit\(0\)/);
    expectError(
      await s.post('/v1/agents/label', { guard: 'rust', policy: { 'allow-only': {}, 'test-hook': 'exit_3' } }),
      502,
      'WG_ERR_GUARD_TRAP',
      /label_agent/,
    );
    await stillServes();
    // The instance that exited was replaced: label_agent runs again.
    const ok = await s.post('/v1/agents/label', { guard: 'rust', policy: { 'allow-only': {} } });
    expect(ok.status, ok.text).toBe(200);
  });
});

describe('503 overloaded', () => {
  it('refuses a call when the only instance is busy and the queue is full, with Retry-After', async () => {
    const slow = s.post('/v1/evaluate', { guard: 'rust-busy', tool: 'sleep', args: { ms: 1500 } });
    await s.waitForGuard('rust-busy', (g) => g.pool.instances.busy === 1);
    const refused = await s.post('/v1/evaluate', { guard: 'rust-busy', tool: 'get_issue' });
    expectError(refused, 503, 'WG_ERR_GUARD_OVERLOADED', /guard rust-busy is overloaded/);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const done = await slow;
    expect(done.status, done.text).toBe(200);
    expect(done.body.resource.description).toBe('slept 1500 ms');
    await stillServes('rust-busy');
    // Other guards were never affected.
    await stillServes();
  });
});

describe('504 deadline', () => {
  it('stops a guard that never returns, and a replacement instance serves the next call', async () => {
    const reply = await s.post('/v1/evaluate', { guard: 'rust-deadline', tool: 'loop_forever' });
    expectError(reply, 504, 'WG_ERR_GUARD_TIMEOUT', /guard rust-deadline label_resource did not finish within its deadline/);
    const next = await s.post('/v1/evaluate', { guard: 'rust-deadline', tool: 'get_issue', args: { owner: 'o', repo: 'r' } });
    expect(next.status, next.text).toBe(200);
    expect(next.body.resource.description).toBe('get_issue repo o/r under policy none');
  });
});

describe('error bookkeeping', () => {
  it('gives every reply, errors included, an x-request-id, and keeps healthz and readyz green', async () => {
    const reply = await s.post('/v1/evaluate', { guard: 'nope', tool: 'x' });
    expect(reply.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect((await s.get('/healthz')).status).toBe(200);
    expect((await s.get('/readyz')).status).toBe(200);
  });
});
