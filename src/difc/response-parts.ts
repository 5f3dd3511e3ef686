import { JsonPointerError, ResponseLabelError } from './errors.js';
import { formatPointer, isPrefix, parsePointer, resolvePointer, type JsonPointer } from './json-pointer.js';
import { Labels } from './labels.js';
import { isObject, jsonEqual, type PreparedResult } from './mcp.js';
import type { ResponseLabelling } from './types.js';

/**
 * Cuts a tool result into the parts the response check judges, so that every
 * byte the agent may receive belongs to exactly one judged part: collection
 * items, the fields around the collection, every MCP content block, the
 * block's own fields, structuredContent, _meta and any other envelope field.
 * Parts the guard labelled carry its labels; the rest carry the resource
 * labels. A part that can be labelled neither way (structuredContent that
 * does not mirror the labelled text) carries none and is never shown.
 */

/** item: member of the collection. result: a single, whole result. envelope: anything else. */
export type PartKind = 'item' | 'result' | 'envelope';
/** Where a part's labels came from. */
export type LabelSource = 'labeled' | 'default' | 'resource';
/** Which value a part's pointer applies to: the JSON of the first MCP text block, or the result itself. */
export type PartSpace = 'document' | 'result';

export interface Part {
  /** Reported pointer: into the MCP text's JSON for document parts, into the result otherwise. */
  path: string;
  tokens: JsonPointer;
  space: PartSpace;
  kind: PartKind;
  source: LabelSource;
  /** null: nothing labels it, so it is withheld in every mode. */
  labels: Labels | null;
}

export interface Layout {
  parts: Part[];
  /** Legacy `items` form: the reply is the kept items' data, nothing else. */
  legacy?: Array<{ data: unknown }>;
  /** structuredContent mirrors the document: it is rebuilt from the filtered document. */
  mirror: boolean;
}

interface Labelled {
  path: string;
  tokens: JsonPointer;
  labels: Labels;
}

const fieldOf = (i: number) => `labeled_paths[${i}].path`;

/** MCP envelope members a guard may label when there is no JSON text to label. */
const MCP_MEMBERS: ReadonlySet<string> = new Set(['content', 'structuredContent', '_meta']);

function labelError(error: unknown, path: string, field: string): never {
  if (error instanceof JsonPointerError) {
    throw new ResponseLabelError(`label_response ${field} ${JSON.stringify(path)}: ${error.message}`, path, field, error.problem, { cause: error });
  }
  throw error;
}

function pointerIn(document: unknown, path: string, field: string): JsonPointer {
  try {
    const tokens = parsePointer(path);
    resolvePointer(document, tokens);
    return tokens;
  } catch (error) {
    return labelError(error, path, field);
  }
}

const combineAll = (labels: readonly Labels[]): Labels | undefined => (labels.length === 0 ? undefined : labels.reduce((a, b) => a.combine(b)));

/** Labels of a subtree at `at`: its own label (else `base`), made stricter by every label inside it and above it. */
function subtreeLabels(at: JsonPointer, labelled: readonly Labelled[], base: Labels, above: Labels | undefined): { labels: Labels; labelled: boolean } {
  let own: Labels | undefined;
  let inner: Labels | undefined;
  for (const l of labelled) {
    if (l.tokens.length === at.length && isPrefix(at, l.tokens)) own = own ? own.combine(l.labels) : l.labels;
    else if (l.tokens.length > at.length && isPrefix(at, l.tokens)) inner = inner ? inner.combine(l.labels) : l.labels;
  }
  let labels = own ?? base;
  if (inner) labels = labels.combine(inner);
  if (above) labels = labels.combine(above);
  return { labels, labelled: own !== undefined || inner !== undefined || above !== undefined };
}

/** Parts of a labelled value (the MCP text's JSON, or a plain result) under paths-form labels. */
function documentParts(
  document: unknown,
  space: PartSpace,
  labelling: Extract<ResponseLabelling, { kind: 'paths' }> | undefined,
  resource: Labels,
): Part[] {
  const labelled: Labelled[] = (labelling?.labeledPaths ?? []).map((entry, i) => ({
    path: entry.path,
    tokens: pointerIn(document, entry.path, fieldOf(i)),
    labels: Labels.of(entry.labels),
  }));
  const itemBase = labelling?.defaultLabels ? Labels.of(labelling.defaultLabels) : resource;
  const itemSource: LabelSource = labelling?.defaultLabels ? 'default' : 'resource';

  let collection: JsonPointer | undefined;
  if (labelling?.itemsPath !== undefined) {
    collection = pointerIn(document, labelling.itemsPath, 'items_path');
    const value = resolvePointer(document, collection);
    if (!Array.isArray(value)) {
      throw new ResponseLabelError(
        `label_response items_path ${JSON.stringify(labelling.itemsPath)} points to ${value === null ? 'null' : typeof value}, not an array`,
        labelling.itemsPath,
        'items_path',
        'not-array',
      );
    }
  } else if (labelling && Array.isArray(document)) {
    // Go guards serialise items_path "" with omitempty, i.e. not at all: a
    // root array with no items_path is the root collection.
    collection = [];
  }

  if (collection === undefined) {
    // A single result is shown whole: its label is the "" label (else the
    // default), made more restrictive by every part labelled inside it.
    const { labels, labelled: any } = subtreeLabels([], labelled, itemBase, undefined);
    const part: Part = { path: '', tokens: [], space, kind: 'result', source: any ? 'labeled' : itemSource, labels };
    return [part];
  }

  const at = collection;
  const parts: Part[] = [];
  // Sibling fields are judged against the labels outside the collection only.
  const outsideCollection = labelled.filter((l) => !(l.tokens.length > at.length && isPrefix(at, l.tokens)));
  // Fields around the collection, level by level from the root: each is
  // judged whole, by its own label or the resource labels, and by every label
  // on the way down to it (a label on an ancestor covers what it contains).
  let container: unknown = document;
  for (let depth = 0; depth < at.length; depth++) {
    const above = combineAll(labelled.filter((l) => l.tokens.length <= depth && isPrefix(l.tokens, at)).map((l) => l.labels));
    const keys = Array.isArray(container) ? container.map((_, i) => String(i)) : Object.keys(container as object);
    for (const key of keys) {
      if (key === at[depth]) continue;
      const tokens = [...at.slice(0, depth), key];
      const { labels, labelled: any } = subtreeLabels(tokens, outsideCollection, resource, above);
      parts.push({ path: formatPointer(tokens), tokens, space, kind: 'envelope', source: any ? 'labeled' : 'resource', labels });
    }
    container = resolvePointer(container, [at[depth] as string]);
  }
  const above = combineAll(labelled.filter((l) => isPrefix(l.tokens, at)).map((l) => l.labels));
  // Labels of each item, bucketed in one pass: a guard labels every item of a big list.
  const own = new Map<string, Labels>();
  const inside = new Map<string, Labels>();
  for (const l of labelled) {
    if (l.tokens.length <= at.length || !isPrefix(at, l.tokens)) continue;
    const index = l.tokens[at.length] as string;
    const map = l.tokens.length === at.length + 1 ? own : inside;
    const prior = map.get(index);
    map.set(index, prior ? prior.combine(l.labels) : l.labels);
  }
  const array = container as unknown[];
  const items = array.map((_, index): Part => {
    const key = String(index);
    const tokens = [...at, key];
    const explicit = own.get(key);
    const nested = inside.get(key);
    let labels = explicit ?? itemBase;
    if (nested) labels = labels.combine(nested);
    if (above) labels = labels.combine(above);
    const any = explicit !== undefined || nested !== undefined || above !== undefined;
    return { path: formatPointer(tokens), tokens, space, kind: 'item', source: any ? 'labeled' : itemSource, labels };
  });
  return [...items, ...parts];
}

const envelopePart = (tokens: JsonPointer, labels: Labels | null, source: LabelSource): Part => ({
  path: formatPointer(tokens),
  tokens,
  space: 'result',
  kind: 'envelope',
  source,
  labels,
});

/**
 * Parts of an MCP envelope outside the document: every other content block,
 * the document block's own fields, structuredContent unless it mirrors the
 * document, and every other member. With no document, `labelled` holds the
 * guard's labels of the envelope itself.
 */
function envelopeParts(prepared: PreparedResult, resource: Labels, labelled: readonly Labelled[]): { parts: Part[]; mirror: boolean } {
  const result = prepared.original as Record<string, unknown> & { content: unknown[] };
  const document = prepared.document;
  const parts: Part[] = [];
  const above = combineAll(labelled.filter((l) => l.tokens.length === 0).map((l) => l.labels));
  // Bucketed by member and content block, so a result with many blocks costs one pass.
  const bucketOf = (tokens: JsonPointer) => (tokens[0] === 'content' ? `content/${tokens[1] ?? ''}` : (tokens[0] ?? ''));
  const buckets = new Map<string, Labelled[]>();
  for (const l of labelled) {
    if (l.tokens.length === 0) continue;
    const key = bucketOf(l.tokens);
    const bucket = buckets.get(key);
    if (bucket) bucket.push(l);
    else buckets.set(key, [l]);
  }
  // A label on the content array covers every block.
  const onContent = combineAll(labelled.filter((l) => l.tokens.length === 1 && l.tokens[0] === 'content').map((l) => l.labels));
  const contentAbove = above && onContent ? above.combine(onContent) : (above ?? onContent);
  const judged = (tokens: JsonPointer): Part => {
    const over = tokens[0] === 'content' ? contentAbove : above;
    const { labels, labelled: any } = subtreeLabels(tokens, buckets.get(bucketOf(tokens)) ?? [], resource, over);
    return envelopePart(tokens, labels, any ? 'labeled' : 'resource');
  };
  result.content.forEach((block, k) => {
    if (document?.block !== k) {
      parts.push(judged(['content', String(k)]));
      return;
    }
    // The document block: its text is the document; anything else it carries is judged like the envelope.
    for (const key of Object.keys(block as object)) if (key !== 'type' && key !== 'text') parts.push(judged(['content', String(k), key]));
  });
  let mirror = false;
  for (const key of Object.keys(result)) {
    if (key === 'content') continue;
    // isError says what kind of result this is; it carries no data of the tool's.
    if (key === 'isError' && typeof result.isError === 'boolean') continue;
    if (key === 'structuredContent') {
      if (document && jsonEqual(result.structuredContent, document.value)) {
        mirror = true;
        continue;
      }
      const tokens = ['structuredContent'];
      const guardLabelled = labelled.some((l) => l.tokens.length > 0 && l.tokens[0] === key);
      // Structured data nobody labelled: the resource labels say nothing about what it holds.
      parts.push(guardLabelled ? judged(tokens) : envelopePart(tokens, null, 'resource'));
      continue;
    }
    parts.push(judged([key]));
  }
  return { parts, mirror };
}

/** Labels of the envelope when the guard saw no JSON text: only MCP members may carry them. */
function envelopeLabels(prepared: PreparedResult, labelling: Extract<ResponseLabelling, { kind: 'paths' }>): Labelled[] {
  const entries = labelling.labeledPaths.map((entry, i) => ({ entry, field: fieldOf(i) }));
  // A collection here is judged as part of the envelope member holding it; its pointer must still fit.
  if (labelling.itemsPath !== undefined) entries.push({ entry: { path: labelling.itemsPath, labels: { secrecy: [], integrity: [] } }, field: 'items_path' });
  const labelled = entries.map(({ entry, field }) => {
    let first: string | undefined;
    try {
      first = parsePointer(entry.path)[0];
    } catch (error) {
      labelError(error, entry.path, field);
    }
    if (first !== undefined && !MCP_MEMBERS.has(first)) {
      // The guard found a document the host did not (e.g. it accepts text the
      // host refused): its pointers would label the wrong data.
      throw new ResponseLabelError(
        `label_response ${field} ${JSON.stringify(entry.path)} points into the MCP envelope, but ${prepared.opaque ?? 'the result has no JSON text block'}: the guard and the service read the result differently`,
        entry.path,
        field,
        'missing',
      );
    }
    return { path: entry.path, tokens: pointerIn(prepared.original, entry.path, field), labels: Labels.of(entry.labels) };
  });
  return labelling.itemsPath === undefined ? labelled : labelled.slice(0, -1);
}

/**
 * The older `items` form with one item on a result that is not a list: the
 * compatible gateway's github guard answers single objects this way (the
 * object itself, or its whole result when it found nothing finer). The item
 * is the result, so the result is judged whole by the item's labels, as a
 * paths-form "" label would be: kept whole, built from the host's parse, or
 * withheld whole (a denial naming the item). Where its data is the guard's
 * whole input the label covers the MCP envelope too; where it is the JSON
 * text's document, the envelope's other parts are judged as always.
 */
function legacySingle(prepared: PreparedResult, labelling: Extract<ResponseLabelling, { kind: 'items' }>, resource: Labels): Layout | undefined {
  const item = labelling.items[0];
  if (labelling.items.length !== 1 || !item) return undefined;
  const labelled = prepared.document ? prepared.document.value : prepared.original;
  if (Array.isArray(labelled)) return undefined;
  const labels = Labels.of(item.labels);
  const whole = (space: PartSpace): Part => ({ path: '', tokens: [], space, kind: 'result', source: 'labeled', labels });
  if (!prepared.envelope || !prepared.document || jsonEqual(item.data, prepared.forGuard)) {
    return { parts: [whole('result')], mirror: false };
  }
  const outer = envelopeParts(prepared, resource, []);
  return { parts: [whole('document'), ...outer.parts], mirror: outer.mirror };
}

export function layoutOf(prepared: PreparedResult, labelling: ResponseLabelling, resource: Labels): Layout {
  if (labelling.kind === 'items') {
    const single = legacySingle(prepared, labelling, resource);
    if (single) return single;
    // The legacy form carries its own copy of each item: what the agent gets
    // is the accessible items' data, and nothing else of the result.
    const parts = labelling.items.map((item, index): Part => {
      const tokens = [String(index)];
      return { path: `/${index}`, tokens, space: 'document', kind: 'item', source: 'labeled', labels: Labels.of(item.labels) };
    });
    return { parts, legacy: labelling.items, mirror: false };
  }
  const paths = labelling.kind === 'paths' ? labelling : undefined;
  if (!prepared.envelope) {
    return { parts: documentParts(prepared.original, 'result', paths, resource), mirror: false };
  }
  if (prepared.document) {
    const inner = documentParts(prepared.document.value, 'document', paths, resource);
    const outer = envelopeParts(prepared, resource, []);
    return { parts: [...inner, ...outer.parts], mirror: outer.mirror };
  }
  const outer = envelopeParts(prepared, resource, paths ? envelopeLabels(prepared, paths) : []);
  return { parts: outer.parts, mirror: false };
}
