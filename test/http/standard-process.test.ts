/**
 * Batch evaluation and the AuthZEN routes through the shipped process
 * (node dist/server.js with the bundled sample guards), as the README and the
 * Dockerfile run it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServerProcess, type ServerProcess } from '../support/process.js';
import { untilReady } from '../support/ready.js';

const POLICY = { tools: { read_doc: { operation: 'read', secrecy: [], integrity: [] }, post_admin: { operation: 'write', secrecy: [], integrity: ['admin'] } } };

let server: ServerProcess;

beforeAll(async () => {
  server = await startServerProcess({ WASMGUARD_POOL_SIZE: '2', WASMGUARD_BATCH_MAX: '3' });
  await untilReady(server.url);
});
afterAll(async () => {
  server?.child.kill('SIGTERM');
  await server?.exited;
});

const post = async (path: string, body: unknown) => {
  const reply = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: reply.status, text: await reply.text() };
};

describe('node dist/server.js', () => {
  it('POST /v1/evaluate/batch decides each call in order; WASMGUARD_BATCH_MAX is read from the environment', async () => {
    const reply = await post('/v1/evaluate/batch', {
      defaults: { guard: 'static', policy: POLICY },
      calls: [{ id: 'a', tool: 'read_doc' }, { id: 'b', tool: 'post_admin' }, { id: 'c', guard: 'nope', tool: 'read_doc' }],
    });
    expect(reply.status, reply.text).toBe(200);
    const decisions = JSON.parse(reply.text).decisions as Array<{ id: string; decision: string; error?: { code: string } }>;
    expect(decisions.map((d) => [d.id, d.decision, d.error?.code])).toEqual([
      ['a', 'allow', undefined],
      ['b', 'deny', undefined],
      ['c', 'deny', 'WG_ERR_UNKNOWN_GUARD'],
    ]);
    const tooMany = await post('/v1/evaluate/batch', { defaults: { guard: 'static' }, calls: Array.from({ length: 4 }, () => ({ tool: 'read_doc' })) });
    expect(tooMany.status).toBe(413);
    // Every decision of the batch has its decision log line.
    expect(server.logs.filter((l) => l.msg === 'decision' && l.tool === 'read_doc').length).toBeGreaterThanOrEqual(1);
  });

  it('AuthZEN: metadata, evaluation and evaluations with deny_on_first_deny', async () => {
    const metadata = JSON.parse(await (await fetch(`${server.url}/.well-known/authzen-configuration`)).text());
    expect(metadata.access_evaluations_endpoint).toBe(`${server.url}/access/v1/evaluations`);
    const subject = { type: 'agent', id: 'bot' };
    const one = await fetch(metadata.access_evaluation_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ subject, action: { name: 'read_doc' }, resource: { type: 'static', id: 'docs' }, context: { policy: POLICY } }),
    });
    expect(one.status).toBe(200);
    expect(await one.json()).toMatchObject({ decision: true, context: { operation: 'read' } });
    const many = await post('/access/v1/evaluations', {
      subject,
      resource: { type: 'static', id: 'docs' },
      context: { policy: POLICY },
      options: { evaluations_semantic: 'deny_on_first_deny' },
      evaluations: [{ action: { name: 'read_doc' } }, { action: { name: 'post_admin' } }, { action: { name: 'read_doc' } }],
    });
    expect(many.status, many.text).toBe(200);
    expect((JSON.parse(many.text).evaluations as Array<{ decision: boolean }>).map((e) => e.decision)).toEqual([true, false]);
    const bad = await post('/access/v1/evaluation', { subject, action: { name: 'read_doc' }, resource: { type: 'static' } });
    expect(bad).toEqual({ status: 400, text: expect.stringMatching(/body\.resource.*id/) });
  });
});
