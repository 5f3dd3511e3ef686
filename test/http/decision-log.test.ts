import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResolvedConfig } from '../../src/config/load.js';
import { SERVER_DEFAULTS } from '../../src/config/settings.js';
import { createLogger } from '../../src/service/logger.js';
import { createService } from '../../src/service/service.js';
import { LOG_TAGS_PER_LABEL } from '../../src/http/decision-record.js';
import { RUST_GUARD } from '../support/fixtures.js';
import { TEST_PRESSURE } from '../support/server.js';

async function startLogged(logToolData: boolean) {
  const lines: string[] = [];
  const server = { ...SERVER_DEFAULTS, host: '127.0.0.1', port: 0, logToolData, logRedactPaths: logToolData ? ['args.token'] : [] };
  const logger = createLogger(server, { write: (line: string) => void lines.push(line) });
  const config: ResolvedConfig = {
    server,
    guards: [{ name: 'rust', path: RUST_GUARD, poolSize: 1, timeoutMs: 2000, memoryLimitMb: 32 }],
    backends: {},
  };
  const service = await createService(config, { logger, pressure: TEST_PRESSURE });
  const url = await service.app.listen({ host: '127.0.0.1', port: 0 });
  const decisions = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'decision');
  return { service, url, decisions };
}

const post = (url: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

describe('decision logs', () => {
  let quiet: Awaited<ReturnType<typeof startLogged>>;
  let verbose: Awaited<ReturnType<typeof startLogged>>;
  beforeAll(async () => {
    quiet = await startLogged(false);
    verbose = await startLogged(true);
  });
  afterAll(async () => {
    await quiet.service.close();
    await verbose.service.close();
  });

  const secretArgs = { repo: 'octo/x', private: true, token: 'do-not-log-me' };

  it('writes one JSON line per decision with the decision fields and without tool data', async () => {
    const res = await post(quiet.url, '/v1/evaluate', { guard: 'rust', tool: 'get_file', args: secretArgs }, { 'x-request-id': 'req-42' });
    expect(res.headers.get('x-request-id')).toBe('req-42');
    const body = (await res.json()) as { decision_id: string; guard_digest: string };
    // The digest of the one module loaded: the line says which guard version decided.
    expect(body.guard_digest).toBe(createHash('sha256').update(readFileSync(RUST_GUARD)).digest('hex'));
    const result = { items: [{ id: 1, author_association: 'OWNER', secret: 'do-not-log-me' }] };
    await post(quiet.url, '/v1/evaluate/response', { guard: 'rust', tool: 'get_file', args: secretArgs, result });

    expect(quiet.decisions()).toHaveLength(2);
    const [request, response] = quiet.decisions();
    expect(request).toMatchObject({
      reqId: 'req-42',
      decision_id: body.decision_id,
      guard_digest: body.guard_digest,
      stage: 'request',
      guard: 'rust',
      tool: 'get_file',
      operation: 'read',
      mode: 'strict',
      decision: 'allow',
      check_response: true,
      agent: { secrecy: [], integrity: [] },
      resource: { secrecy: ['private:octo/x'] },
    });
    expect(typeof request!.reason).toBe('string');
    expect(typeof request!.duration_ms).toBe('number');
    expect(response).toMatchObject({ stage: 'response', guard: 'rust', guard_digest: body.guard_digest, tool: 'get_file', decision: 'deny', operation: 'read', filtered: 1 });
    expect(JSON.stringify(quiet.decisions())).not.toContain('do-not-log-me');
  });

  it('includes tool arguments and results when logToolData is on, minus the redaction paths', async () => {
    await post(verbose.url, '/v1/evaluate', { guard: 'rust', tool: 'get_file', args: secretArgs });
    await post(verbose.url, '/v1/evaluate/response', { guard: 'rust', tool: 'get_file', args: secretArgs, result: { n: 1 } });
    const [request, response] = verbose.decisions();
    expect(request!.args).toEqual({ ...secretArgs, token: '[redacted]' });
    expect(response!.result).toEqual({ n: 1 });
  });

  it('logs a result the guard worker checked (the body handed over as its text) as sent', async () => {
    // Past WORKER_CHECK_MIN_BYTES: the route hands the body's text to the worker and lets go of the
    // parsed result, except when the log is to write it.
    const result = { content: [{ type: 'text', text: JSON.stringify({ items: [{ id: 1, note: 'x'.repeat(20_000) }] }) }] };
    const logged = () => verbose.decisions().filter((l) => l.stage === 'response');
    const before = logged().length;
    const res = await post(verbose.url, '/v1/evaluate/response', { guard: 'rust', tool: 'get_file', args: { repo: 'octo/x' }, result });
    expect(res.status).toBe(200);
    // A reply from the worker has its small members first (decision/serialised-response.ts).
    const keys = Object.keys((await res.json()) as object);
    expect(keys.indexOf('result'), keys.join()).toBeGreaterThan(keys.indexOf('mode'));
    expect(logged()).toHaveLength(before + 1);
    expect(logged().at(-1)!.result).toEqual(result);
  });
});

describe('decision log lines stay small', () => {
  it('cuts long label lists to the first tags and keeps their count', async () => {
    const s = await startLogged(false);
    try {
      const secrecy = Array.from({ length: 500 }, (_, i) => `tag-${i}`);
      const res = await post(s.url, '/v1/evaluate', { guard: 'rust', tool: 'get_issue', agent: { secrecy, integrity: ['approved:octo'] } });
      expect(res.status).toBe(200);
      const [line] = s.decisions();
      expect(line!.agent).toEqual({ secrecy: secrecy.slice(0, LOG_TAGS_PER_LABEL), secrecy_count: 500, integrity: ['approved:octo'] });
    } finally {
      await s.service.close();
    }
  });
});
