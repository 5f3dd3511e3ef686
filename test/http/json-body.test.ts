/** The request body parser in a Fastify app, held to the depth-scan-first parser it replaced. */
import Fastify, { type FastifyInstance } from 'fastify';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { scanText, walkValue } from '../../src/difc/json-nesting.js';
import { WORKER_CHECK_MIN_BYTES } from '../../src/decision/decision-service.js';
import { takeBodyBytes, useJsonBodyParser } from '../../src/http/json-body.js';
import { useReferenceJsonBodyParser } from '../support/json-readers.reference.js';
import { jsonText } from '../support/json-texts.js';

/** An app that answers a parsed body with its JSON, and a refused one with Fastify's error reply. */
function echo(install: (app: FastifyInstance, maxDepth: number) => void, maxDepth: number): FastifyInstance {
  const app = Fastify();
  install(app, maxDepth);
  app.post('/', async (request, reply) => reply.type('application/json').send(JSON.stringify({ body: request.body })));
  return app;
}

const apps = new Map<string, FastifyInstance>();
function appFor(kind: 'now' | 'before', maxDepth: number): FastifyInstance {
  const key = `${kind} ${maxDepth}`;
  let app = apps.get(key);
  if (!app) apps.set(key, (app = echo(kind === 'now' ? useJsonBodyParser : useReferenceJsonBodyParser, maxDepth)));
  return app;
}
afterAll(async () => {
  for (const app of apps.values()) await app.close();
});

async function post(app: FastifyInstance, text: string, contentType = 'application/json') {
  const reply = await app.inject({ method: 'POST', url: '/', headers: { 'content-type': contentType }, payload: text });
  return { status: reply.statusCode, body: reply.body };
}

describe('useJsonBodyParser', () => {
  it('answers every body as the depth-scan-first parser did, but for a deep member a duplicate key replaced', async () => {
    await fc.assert(
      fc.asyncProperty(jsonText, async ({ text, limit }) => {
        const now = await post(appFor('now', limit), text);
        const before = await post(appFor('before', limit), text);
        if (before.status === 400 && before.body.includes('WG_ERR_JSON_TOO_DEEP') && now.status === 200) {
          // The one change (README, request limits): the text nests too deep, the body as parsed does not.
          expect(scanText(text, limit).tooDeep).toBe(true);
          expect(walkValue(JSON.parse(text), limit).tooDeep).toBe(false);
          return;
        }
        expect(now).toEqual(before);
      }),
      { numRuns: 1000 },
    );
  });

  it.each([
    ['not JSON', '{"a": ', 'WG_ERR_INVALID_JSON', 'request body is not valid JSON: '],
    ['empty', '', 'FST_ERR_CTP_EMPTY_JSON_BODY', "Body cannot be empty when content-type is set to 'application/json'"],
    ['__proto__', '{"a": [{"__proto__": {"x": 1}}]}', 'WG_ERR_INVALID_JSON', 'request body has a "__proto__" or "constructor.prototype" key, which is not allowed'],
    ['constructor.prototype', '{"constructor": {"prototype": {}}}', 'WG_ERR_INVALID_JSON', '"constructor.prototype" key'],
    ['too deep', '[[[[[]]]]]', 'WG_ERR_JSON_TOO_DEEP', 'request body JSON is nested deeper than the limit of 4 levels'],
    ['too deep and not JSON', '[[[[[', 'WG_ERR_JSON_TOO_DEEP', 'nested deeper than the limit of 4 levels'],
    ['too deep with __proto__', '{"__proto__": [[[[]]]]}', 'WG_ERR_JSON_TOO_DEEP', 'nested deeper'],
  ])('refuses a body that is %s, with code and message', async (_, text, code, message) => {
    const reply = await post(appFor('now', 4), text);
    expect(reply.status).toBe(400);
    const body = JSON.parse(reply.body) as { code: string; message: string };
    expect(body.code).toBe(code);
    expect(body.message).toContain(message);
  });

  it.each([
    ['nesting at the limit', '[[[["x"]]]]', [[[['x']]]]],
    ['brackets in strings', '{"a": "[[[[[[[["}', { a: '[[[[[[[[' }],
    ['constructor as a plain key', '{"constructor": "fine", "b": {"constructor": {"x": 1}}}', { constructor: 'fine', b: { constructor: { x: 1 } } }],
    ['a byte order mark', '\uFEFF{"a": 1}', { a: 1 }],
    ['a scalar', '7', 7],
    // The depth limit applies to the body as parsed: a deeper member a later duplicate key replaced is gone (README, request limits).
    ['a too-deep member a later duplicate key replaced', '{"k": [[[[[]]]]], "k": 1}', { k: 1 }],
  ])('accepts %s', async (_, text, value) => {
    const reply = await post(appFor('now', 4), text);
    expect(reply.status, reply.body).toBe(200);
    expect(JSON.parse(reply.body)).toEqual({ body: value });
  });

  it('keeps the bytes of a body only when the response check could hand them to a worker, and hands them over once', async () => {
    const app = Fastify();
    useJsonBodyParser(app, 4);
    app.post('/', async (request) => {
      const kept = takeBodyBytes(request.body)?.toString('utf8') ?? null;
      if (kept !== null && takeBodyBytes(request.body) !== undefined) throw new Error('the bytes were handed over twice');
      return { kept };
    });
    const small = JSON.stringify({ pad: 'x'.repeat(WORKER_CHECK_MIN_BYTES - 20) });
    const large = JSON.stringify({ pad: `é€😀${'x'.repeat(WORKER_CHECK_MIN_BYTES)}` });
    expect(small.length).toBeLessThan(WORKER_CHECK_MIN_BYTES);
    try {
      expect((await post(app, small)).body).toBe(JSON.stringify({ kept: null }));
      expect((await post(app, large)).body).toBe(JSON.stringify({ kept: large }));
    } finally {
      await app.close();
    }
  });

  it('refuses other content types with 415', async () => {
    expect((await post(appFor('now', 4), '{}', 'text/plain')).status).toBe(415);
  });

  it.each(['gzip', 'br', 'deflate, gzip'])('refuses a body with content-encoding %s with 415, saying what to do', async (encoding) => {
    const reply = await appFor('now', 4).inject({ method: 'POST', url: '/', headers: { 'content-type': 'application/json', 'content-encoding': encoding }, payload: '{}' });
    expect(reply.statusCode).toBe(415);
    expect(reply.json()).toMatchObject({ code: 'WG_ERR_UNSUPPORTED_MEDIA_TYPE', message: expect.stringContaining('send it uncompressed') });
  });

  it('reads a body whose content-encoding is identity', async () => {
    const reply = await appFor('now', 4).inject({ method: 'POST', url: '/', headers: { 'content-type': 'application/json', 'content-encoding': ' Identity' }, payload: '{"a":1}' });
    expect(reply.statusCode).toBe(200);
    expect(reply.json()).toEqual({ body: { a: 1 } });
  });
});
