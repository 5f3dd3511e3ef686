import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluate } from '../../src/difc/flow.js';
import { formatPointer, type JsonPointer } from '../../src/difc/json-pointer.js';
import { Labels } from '../../src/difc/labels.js';
import { labelResponse } from '../../src/difc/response.js';
import type { Part } from '../../src/difc/response-parts.js';
import { judgeEachPart, judgeParts } from '../../src/difc/verdicts.js';
import type { LabelsJson, Mode, ResponseLabelling } from '../../src/difc/types.js';
import { labelsJson } from './arbitraries.js';

/**
 * Complete mediation as a property (docs/contract.md §1): for any result and
 * any labelling, every piece of data in the reply passes the read rule for
 * the agent (filter, strict), and in propagate mode the agent afterwards
 * passes it for everything it received. Every leaf of a generated result is
 * a unique token, so a token found anywhere in the reply (inside re-serialised
 * MCP text too) can be traced to the labels that apply to it: the labels of
 * every labelled pointer above or at it, or, where none is, the default
 * labels (inside the collection) or the resource labels (anywhere else).
 */

type Json = null | string | Json[] | { [key: string]: Json };

const shape: fc.Arbitrary<Json> = fc.letrec<{ node: Json; leaf: Json; arr: Json; obj: Json }>((tie) => ({
  node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, tie('leaf'), tie('arr'), tie('obj')),
  leaf: fc.constant('x'),
  arr: fc.array(tie('node'), { maxLength: 4 }),
  obj: fc.dictionary(fc.constantFrom('a', 'b', 'items', 'note'), tie('node'), { maxKeys: 4 }),
})).node;

/** Replaces every string leaf with a token unique across the whole scenario. */
function tokenise(value: Json, next: () => string): Json {
  if (typeof value === 'string') return next();
  if (Array.isArray(value)) return value.map((v) => tokenise(v, next));
  if (value === null) return null;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, tokenise(v, next)]));
}

function pointers(value: Json, at: string[] = [], out: string[][] = []): string[][] {
  out.push(at);
  if (Array.isArray(value)) value.forEach((v, i) => pointers(v, [...at, String(i)], out));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) pointers(v, [...at, k], out);
  return out;
}

const resolve = (value: Json, at: JsonPointer): Json => at.reduce<Json>((v, t) => (Array.isArray(v) ? v[Number(t)]! : (v as Record<string, Json>)[t]!), value);
const isPrefix = (p: JsonPointer, q: JsonPointer) => p.length <= q.length && p.every((t, i) => t === q[i]);

interface Envelope {
  extraText: Json | undefined;
  image: boolean;
  structured: 'none' | 'mirror' | 'other';
  meta: Json | undefined;
  blockField: Json | undefined;
  isError: boolean;
}

const envelopeArb: fc.Arbitrary<Envelope | undefined> = fc.option(
  fc.record({
    extraText: fc.option(shape, { nil: undefined }),
    image: fc.boolean(),
    structured: fc.constantFrom('none' as const, 'mirror' as const, 'other' as const),
    meta: fc.option(shape, { nil: undefined }),
    blockField: fc.option(shape, { nil: undefined }),
    isError: fc.boolean(),
  }),
  { nil: undefined },
);

const scenarioArb = fc
  .record({ document: shape, envelope: envelopeArb, resource: labelsJson, agent: labelsJson, defaults: fc.option(labelsJson, { nil: undefined }) })
  .chain((base) => {
    let n = 0;
    const next = () => `t${n++}`;
    const document = tokenise(base.document, next);
    const all = pointers(document);
    const arrays = all.filter((p) => Array.isArray(resolve(document, p)));
    return fc.record({
      base: fc.constant({ ...base, document }),
      labelled: fc.array(fc.tuple(fc.constantFrom(...all), labelsJson), { maxLength: 5 }),
      itemsPath: arrays.length > 0 ? fc.option(fc.constantFrom(...arrays), { nil: undefined }) : fc.constant(undefined),
      extras: fc.constant(null).map(() => ({ next })),
    });
  });

type Scenario = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never;

interface Built {
  result: unknown;
  labelling: ResponseLabelling;
  /** Labels that apply to each token. */
  required: Map<string, LabelsJson>;
}

function build(s: Scenario): Built {
  const { document, envelope, resource, defaults } = s.base;
  const labelling: ResponseLabelling = {
    kind: 'paths',
    labeledPaths: s.labelled.map(([path, labels]) => ({ path: formatPointer(path), labels })),
  };
  if (s.itemsPath) labelling.itemsPath = formatPointer(s.itemsPath);
  if (defaults) labelling.defaultLabels = defaults;

  const required = new Map<string, LabelsJson>();
  const collection = s.itemsPath ?? (Array.isArray(document) ? [] : undefined);
  for (const at of pointers(document)) {
    const value = resolve(document, at);
    if (typeof value !== 'string') continue;
    const applying = s.labelled.filter(([p]) => isPrefix(p, at)).map(([, l]) => Labels.of(l));
    const inItem = collection !== undefined && at.length > collection.length && isPrefix(collection, at);
    const single = collection === undefined;
    const fallback = Labels.of(inItem || single ? (defaults ?? resource) : resource);
    const labels = applying.length > 0 ? applying.reduce((a, b) => a.combine(b)) : fallback;
    required.set(value, labels.toLabelsJson());
  }
  if (!envelope) return { result: document, labelling, required };

  // Everything outside the document carries the resource labels.
  const outside = (value: Json | undefined): Json | undefined => {
    if (value === undefined) return undefined;
    const tokenised = tokenise(value, s.extras.next);
    for (const at of pointers(tokenised)) {
      const v = resolve(tokenised, at);
      if (typeof v === 'string') required.set(v, resource);
    }
    return tokenised;
  };
  const content: unknown[] = [];
  if (envelope.image) content.push({ type: 'image', data: outside('x'), mimeType: 'image/png' });
  const block: Record<string, unknown> = { type: 'text', text: JSON.stringify(document) };
  const blockField = outside(envelope.blockField);
  if (blockField !== undefined) block.annotations = blockField;
  content.push(block);
  const extra = outside(envelope.extraText);
  if (extra !== undefined) content.push({ type: 'text', text: JSON.stringify(extra) });
  const result: Record<string, unknown> = { content, isError: envelope.isError };
  if (envelope.structured === 'mirror') result.structuredContent = document;
  // Not a mirror: its tokens must never reach the agent, whatever the labels.
  if (envelope.structured === 'other') result.structuredContent = outside({ a: 'x', b: ['x'] });
  if (envelope.structured === 'other') for (const t of tokensIn(result.structuredContent)) required.set(t, { secrecy: ['never'], integrity: [] });
  const meta = outside(envelope.meta);
  if (meta !== undefined) result._meta = meta;
  return { result, labelling, required };
}

/** Tokens anywhere in a reply, including inside JSON text blocks. */
function tokensIn(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') {
    if (/^t\d+$/.test(value)) out.push(value);
    else if (value.startsWith('{') || value.startsWith('[') || value.startsWith('"')) {
      try {
        tokensIn(JSON.parse(value), out);
      } catch {
        // prose: no tokens
      }
    }
  } else if (Array.isArray(value)) for (const v of value) tokensIn(v, out);
  else if (value !== null && typeof value === 'object') for (const v of Object.values(value)) tokensIn(v, out);
  return out;
}

const readable = (agent: LabelsJson, labels: LabelsJson) => evaluate({ agent, resource: labels, operation: 'read' }).decision === 'allow';

function run(s: Scenario, mode: Mode) {
  const built = build(s);
  const out = labelResponse({ result: built.result, labelling: built.labelling, resource: s.base.resource, agent: s.base.agent, operation: 'read', mode });
  return { built, out };
}

describe('complete mediation over random results and labellings', () => {
  it('filter and strict: nothing in the reply fails the read rule for the agent', () => {
    fc.assert(
      fc.property(scenarioArb, fc.constantFrom('filter' as const, 'strict' as const), (s, mode) => {
        const { built, out } = run(s, mode);
        if (out.decision === 'deny') {
          expect(out.result).toBeNull();
          return;
        }
        for (const token of tokensIn(out.result)) {
          const labels = built.required.get(token);
          expect(labels, `token ${token} came from nowhere`).toBeDefined();
          expect(readable(s.base.agent, labels!), `token ${token} shown against ${JSON.stringify(labels)}`).toBe(true);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('propagate: the agent afterwards may read everything it received, and its labels only moved restrictively', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const { built, out } = run(s, 'propagate');
        expect(out.decision).toBe('allow');
        for (const token of tokensIn(out.result)) {
          const labels = built.required.get(token);
          expect(labels).toBeDefined();
          expect(readable(out.agent, labels!), `token ${token} received against ${JSON.stringify(labels)}`).toBe(true);
        }
        expect(s.base.agent.secrecy.every((t) => out.agent.secrecy.includes(t))).toBe(true);
        expect(out.agent.integrity.every((t) => s.base.agent.integrity.includes(t))).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  it('strict allows exactly when filter withholds nothing, both judge the same parts', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const strict = run(s, 'strict').out;
        const filter = run(s, 'filter').out;
        expect(strict.decision === 'allow').toBe(filter.filtered.length === 0 && filter.decision === 'allow');
      }),
      { numRuns: 200 },
    );
  });
});

describe('shared verdicts per label set (the fast path) against one evaluation per part', () => {
  it('gives the same filtered result, filtered entries, part labels and agent labels in every mode', () => {
    fc.assert(
      fc.property(scenarioArb, fc.constantFrom('filter' as const, 'strict' as const, 'propagate' as const), (s, mode) => {
        const built = build(s);
        const input = { result: built.result, labelling: built.labelling, resource: s.base.resource, agent: s.base.agent, operation: 'read' as const, mode };
        expect(labelResponse(input)).toEqual(labelResponse(input, judgeEachPart));
      }),
      { numRuns: 400 },
    );
  });

  it('agrees part by part on lists whose items share a few random label sets', () => {
    const part = (i: number, labels: LabelsJson | (LabelsJson & { description: string }) | null): Part => ({
      path: `/${i}`,
      tokens: [String(i)],
      space: 'document',
      kind: 'item',
      source: 'labeled',
      labels: labels ? Labels.of(labels) : null,
    });
    fc.assert(
      fc.property(
        labelsJson,
        fc.array(labelsJson, { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 60 }),
        fc.option(fc.constantFrom('issue', ' ', 'item described'), { nil: undefined }),
        (agentJson, sets, picks, description) => {
          const agent = Labels.of(agentJson);
          const resource = Labels.of({ ...sets[0]!, description: 'repo' });
          const parts = picks.map((n, i) => {
            const set = sets[n % sets.length]!;
            // Every fifth part unlabelled; some carry a description of their own.
            return part(i, n % 5 === 4 ? null : description === undefined ? set : { ...set, description });
          });
          expect(judgeParts(parts, agent, resource)).toEqual(judgeEachPart(parts, agent, resource));
        },
      ),
      { numRuns: 300 },
    );
  });
});
