/**
 * The response check run whole in the guard's worker (src/guard/response-job.ts) against the
 * same check on the main thread, on real guards in real pools: the same decision, result, filtered
 * parts, labels and agent labels for random tool results and label sets, the same reply JSON, and
 * the same errors when the guard's labels do not fit or its output is not JSON or it traps.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BodyJson } from '../../src/decision/body-json.js';
import { DecisionService, WORKER_CHECK_MIN_BYTES, type EvaluateResponseRequest, type EvaluatedResponse } from '../../src/decision/decision-service.js';
import { filteredCount, serialisedReply } from '../../src/decision/serialised-response.js';
import { CompilationCache } from '../../src/guard/index.js';
import { encodeResponseJob, resultOfJob, type ResponseJob } from '../../src/guard/response-job.js';
import { GuardRegistry } from '../../src/runtime/guard-registry.js';
import { constOutput, guardModule } from '../support/guards.js';
import { STATIC_GUARD } from '../support/server.js';
import { wat } from '../support/wat.js';

let cache: CompilationCache;
let registry: GuardRegistry;
let decisions: DecisionService;
let dir: string;
const durations: Array<{ guard: string; fn: string; seconds: number }> = [];

/** A guard whose label_response always answers `text`. */
const answering = async (text: string) => {
  const response = constOutput('label_response', text, 8192);
  return wat(guardModule({ response: response.func, extra: response.data }));
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wg-job-'));
  const file = (name: string, bytes: Uint8Array) => {
    writeFileSync(join(dir, name), bytes);
    return join(dir, name);
  };
  const guards = {
    outside: file('outside.wasm', await answering('{"labeled_paths":[{"path":"/9","labels":{"secrecy":["s"],"integrity":[]}}]}')),
    notjson: file('notjson.wasm', await answering('{"labeled_paths":[')),
    traps: file('traps.wasm', await wat(guardModule({ response: '(func (export "label_response") (param i32 i32 i32 i32) (result i32) unreachable)' }))),
    // label_response answers "no labels" at once, whatever its input.
    quick: file('quick.wasm', await answering('')),
  };
  cache = new CompilationCache();
  const entry = (name: string, path: string) => ({ name, path, poolSize: 1, timeoutMs: 5000, memoryLimitMb: 32 });
  // A small channel: 2 × the 2 MiB output limit + 1 MiB, of which a reply may take half.
  const tight = { ...entry('tight', STATIC_GUARD), limits: { maxInputBytes: 512 * 1024, maxOutputBytes: 2 * 1024 * 1024, initialOutputBytes: 2 * 1024 * 1024 } };
  registry = await GuardRegistry.load(
    [entry('static', STATIC_GUARD), tight, ...Object.entries(guards).map(([name, path]) => entry(name, path))],
    cache,
    { logger: pino({ level: 'silent' }), logLevel: 'silent', observer: { callDuration: (guard, fn, seconds) => durations.push({ guard, fn, seconds }) } },
  );
  decisions = new DecisionService(registry, 'strict');
});
afterAll(async () => {
  await registry?.close(0);
  await cache?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Both ways: on the main thread (no body text), and in the worker (the body's text, as the HTTP route passes it). */
/** Arguments that take the body past the size from which the check runs in the worker (the guards here ignore them). */
const padded = <T extends { args?: unknown }>(request: T): T => ({ ...request, args: { pad: 'x'.repeat(WORKER_CHECK_MIN_BYTES) } });

/** A request as the HTTP route passes a large body: its fields, and the result only as the body's text. */
function asBody(text: string): EvaluateResponseRequest {
  const body = JSON.parse(text) as EvaluateResponseRequest;
  return { ...body, result: undefined, bodyJson: new BodyJson(Buffer.from(text), body) };
}

async function bothWays(given: EvaluateResponseRequest): Promise<{ main: EvaluatedResponse; worker: EvaluatedResponse }> {
  // As a request body arrives: what JSON can say, nothing more.
  const text = JSON.stringify(padded(given));
  const request = JSON.parse(text) as EvaluateResponseRequest;
  const main = await decisions.evaluateResponse(request);
  const worker = await decisions.evaluateResponse(asBody(text));
  return { main, worker };
}

type CodedError = Error & { code: string };
/** The error a check fails with (it must fail). */
const failure = (pending: Promise<unknown>) =>
  pending.then(
    () => {
      throw new Error('the check did not fail');
    },
    (error: unknown) => error as CodedError,
  );

/** What a reply says, less the id each decision gets. */
const said = ({ decision_id: _id, ...rest }: EvaluatedResponse) => JSON.parse(JSON.stringify(rest)) as unknown;

const tag = fc.constantFrom('a', 'b', 'c', 'd');
const labels = fc.record({ secrecy: fc.uniqueArray(tag, { maxLength: 3 }), integrity: fc.uniqueArray(tag, { maxLength: 3 }) });
const item = fc.record(
  // Some titles hold any UTF-16 units, lone surrogates included (such a text is opaque, and travels as the body).
  { title: fc.oneof(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12, unit: 'binary' })), n: fc.integer(), _labels: labels, extra: fc.dictionary(fc.constantFrom('x', 'y'), fc.string({ maxLength: 4 })) },
  { requiredKeys: ['title', 'n'] },
);
/** A result of items: a root array or {"items": [...]} with a sibling, as MCP text (pretty or not, mirrored or not) or as plain JSON. */
const result = fc
  .record({
    items: fc.array(item, { maxLength: 8 }),
    wrapped: fc.boolean(),
    form: fc.constantFrom('text', 'pretty', 'mirrored', 'plain', 'opaque'),
  })
  .map(({ items, wrapped, form }) => {
    const doc = wrapped ? { total: items.length, items } : items;
    if (form === 'plain') return doc;
    if (form === 'opaque') return { content: [{ type: 'text', text: `{"a":1,"a":2} ${items.length}` }] };
    const text = JSON.stringify(doc, null, form === 'pretty' ? 2 : undefined);
    return form === 'mirrored' ? { content: [{ type: 'text', text }], structuredContent: doc } : { content: [{ type: 'text', text }] };
  });

describe("the job's input", () => {
  const job: ResponseJob = { guard: 'g', tool: 't', resource: { secrecy: [], integrity: [] }, agent: { secrecy: [], integrity: [] }, operation: 'read', mode: 'filter' };
  /** The input for a body as it arrives: its bytes, and the result the event loop parsed from them. */
  const encoded = (bytes: Buffer) => encodeResponseJob(job, bytes, (JSON.parse(bytes.toString('utf8')) as { result: unknown }).result);
  const form = ([line]: readonly [string, Buffer]) => ((JSON.parse(line) as ResponseJob).text ? 'text apart' : 'body');
  const mcp = (text: string, extra: object = {}) => ({ content: [{ type: 'image', data: 'x' }, { type: 'text', text, annotations: { n: 1 } }, { type: 'text', text: 'second' }], ...extra });

  it('reads back the result the event loop parsed, in either form', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary' }).map((text) => mcp(text)),
          fc.string({ unit: 'grapheme' }).map((text) => mcp(text, { structuredContent: { text }, isError: false })),
          fc.jsonValue(),
        ),
        (result) => {
          const bytes = Buffer.from(JSON.stringify({ guard: 'g', result }));
          const parsed = (JSON.parse(bytes.toString('utf8')) as { result: unknown }).result;
          expect(resultOfJob(encoded(bytes))).toEqual(parsed);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("writes an MCP text result's text apart, unescaped, over the body's bytes", () => {
    const text = JSON.stringify([{ title: 'é "quoted" \\ \n 𝄞' }]);
    const bytes = Buffer.from(JSON.stringify({ guard: 'g', result: mcp(text) }));
    const input = encoded(bytes);
    expect(form(input)).toBe('text apart');
    expect(input[1].buffer).toBe(bytes.buffer);
    expect(input[1].subarray(0, Buffer.byteLength(text)).toString('utf8')).toBe(text);
    expect(JSON.parse(input[0])).toMatchObject({ text: { block: 1, bytes: Buffer.byteLength(text) } });
    expect(resultOfJob(input)).toEqual(mcp(text));
  });

  it('sends the body as it is for a result that is not MCP text, a text that is not well-formed, or one that would not fit', () => {
    expect(form(encoded(Buffer.from(JSON.stringify({ result: [{ a: 1 }] }))))).toBe('body');
    expect(form(encoded(Buffer.from(JSON.stringify({ result: { content: [{ type: 'image', data: 'x' }] } }))))).toBe('body');
    expect(form(encoded(Buffer.from(JSON.stringify({ result: mcp('lone \ud800 surrogate') }))))).toBe('body');
    // 64 bytes that are not UTF-8 decode to 64 U+FFFD, 192 bytes of UTF-8: more than the body held.
    const invalid = Buffer.concat([Buffer.from('{"result":{"content":[{"type":"text","text":"'), Buffer.alloc(64, 0xff), Buffer.from('"}]}}')]);
    const input = encoded(Buffer.from(invalid));
    expect(form(input)).toBe('body');
    expect(resultOfJob(input)).toEqual({ content: [{ type: 'text', text: '\ufffd'.repeat(64) }] });
  });
});

describe('the response check in the worker, against the same check on the main thread', () => {
  it('decides, filters, labels and moves the agent the same, and writes the same reply', async () => {
    await fc.assert(
      fc.asyncProperty(result, labels, labels, fc.constantFrom('strict', 'filter', 'propagate'), async (res, agent, resource, mode) => {
        const request = { guard: 'static', tool: 'list', result: res, agent, resource, operation: 'read' as const, mode };
        const { main, worker } = await bothWays(request);
        expect(serialisedReply(worker), 'checked in the worker').toBeDefined();
        expect(said(worker)).toEqual(said(main));
        expect(filteredCount(worker)).toBe(main.filtered.length);
        // The route's reply: the worker's members written as they came, the rest from the object.
        const reply = JSON.parse(serialisedReply(worker)!.json.toString()) as EvaluatedResponse;
        expect(said(reply)).toEqual(said(main));
        expect(serialisedReply(main)).toBeUndefined();
      }),
      { numRuns: 60 },
    );
  });

  it('takes the body bytes for the worker, which lets go of the result parsed on the event loop', async () => {
    const request = { guard: 'static', tool: 'list', args: {}, result: [{ _labels: { secrecy: ['a'], integrity: [] } }], agent: { secrecy: ['a'], integrity: [] }, resource: { secrecy: [], integrity: [] }, operation: 'read' as const, mode: 'filter' as const };
    const text = JSON.stringify(padded(request));
    const body = JSON.parse(text) as EvaluateResponseRequest;
    const bodyJson = new BodyJson(Buffer.from(text), body);
    const checked = await decisions.evaluateResponse({ ...body, result: undefined, bodyJson });
    expect(serialisedReply(checked), 'checked in the worker').toBeDefined();
    expect(checked.result).toEqual([{ _labels: { secrecy: ['a'], integrity: [] } }]);
    expect(body.result).toBeUndefined();
    expect(bodyJson.byteLength).toBe(0);
    expect(() => bodyJson.take()).toThrow(/taken already/);
  });

  it('checks a body under WORKER_CHECK_MIN_BYTES on the main thread, where handing it over would cost more', async () => {
    const request = { guard: 'static', tool: 'list', result: [{ _labels: { secrecy: ['a'], integrity: [] } }], agent: { secrecy: [], integrity: [] }, resource: { secrecy: [], integrity: [] }, operation: 'read' as const, mode: 'filter' as const };
    const small = await decisions.evaluateResponse(asBody(JSON.stringify(request)));
    expect(serialisedReply(small)).toBeUndefined();
    expect(small).toMatchObject({ decision: 'allow', filtered: [{ path: '/0' }] });
  });

  // The job's input holds the body's bytes (plain JSON) or the text apart (MCP text): either is read back here.
  it.each(['plain JSON', 'MCP text'])("checks on the main thread, on the guard's one answer, a result whose reply would not fit in the worker's channel (%s)", async (form) => {
    // 12,000 items of 29 bytes, each withheld: a body of 350 KB (430 KB as MCP text, within the 512 KB
    // input limit) and megabytes of reply, over the half of the channel a reply may take.
    const items = Array.from({ length: 12_000 }, () => ({ _labels: { secrecy: ['a'] } }));
    const result = form === 'plain JSON' ? items : { content: [{ type: 'text', text: JSON.stringify(items) }] };
    const request = { guard: 'tight', tool: 'list', result, agent: { secrecy: [], integrity: [] }, resource: { secrecy: [], integrity: [] }, operation: 'read' as const, mode: 'filter' as const };
    const main = await decisions.evaluateResponse(request);
    const calls = vi.spyOn(registry.get('tight')!.pool, 'call');
    const fallen = await decisions.evaluateResponse(asBody(JSON.stringify(request)));
    // Sent to the worker as a job, whose reply came back too large: checked here on the guard's labels it sent back, with no second call.
    expect(calls.mock.calls.map(([call]) => [call.fn, call.job ?? false])).toEqual([['label_response', true]]);
    calls.mockRestore();
    expect(serialisedReply(fallen)).toBeUndefined();
    expect(fallen.filtered).toHaveLength(12_000);
    expect(said(fallen)).toEqual(said(main));
  });

  it("reports the guard call's duration, not the job's parsing and judging around it", async () => {
    // 4 MB of arguments: parsing the body and building the guard input take milliseconds; the guard answers at once.
    const request = { guard: 'quick', tool: 't', args: { pad: 'x'.repeat(4_000_000) }, result: [1, 2], agent: { secrecy: [], integrity: [] }, resource: { secrecy: [], integrity: [] }, operation: 'read' as const, mode: 'filter' as const };
    const body = asBody(JSON.stringify(request));
    durations.length = 0;
    const started = performance.now();
    const checked = await decisions.evaluateResponse(body);
    const wallMs = performance.now() - started;
    expect(serialisedReply(checked)).toBeDefined();
    const reported = durations.filter((d) => d.guard === 'quick' && d.fn === 'label_response');
    expect(reported).toHaveLength(1);
    expect(reported[0]!.seconds * 1000, `of ${wallMs.toFixed(1)} ms in all`).toBeLessThan(wallMs / 3);
  });

  it('lets go of the reply\'s memory once sent: the members cannot be read from memory another reply may now hold', async () => {
    const request = { guard: 'static', tool: 'list', args: {}, result: [{ _labels: { secrecy: ['a'], integrity: [] } }], agent: { secrecy: ['a'], integrity: [] }, resource: { secrecy: [], integrity: [] }, operation: 'read' as const, mode: 'filter' as const };
    const checked = await decisions.evaluateResponse(asBody(JSON.stringify(padded(request))));
    const sent = serialisedReply(checked)!;
    expect(JSON.parse(sent.json.toString())).toMatchObject({ decision: 'allow', filtered: [] });
    sent.release();
    expect(() => checked.result).toThrow(/read after its memory was released/);
  });

  it('writes what a session merged into the agent labels after the check', async () => {
    const request = { guard: 'static', tool: 'list', result: [{ _labels: { secrecy: ['a'], integrity: [] } }], agent: { secrecy: [], integrity: [] }, resource: { secrecy: [], integrity: [] }, operation: 'read' as const, mode: 'propagate' as const };
    const { worker } = await bothWays(request);
    worker.agent = { secrecy: ['a', 'z'], integrity: [] };
    expect(JSON.parse(serialisedReply(worker)!.json.toString()).agent).toEqual({ secrecy: ['a', 'z'], integrity: [] });
  });

  it('fails the same way when the labels do not fit the result, or the output is not JSON; the instance keeps serving', async () => {
    for (const guard of ['outside', 'notjson']) {
      const request = { guard, tool: 't', args: { pad: 'x'.repeat(WORKER_CHECK_MIN_BYTES) }, result: [1, 2], agent: { secrecy: [], integrity: [] }, resource: { secrecy: [], integrity: [] }, operation: 'read' as const, mode: 'filter' as const };
      const main = await failure(decisions.evaluateResponse(request));
      const worker = await failure(decisions.evaluateResponse(asBody(JSON.stringify(request))));
      expect(worker.constructor).toBe(main.constructor);
      expect({ code: worker.code, message: worker.message }).toEqual({ code: main.code, message: main.message });
      expect(registry.get(guard)!.pool.state().evictions).toEqual({});
    }
  });

  it('a guard that traps in label_response fails the check the same way, and its instance is replaced', async () => {
    const request = { guard: 'traps', tool: 't', args: { pad: 'x'.repeat(WORKER_CHECK_MIN_BYTES) }, result: [1], agent: { secrecy: [], integrity: [] }, resource: { secrecy: [], integrity: [] }, operation: 'read' as const, mode: 'filter' as const };
    const main = await failure(decisions.evaluateResponse(request));
    const worker = await failure(decisions.evaluateResponse(asBody(JSON.stringify(request))));
    expect(worker.code).toBe(main.code);
    expect(worker.code).toBe('WG_ERR_GUARD_TRAP');
    expect(registry.get('traps')!.pool.state().evictions).toMatchObject({ trap: 2 });
  });
});
