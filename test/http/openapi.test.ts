/**
 * The committed OpenAPI document (openapi/openapi.json): the same as what the
 * app generates, OpenAPI 3.1, and complete enough to write a client from:
 * every route described, with examples that the schemas accept and the real
 * service answers.
 */
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatOpenApi, generateOpenApi, OPENAPI_PATH } from '../../src/http/openapi-file.js';
import { GITHUB_GUARD, startService, type TestService } from '../support/server.js';

type Json = Record<string, any>;

const DECISION_ROUTES = ['/v1/agents/label', '/v1/evaluate', '/v1/evaluate/response'];
const ERROR_STATUSES = ['400', '401', '403', '404', '413', '415', '422', '500', '502', '503', '504'];

let generated: Json;
let committedText: string;
let committed: Json;

beforeAll(async () => {
  generated = await generateOpenApi();
  committedText = readFileSync(OPENAPI_PATH, 'utf8');
  committed = JSON.parse(committedText) as Json;
});

/** Every operation of a document: [method, path, operation]. */
const operations = (doc: Json): Array<[string, string, Json]> =>
  Object.entries(doc.paths as Json).flatMap(([path, methods]) =>
    Object.entries(methods as Json).map(([method, op]): [string, string, Json] => [method, path, op as Json]),
  );

/** The examples of a media type object, whichever of `example` / `examples` it uses. */
function examplesOf(media: Json): unknown[] {
  if (media.example !== undefined) return [media.example];
  return Object.values((media.examples ?? {}) as Json).map((e) => (e as Json).value);
}

describe('openapi/openapi.json', () => {
  it('is what the app generates (run `npm run openapi` after changing routes or schemas)', () => {
    const expected = formatOpenApi(generated);
    if (committedText !== expected) {
      expect.fail(
        'openapi/openapi.json is out of date with the routes and schemas in src/http: run `npm run openapi` and commit the result\n' +
          `first difference at character ${[...expected].findIndex((c, i) => c !== committedText[i])}`,
      );
    }
  });

  it('is OpenAPI 3.1 with a title, version and an introduction covering the flow, fallbacks and errors', () => {
    expect(committed.openapi).toBe('3.1.0');
    expect(committed.info.title).toEqual(expect.any(String));
    expect(committed.info.version).toMatch(/^\d+\.\d+\.\d+$/);
    for (const topic of ['/v1/agents/label', '/v1/evaluate/response', 'Fallbacks', 'propagate', '"decision": "deny"', 'Retry-After', 'WG_ERR_GUARD_TIMEOUT']) {
      expect(committed.info.description).toContain(topic);
    }
  });

  it('documents every route', () => {
    expect(operations(committed).map(([m, p]) => `${m.toUpperCase()} ${p}`).sort()).toEqual(
      [
        'POST /v1/agents/label',
        'POST /v1/evaluate',
        'POST /v1/evaluate/response',
        'POST /v1/evaluate/batch',
        'GET /.well-known/authzen-configuration',
        'POST /access/v1/evaluation',
        'POST /access/v1/evaluations',
        'GET /v1/guards',
        'POST /v1/sessions',
        'GET /v1/sessions/{id}',
        'DELETE /v1/sessions/{id}',
        'POST /v1/admin/reload',
        'GET /healthz',
        'GET /readyz',
        'GET /metrics',
        'GET /openapi.json',
      ].sort(),
    );
  });

  it('gives every route a summary, description, tag, described responses and error responses', () => {
    for (const [method, path, op] of operations(committed)) {
      const where = `${method.toUpperCase()} ${path}`;
      expect(op.summary, where).toEqual(expect.stringMatching(/\w/));
      expect(op.description?.length, where).toBeGreaterThan(20);
      expect(op.tags, where).toHaveLength(1);
      for (const [status, response] of Object.entries(op.responses as Json)) {
        expect((response as Json).description, `${where} ${status}`).not.toBe('Default Response');
        // A 204 has no body by definition.
        if (status !== '204') expect((response as Json).content, `${where} ${status}`).toBeDefined();
      }
      expect(
        Object.keys(op.responses).filter((s) => Number(s) >= 400),
        where,
      ).not.toHaveLength(0);
    }
  });

  it('gives the decision routes a JSON body with examples and every error status of docs/contract.md §4', () => {
    for (const path of DECISION_ROUTES) {
      const op = committed.paths[path].post as Json;
      expect(op.requestBody.required, path).toBe(true);
      expect(examplesOf(op.requestBody.content['application/json']).length, path).toBeGreaterThan(0);
      expect(Object.keys(op.responses).sort(), path).toEqual(['200', ...ERROR_STATUSES].sort());
      for (const status of ERROR_STATUSES) {
        const media = op.responses[status].content['application/json'] as Json;
        expect(media.schema.properties.decision.enum, `${path} ${status}`).toEqual(['deny']);
        const examples = examplesOf(media) as Json[];
        expect(examples.length, `${path} ${status}`).toBeGreaterThan(0);
        // The description lists the codes its examples show.
        for (const example of examples) expect(op.responses[status].description).toContain(example.error.code);
      }
      expect(op.responses['503'].headers['retry-after'].schema.type).toBe('integer');
    }
  });

  it('has examples that its own schemas accept', () => {
    const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
    let checked = 0;
    for (const [method, path, op] of operations(committed)) {
      const media: Array<[string, Json]> = [];
      if (op.requestBody) media.push([`${method} ${path} request`, op.requestBody.content['application/json']]);
      for (const [status, response] of Object.entries(op.responses as Json)) {
        for (const [type, m] of Object.entries(((response as Json).content ?? {}) as Json)) media.push([`${method} ${path} ${status} ${type}`, m as Json]);
      }
      for (const [where, m] of media) {
        const validate = ajv.compile(m.schema);
        for (const example of examplesOf(m)) {
          expect(validate(example), `${where}: ${ajv.errorsText(validate.errors)}`).toBe(true);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(40);
  });
});

describe('the served document and the examples, against the real service', () => {
  let s: TestService;
  beforeAll(async () => {
    s = await startService({ guards: [{ name: 'github', path: GITHUB_GUARD }] });
  });
  afterAll(() => s?.close());

  it('GET /openapi.json serves the committed document, whatever guards are loaded', async () => {
    const reply = await s.get('/openapi.json');
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual(committed);
  });

  it('every request example of a decision route gets a 200, shaped like the 200 examples', async () => {
    for (const path of DECISION_ROUTES) {
      const op = committed.paths[path].post as Json;
      const replyExamples = examplesOf(op.responses['200'].content['application/json']) as Json[];
      for (let example of examplesOf(op.requestBody.content['application/json']) as Json[]) {
        // A session example names a session that exists only once the POST /v1/sessions example made it.
        if (example.session) {
          const created = await s.post('/v1/sessions', (committed.paths['/v1/sessions'].post as Json).requestBody.content['application/json'].example);
          expect(created.status, created.text).toBe(201);
          example = { ...example, session: created.body.session_id };
        }
        const reply = await s.post(path, example);
        expect(reply.status, `${path}: ${reply.text}`).toBe(200);
        // Same fields as a documented reply (values such as decision_id differ).
        expect(replyExamples.some((r) => Object.keys(r).sort().join() === Object.keys(reply.body).sort().join()), `${path}: ${reply.text}`).toBe(true);
      }
    }
  });

  // The digest changes whenever the sample guard is rebuilt from changed sources.
  const ANY_DIGEST = expect.stringMatching(/^[0-9a-f]{64}$/);

  it('the reply examples are real: each request example gives the matching reply example, decision_id and guard_digest aside', async () => {
    const pairs: Array<[string, string]> = [
      ['/v1/evaluate', 'read'],
      ['/v1/evaluate', 'write'],
      ['/v1/evaluate/response', 'filter'],
      ['/v1/evaluate/response', 'propagate'],
    ];
    for (const [path, name] of pairs) {
      const op = committed.paths[path].post as Json;
      const request = op.requestBody.content['application/json'].examples[name].value;
      const expected = { ...op.responses['200'].content['application/json'].examples[name].value, decision_id: expect.any(String), guard_digest: ANY_DIGEST };
      const reply = await s.post(path, request);
      // On failure: update the examples in src/http/schemas/decisions.ts to the real reply, then run `npm run openapi`.
      expect(reply.body, `${path} example "${name}" is not what the service answers`).toEqual(expected);
    }
    const label = committed.paths['/v1/agents/label'].post as Json;
    const reply = await s.post('/v1/agents/label', label.requestBody.content['application/json'].example);
    expect(reply.body).toEqual({ ...label.responses['200'].content['application/json'].example, guard_digest: ANY_DIGEST });
  });
});
