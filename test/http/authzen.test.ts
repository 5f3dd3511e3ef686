/**
 * The OpenID AuthZEN Authorization API 1.0 routes over real HTTP with the
 * real service. One test per example of the specification's sections on the
 * Access Evaluation and Access Evaluations APIs (openid/authzen,
 * api/authorization-api-1_0.md): verbatim where the example can reach a
 * decision as written, else with its resource types and action names mapped
 * to the guards below (a comment says which).
 *
 * Guards: `open` and `closed` are the static sample guard with an operator
 * policy: every tool of `open` is a read of data labelled trusted, every tool
 * of `closed` a write that needs integrity "admin". A subject without labels
 * (the spec's "alice") may therefore read from `open` and not write to `closed`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { untilReady } from '../support/ready.js';
import { STATIC_GUARD, startService, type Reply, type TestService } from '../support/server.js';

const OPEN = { default: { operation: 'read', secrecy: [], integrity: ['trusted'] } };
const CLOSED = { default: { operation: 'write', secrecy: [], integrity: ['admin'] } };
const ALICE = { type: 'user', id: 'alice@example.com' };

let s: TestService;

beforeAll(async () => {
  s = await startService({
    guards: [
      { name: 'open', path: STATIC_GUARD, policy: OPEN, poolSize: 2 },
      { name: 'closed', path: STATIC_GUARD, policy: CLOSED, poolSize: 1 },
      { name: 'static', path: STATIC_GUARD, poolSize: 1 },
    ],
    server: { batchMax: 5 },
  });
  await untilReady(s.url);
});
afterAll(() => s?.close());

/** The specification's error form: a status code and a message string. */
function specError(reply: Reply, status: number): string {
  expect(reply.status, reply.text).toBe(status);
  expect(reply.headers.get('content-type')).toMatch(/^text\/plain/);
  expect(reply.text.length).toBeGreaterThan(0);
  return reply.text;
}

const decisions = (reply: Reply) => (reply.body.evaluations as Array<{ decision: boolean }>).map((e) => e.decision);

describe('GET /.well-known/authzen-configuration', () => {
  it('names this PDP and its evaluation endpoints, from the URL the client used', async () => {
    const reply = await s.get('/.well-known/authzen-configuration');
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toMatch(/^application\/json/);
    expect(reply.body).toEqual({
      policy_decision_point: s.url,
      access_evaluation_endpoint: `${s.url}/access/v1/evaluation`,
      access_evaluations_endpoint: `${s.url}/access/v1/evaluations`,
    });
  });
});

describe('POST /access/v1/evaluation (the specification section "Access Evaluation API")', () => {
  const SPEC_REQUEST = {
    subject: { type: 'user', id: 'alice@example.com' },
    resource: { type: 'account', id: '123' },
    action: { name: 'can_read', properties: { method: 'GET' } },
    context: { time: '1985-10-26T01:22-07:00' },
  };

  it('example request, verbatim: "account" is no guard here, so the spec error form with 404 naming it', async () => {
    const message = specError(await s.post('/access/v1/evaluation', SPEC_REQUEST), 404);
    expect(message).toContain('account');
  });

  it('example request, resource.type mapped to a guard: a decision with the WasmGuard context; unknown fields ignored', async () => {
    const reply = await s.post('/access/v1/evaluation', { ...SPEC_REQUEST, resource: { type: 'open', id: '123' } });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.body).toEqual({
      decision: true,
      context: {
        decision_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        guard_digest: expect.stringMatching(/^[0-9a-f]{64}$/),
        operation: 'read',
        check_response: expect.any(Boolean),
        mode: 'strict',
        resource: { secrecy: [], integrity: ['trusted'], description: 'tool can_read' },
      },
    });
    const denied = await s.post('/access/v1/evaluation', { ...SPEC_REQUEST, resource: { type: 'closed', id: '123' } });
    expect(denied.body).toMatchObject({ decision: false, context: { operation: 'write', reason: expect.stringContaining('admin') } });
  });

  it('answers exactly as /v1/evaluate: subject labels, resource properties as args, context policy and mode', async () => {
    const policy = { tools: { read_vault: { operation: 'read', secrecy: ['vault'], integrity: [] } } };
    const reply = await s.post('/access/v1/evaluation', {
      subject: { type: 'agent', id: 'bot-1', properties: { secrecy: [], integrity: [] } },
      action: { name: 'read_vault' },
      resource: { type: 'static', id: 'vault', properties: { key: 'k' } },
      context: { policy, mode: 'filter' },
    });
    const v1 = await s.post('/v1/evaluate', { guard: 'static', tool: 'read_vault', args: { key: 'k' }, agent: { secrecy: [], integrity: [] }, policy, mode: 'filter' });
    expect(reply.status, reply.text).toBe(200);
    const { decision_id: _a, agent: _agent, decision: _decision, ...expected } = v1.body;
    const { decision_id: _b, ...context } = reply.body.context;
    expect(reply.body.decision).toBe(v1.body.decision === 'allow');
    expect(context).toEqual(expected);
    expect(context.check_response).toBe(true);
    // Labels that read admin data make the write to closed pass.
    const admin = await s.post('/access/v1/evaluation', {
      subject: { type: 'agent', id: 'bot-1', properties: { integrity: ['admin'] } },
      action: { name: 'post' },
      resource: { type: 'closed', id: 'x' },
    });
    expect(admin.body.decision).toBe(true);
  });

  it('a session subject: the session holds the labels, policy and mode', async () => {
    const session = (await s.post('/v1/sessions', { guard: 'closed' })).body.session_id as string;
    const reply = await s.post('/access/v1/evaluation', { subject: { type: 'session', id: session }, action: { name: 'post' }, resource: { type: 'closed', id: 'x' } });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.body.decision).toBe(false);
    // A session's labels are authoritative: a policy beside it is refused, naming the field.
    const conflict = await s.post('/access/v1/evaluation', {
      subject: { type: 'session', id: session },
      action: { name: 'post' },
      resource: { type: 'closed', id: 'x' },
      context: { policy: CLOSED },
    });
    expect(specError(conflict, 400)).toContain('policy');
    expect(specError(await s.post('/access/v1/evaluation', { subject: { type: 'session', id: 'AAAAAAAAAAAAAAAAAAAAAA' }, action: { name: 'post' }, resource: { type: 'closed', id: 'x' } }), 404)).toContain('session');
  });

  it('unmappable requests get the spec error form (400, a message naming the field); X-Request-ID is echoed', async () => {
    const cases: Array<[unknown, string]> = [
      [{ subject: { type: 'user' }, action: { name: 'read' }, resource: { type: 'open', id: '1' } }, 'subject'],
      [{ subject: ALICE, action: {}, resource: { type: 'open', id: '1' } }, 'action'],
      [{ subject: ALICE, action: { name: 'read' }, resource: { type: 'open' } }, 'resource'],
      [{ subject: ALICE, action: { name: 'read' }, resource: { type: 'open', id: '1', properties: [1] } }, 'resource.properties'],
      [{ subject: { ...ALICE, properties: { secrecy: 'all' } }, action: { name: 'read' }, resource: { type: 'open', id: '1' } }, 'subject.properties.secrecy'],
      [{ subject: ALICE, action: { name: 'read' }, resource: { type: 'static', id: '1' }, context: { mode: 'loose' } }, 'context.mode'],
    ];
    for (const [body, field] of cases) expect(specError(await s.post('/access/v1/evaluation', body), 400), field).toContain(field);
    const invalid = await fetch(`${s.url}/access/v1/evaluation`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': 'bfe9eb29-ab87-4ca3-be83-a1d5d8305716' }, body: '{"subject":' });
    expect(invalid.status).toBe(400);
    expect(invalid.headers.get('x-request-id')).toBe('bfe9eb29-ab87-4ca3-be83-a1d5d8305716');
    expect(await invalid.text()).toMatch(/JSON/);
    const ok = await s.post('/access/v1/evaluation', { subject: ALICE, action: { name: 'read' }, resource: { type: 'open', id: '1' } }, { 'content-type': 'application/json', 'x-request-id': 'req-42' });
    expect(ok.headers.get('x-request-id')).toBe('req-42');
  });
});

describe('POST /access/v1/evaluations (the specification section "Access Evaluations API")', () => {
  const doc = (type: string, id: string) => ({ type, id });

  it('example "three requests, with no default values", verbatim: each "document" evaluation fails alone, decision false with context.error', async () => {
    const item = (id: string) => ({ subject: ALICE, action: { name: 'can_read' }, resource: doc('document', id), context: { time: '2024-05-31T15:22-07:00' } });
    const reply = await s.post('/access/v1/evaluations', { evaluations: [item('boxcarring.md'), item('subject-search.md'), item('resource-search.md')] });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.body.evaluations).toHaveLength(3);
    for (const e of reply.body.evaluations) expect(e).toEqual({ decision: false, context: { error: { status: 404, code: 'WG_ERR_UNKNOWN_GUARD', message: expect.stringContaining('document') } } });
  });

  it('example "three requests, with no default values", resource types mapped: three decisions in order', async () => {
    const item = (type: string) => ({ subject: ALICE, action: { name: 'can_read' }, resource: doc(type, 'x.md'), context: { time: '2024-05-31T15:22-07:00' } });
    const reply = await s.post('/access/v1/evaluations', { evaluations: [item('open'), item('closed'), item('open')] });
    expect(decisions(reply)).toEqual([true, false, true]);
    expect(reply.body.decision).toBeUndefined();
  });

  it('example "single subject and context" (defaults), resource types mapped', async () => {
    const reply = await s.post('/access/v1/evaluations', {
      subject: ALICE,
      context: { time: '2024-05-31T15:22-07:00' },
      evaluations: [
        { action: { name: 'can_read' }, resource: doc('open', 'boxcarring.md') },
        { action: { name: 'can_read' }, resource: doc('closed', 'subject-search.md') },
        { action: { name: 'can_read' }, resource: doc('open', 'resource-search.md') },
      ],
    });
    expect(decisions(reply)).toEqual([true, false, true]);
  });

  it('example "default action overridden by the third request": the item\'s key replaces the default', async () => {
    const reply = await s.post('/access/v1/evaluations', {
      subject: ALICE,
      context: { time: '2024-05-31T15:22-07:00', policy: { tools: { can_edit: { operation: 'write', integrity: ['admin'] } } } },
      action: { name: 'can_read' },
      evaluations: [{ resource: doc('static', 'boxcarring.md') }, { resource: doc('static', 'subject-search.md') }, { action: { name: 'can_edit' }, resource: doc('static', 'resource-search.md') }],
    });
    expect(decisions(reply)).toEqual([true, true, false]);
    expect(reply.body.evaluations[2].context.operation).toBe('write');
  });

  it('example "options", verbatim: it has no action anywhere, so 400 in the spec error form naming it', async () => {
    const reply = await s.post('/access/v1/evaluations', {
      evaluations: [{ resource: { type: 'doc', id: '1' }, subject: { type: 'doc', id: '2' } }],
      options: { evaluations_semantic: 'execute_all', another_option: 'value' },
    });
    expect(specError(reply, 400)).toContain('body.evaluations[0].action');
  });

  // The three semantics examples: subject and action verbatim; documents 1 and 3 are in `open`, document 2 in `closed`.
  const semantics = (evaluations_semantic: string) => ({
    subject: ALICE,
    action: { name: 'read' },
    options: { evaluations_semantic },
    evaluations: [{ resource: doc('open', '1') }, { resource: doc('closed', '2') }, { resource: doc('open', '3') }],
  });

  it('example "execute all": every result, in order', async () => {
    expect(decisions(await s.post('/access/v1/evaluations', semantics('execute_all')))).toEqual([true, false, true]);
  });

  it('example "deny on first deny": stops after the first denial', async () => {
    const reply = await s.post('/access/v1/evaluations', semantics('deny_on_first_deny'));
    expect(decisions(reply)).toEqual([true, false]);
    // An error is a denial too.
    const failing = await s.post('/access/v1/evaluations', { ...semantics('deny_on_first_deny'), evaluations: [{ resource: doc('nope', '1') }, { resource: doc('open', '2') }] });
    expect(failing.body.evaluations).toEqual([{ decision: false, context: { error: expect.objectContaining({ status: 404 }) } }]);
  });

  it('example "permit on first permit": stops after the first permit', async () => {
    expect(decisions(await s.post('/access/v1/evaluations', semantics('permit_on_first_permit')))).toEqual([true]);
    const later = await s.post('/access/v1/evaluations', { ...semantics('permit_on_first_permit'), evaluations: [{ resource: doc('closed', '1') }, { resource: doc('open', '2') }, { resource: doc('open', '3') }] });
    expect(decisions(later)).toEqual([false, true]);
  });

  it('without evaluations (or with none) it answers like a single evaluation', async () => {
    const single = { subject: ALICE, action: { name: 'read' }, resource: doc('open', '1') };
    for (const body of [single, { ...single, evaluations: [] }]) {
      const reply = await s.post('/access/v1/evaluations', body);
      expect(reply.status, reply.text).toBe(200);
      expect(reply.body).toMatchObject({ decision: true, context: { operation: 'read' } });
    }
  });

  it('refuses an unknown semantic and more evaluations than WASMGUARD_BATCH_MAX', async () => {
    expect(specError(await s.post('/access/v1/evaluations', semantics('first_come')), 400)).toContain('evaluations_semantic');
    const many = { subject: ALICE, action: { name: 'read' }, evaluations: Array.from({ length: 6 }, (_, i) => ({ resource: doc('open', String(i)) })) };
    expect(specError(await s.post('/access/v1/evaluations', many), 413)).toContain('5');
  });
});

describe('bearer tokens cover /access/v1 (docs/contract.md §8)', () => {
  let t: TestService;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wg-authzen-'));
    writeFileSync(join(dir, 'tokens'), 'pep-token\n');
    t = await startService({ guards: [{ name: 'open', path: STATIC_GUARD, policy: OPEN }], server: { apiTokensFile: join(dir, 'tokens') } });
    await untilReady(t.url);
  });
  afterAll(async () => {
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('evaluation and evaluations need the token; the metadata stays open', async () => {
    const body = { subject: ALICE, action: { name: 'read' }, resource: { type: 'open', id: '1' } };
    for (const path of ['/access/v1/evaluation', '/access/v1/evaluations']) {
      const refused = await t.post(path, body);
      expect(refused.status, path).toBe(401);
      expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer/);
      const allowed = await t.post(path, body, { 'content-type': 'application/json', authorization: 'Bearer pep-token' });
      expect(allowed.status, path).toBe(200);
      expect(allowed.body.decision).toBe(true);
    }
    expect((await t.get('/.well-known/authzen-configuration')).status).toBe(200);
  });
});
