import { JsonPointerError, ResponseLabelError } from './errors.js';
import { evaluate, propagateRead, propagationReason, type Decision, type Evaluation } from './flow.js';
import { formatPointer, isPrefix, parsePointer, replaceAt, resolvePointer, type JsonPointer } from './json-pointer.js';
import { Labels, type LabelsLike, type ResourceLabelsLike } from './labels.js';
import { unwrapMcpText } from './mcp.js';
import { accumulatesReadLabels } from './pipeline.js';
import type { LabelsJson, Mode, Operation, ResourceLabelsJson, ResponseLabelling } from './types.js';

/**
 * Step 4 of the decision pipeline: apply label_response output to a tool
 * result, then block (strict), filter (filter) or absorb (propagate) what the
 * agent may not read.
 */

export interface LabelResponseInput {
  result: unknown;
  /** Parsed label_response output; absent means no fine-grained labels. */
  labelling?: ResponseLabelling | null;
  /** Labels for anything the guard did not label (after default_labels). */
  resource: ResourceLabelsLike;
  agent: LabelsLike;
  operation: Operation;
  mode: Mode;
}

/** item: removable member of the collection. result: a single, whole result. envelope: labelled outside the collection. */
export type PartKind = 'item' | 'result' | 'envelope';
/** Where a part's labels came from. */
export type LabelSource = 'labeled' | 'default' | 'resource';

export interface ItemLabels extends ResourceLabelsJson {
  /** JSON Pointer into the (unwrapped) result; in the items form, into the items array. */
  path: string;
  kind: PartKind;
  source: LabelSource;
  /** Whether the agent, as it was before this response, may read it. */
  allowed: boolean;
}

export interface FilteredItem {
  path: string;
  reason: string;
  secrecy_violation: boolean;
  integrity_violation: boolean;
  description?: string;
}

export interface ResponseCounts {
  /** Collection items (1 for a single result). */
  items: number;
  /** Items in the returned result (0 when denied). */
  returned: number;
  /** Items removed (filter) or blocking (strict). */
  filtered: number;
  /** Parts, items or envelope, that the agent could not read as it was. */
  violations: number;
}

export interface ResponseCheck {
  decision: Decision;
  /** The result to hand to the agent: the original object when nothing was removed, null when denied. */
  result: unknown;
  filtered: FilteredItem[];
  /** Agent labels after the response (moved only in propagate mode). */
  agent: LabelsJson;
  labels: ItemLabels[];
  counts: ResponseCounts;
  reason?: string;
  /** Whether `result` differs from the input result. */
  changed: boolean;
  /** Whether pointers applied to JSON unwrapped from an MCP text block. */
  mcp: boolean;
}

interface Part {
  path: string;
  kind: PartKind;
  source: LabelSource;
  labels: Labels;
  /** Index in the collection, for removable items. */
  index?: number;
}

interface Layout {
  parts: Part[];
  items: number;
  mcp: boolean;
  /** The result with only the kept item indexes; called only when some were removed. */
  rebuild(keep: ReadonlySet<number>): unknown;
  /** What to return when nothing is removed, if not the original result. */
  whole?: { value: unknown };
}

const fieldOf = (i: number) => `labeled_paths[${i}].path`;

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

function itemsLayout(labelling: Extract<ResponseLabelling, { kind: 'items' }>, fallback: Labels): Layout {
  const parts = labelling.items.map((item, index): Part => {
    const labels = Labels.of(item.labels ?? fallback);
    return { path: `/${index}`, kind: 'item', source: item.labels ? 'labeled' : 'resource', labels, index };
  });
  const layout: Layout = {
    parts,
    items: parts.length,
    mcp: false,
    // The legacy form carries its own copy of each item: what the agent gets
    // is the accessible items' data. With nothing removed, the original
    // result stands; with no items at all, nothing labelled is left to show.
    rebuild: (keep) => labelling.items.filter((_, i) => keep.has(i)).map((item) => item.data),
  };
  if (parts.length === 0) layout.whole = { value: [] };
  return layout;
}

function pathsLayout(labelling: Extract<ResponseLabelling, { kind: 'paths' }>, result: unknown, resource: Labels): Layout {
  const { document, mcp, rewrap } = unwrapMcpText(result);
  const base = labelling.defaultLabels ? Labels.of(labelling.defaultLabels) : resource;
  const baseSource: LabelSource = labelling.defaultLabels ? 'default' : 'resource';
  const labelled = labelling.labeledPaths.map((entry, i) => ({
    path: entry.path,
    tokens: pointerIn(document, entry.path, fieldOf(i)),
    labels: Labels.of(entry.labels),
  }));

  let collection: JsonPointer | undefined;
  if (labelling.itemsPath !== undefined) {
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
  } else if (Array.isArray(document)) {
    // Go guards serialise items_path "" with omitempty, i.e. not at all: a
    // root array with no items_path is the root collection.
    collection = [];
  }

  if (collection === undefined) {
    // A single result is shown whole: its label is the "" label (else the
    // default), made more restrictive by every part labelled inside it.
    const whole = labelled.filter((l) => l.tokens.length === 0);
    const inner = labelled.filter((l) => l.tokens.length > 0);
    let labels = whole.length > 0 ? whole.map((l) => l.labels).reduce((a, b) => a.combine(b)) : base;
    for (const l of inner) labels = labels.combine(l.labels);
    const source: LabelSource = labelled.length > 0 ? 'labeled' : baseSource;
    return { parts: [{ path: '', kind: 'result', source, labels }], items: 1, mcp, rebuild: () => result };
  }

  const at = collection;
  const array = resolvePointer(document, at) as unknown[];
  const own = new Map<number, Labels>();
  const inside = new Map<number, Labels>();
  const envelope: Part[] = [];
  for (const l of labelled) {
    if (l.tokens.length > at.length && isPrefix(at, l.tokens)) {
      const index = Number(l.tokens[at.length]);
      const map = l.tokens.length === at.length + 1 ? own : inside;
      const prior = map.get(index);
      map.set(index, prior ? prior.combine(l.labels) : l.labels);
    } else {
      // The envelope, or the collection as a whole: it cannot be removed, so
      // a violation here denies in strict and filter alike.
      envelope.push({ path: l.path, kind: 'envelope', source: 'labeled', labels: l.labels });
    }
  }
  const items = array.map((_, index): Part => {
    const explicit = own.get(index);
    const nested = inside.get(index);
    let labels = explicit ?? base;
    if (nested) labels = labels.combine(nested);
    const source: LabelSource = explicit || nested ? 'labeled' : baseSource;
    return { path: formatPointer([...at, String(index)]), kind: 'item', source, labels, index };
  });
  return {
    parts: [...items, ...envelope],
    items: items.length,
    mcp,
    rebuild: (keep) => rewrap(replaceAt(document, at, array.filter((_, i) => keep.has(i)))),
  };
}

function layoutOf(input: LabelResponseInput, resource: Labels): Layout {
  const labelling = input.labelling ?? { kind: 'none' };
  switch (labelling.kind) {
    case 'none':
      return { parts: [{ path: '', kind: 'result', source: 'resource', labels: resource }], items: 1, mcp: false, rebuild: () => input.result };
    case 'items':
      return itemsLayout(labelling, resource);
    case 'paths':
      return pathsLayout(labelling, input.result, resource);
  }
}

/** Labels without a description get one that names the part, so reasons say what was refused. */
function named(part: Part, resource: Labels): Labels {
  if (part.labels.description?.trim()) return part.labels;
  if (part.kind === 'result') return part.labels.withDescription(resource.description?.trim() ? resource.description : 'tool result');
  return part.labels.withDescription(`${part.kind === 'item' ? 'item' : 'response part'} ${part.path}`);
}

function filteredEntry(part: Part, evaluation: Evaluation): FilteredItem {
  const entry: FilteredItem = {
    path: part.path,
    reason: evaluation.reason ?? '',
    secrecy_violation: evaluation.secrecyViolation,
    integrity_violation: evaluation.integrityViolation,
  };
  if (part.labels.description !== undefined) entry.description = part.labels.description;
  return entry;
}

/**
 * Applies label_response output to a tool result. Throws ResponseLabelError
 * when the labels do not fit the result (a guard fault, not a denial).
 */
export function labelResponse(input: LabelResponseInput): ResponseCheck {
  const agent = Labels.of(input.agent);
  const resource = Labels.of(input.resource);
  const layout = layoutOf(input, resource);
  // Items are data the agent reads, whatever the tool did: judge them by the
  // read rows. A write's response in propagate mode moves no labels, so it is
  // judged strictly.
  const propagate = input.mode === 'propagate' && accumulatesReadLabels(input.operation, input.mode);
  const mode: Mode = input.mode === 'propagate' && !propagate ? 'strict' : input.mode;

  const judged = layout.parts.map((part) => ({
    part,
    evaluation: evaluate({ agent, resource: named(part, resource), operation: 'read', mode: 'strict' }),
  }));
  const violating = judged.filter((j) => j.evaluation.decision === 'deny');
  const labels = judged.map(({ part, evaluation }): ItemLabels => ({
    path: part.path,
    kind: part.kind,
    source: part.source,
    ...part.labels.toJSON(),
    allowed: evaluation.decision === 'allow',
  }));
  const base = { labels, mcp: layout.mcp };
  const counts = (returned: number, filtered: number): ResponseCounts => ({ items: layout.items, returned, filtered, violations: violating.length });

  const whole = layout.whole ? layout.whole.value : input.result;
  const changed = layout.whole !== undefined;
  if (violating.length === 0) {
    return { ...base, decision: 'allow', result: whole, filtered: [], agent: agent.toLabelsJson(), counts: counts(layout.items, 0), changed };
  }

  if (propagate) {
    // Per item, in order: secrecy joins every item's secrecy, integrity
    // meets every item's integrity, so one untrusted item lowers the agent.
    let moved = agent;
    for (const { part } of judged) moved = propagateRead(moved, part.labels);
    const added = moved.secrecy.tags.filter((t) => !agent.secrecy.has(t));
    const dropped = agent.integrity.tags.filter((t) => !moved.integrity.has(t));
    return {
      ...base,
      decision: 'allow',
      result: whole,
      filtered: [],
      agent: moved.toLabelsJson(),
      counts: counts(layout.items, 0),
      reason: propagationReason('read', resource.withDescription(resource.description ?? 'tool result'), added, dropped),
      changed,
    };
  }

  const blocking = mode === 'strict' ? violating : violating.filter((j) => j.part.kind !== 'item');
  if (blocking.length > 0) {
    const first = blocking[0] as (typeof blocking)[number];
    const scope = layout.items === 1 && first.part.kind === 'result' ? '' : ` (${blocking.length} of ${judged.length} parts violate)`;
    return {
      ...base,
      decision: 'deny',
      result: null,
      filtered: violating.map((j) => filteredEntry(j.part, j.evaluation)),
      agent: agent.toLabelsJson(),
      counts: counts(0, violating.filter((j) => j.part.kind !== 'envelope').length),
      reason: `response denied in ${mode} mode${scope}: ${first.evaluation.reason ?? ''}`,
      changed: true,
    };
  }

  const removed = new Set(violating.map((j) => j.part.index));
  const keep = new Set(judged.flatMap((j) => (j.part.index !== undefined && !removed.has(j.part.index) ? [j.part.index] : [])));
  return {
    ...base,
    decision: 'allow',
    result: layout.rebuild(keep),
    filtered: violating.map((j) => filteredEntry(j.part, j.evaluation)),
    agent: agent.toLabelsJson(),
    counts: counts(keep.size, violating.length),
    reason: `filtered ${violating.length} of ${layout.items} items the agent may not read`,
    changed: true,
  };
}
