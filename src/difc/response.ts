import { propagateRead, propagationReason, type Decision } from './flow.js';
import type { JsonPointer } from './json-pointer.js';
import { Labels, type LabelsLike, type ResourceLabelsLike } from './labels.js';
import { prepareResult, type PreparedResult } from './mcp.js';
import { filteredNotice } from './notice.js';
import { accumulatesReadLabels } from './pipeline.js';
import { withoutPaths } from './prune.js';
import { serialiseDocument } from './strict-json.js';
import { layoutOf, type LabelSource, type Layout, type Part, type PartKind } from './response-parts.js';
import type { LabelsJson, Mode, Operation, ResourceLabelsJson, ResponseLabelling } from './types.js';
import { judgeParts, type JudgeParts, type Verdict } from './verdicts.js';

/**
 * Step 4 of the decision pipeline: apply label_response output to a tool
 * result, then block (strict), filter (filter) or absorb (propagate) what the
 * agent may not read. Complete mediation: the reply is built from the parsed
 * result, part by judged part (response-parts.ts), never passed through.
 */

export interface LabelResponseInput {
  result: unknown;
  /** The result as prepareResult parsed it (and the guard labelled it); parsed here when absent. */
  prepared?: PreparedResult;
  /** Parsed label_response output; absent means no fine-grained labels. */
  labelling?: ResponseLabelling | null;
  /** Labels for anything the guard did not label (after default_labels). */
  resource: ResourceLabelsLike;
  agent: LabelsLike;
  operation: Operation;
  mode: Mode;
}

export type { LabelSource, PartKind } from './response-parts.js';

export interface ItemLabels extends ResourceLabelsJson {
  /** JSON Pointer into the JSON of the first MCP text block (document parts) or the result; in the items form, into the items array. */
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

export interface ResponseCheck {
  decision: Decision;
  /** The result to hand to the agent, built from the judged parts; null when denied. */
  result: unknown;
  filtered: FilteredItem[];
  /** Agent labels after the response (moved only in propagate mode). */
  agent: LabelsJson;
  labels: ItemLabels[];
  reason?: string;
  /** The gateway's one-line "[Filtered] …" notice for the agent, when something was withheld (notice.ts). */
  notice?: string;
}

function filteredEntry(part: Part, verdict: Verdict): FilteredItem {
  const entry: FilteredItem = {
    path: part.path,
    reason: verdict.reason,
    secrecy_violation: verdict.secrecy,
    integrity_violation: verdict.integrity,
  };
  if (part.labels?.description !== undefined) entry.description = part.labels.description;
  return entry;
}

function partLabels(part: Part, verdict: Verdict): ItemLabels {
  const labels = part.labels;
  if (!labels) return { path: part.path, kind: part.kind, source: part.source, description: 'unlabelled', secrecy: [], integrity: [], allowed: verdict.allowed };
  // One object per part, not a spread of toJSON's: a list's parts are in the hundreds.
  const { path, kind, source } = part;
  const secrecy = labels.secrecy.toArray();
  const integrity = labels.integrity.toArray();
  const allowed = verdict.allowed;
  const description = labels.description;
  return description === undefined
    ? { path, kind, source, secrecy, integrity, allowed }
    : { path, kind, source, description, secrecy, integrity, allowed };
}

/**
 * The reply without the withheld parts, serialised from the parsed result:
 * the document's text is the host's serialisation (the bytes the guard
 * labelled), re-serialised when something inside it was removed.
 */
function buildReply(prepared: PreparedResult, layout: Layout, withheld: readonly Part[]): unknown {
  if (layout.legacy) {
    const removed = new Set(withheld.map((p) => Number(p.tokens[0])));
    return layout.legacy.filter((_, i) => !removed.has(i)).map((item) => item.data);
  }
  const inDocument: JsonPointer[] = [];
  const inResult: JsonPointer[] = [];
  for (const part of withheld) (part.space === 'document' ? inDocument : inResult).push(part.tokens);
  const document = prepared.document;
  if (!document) return withoutPaths(prepared.original, inResult);
  const value = withoutPaths(document.value, inDocument);
  const text = inDocument.length === 0 ? document.text : serialiseDocument(value, document.indent);
  const result = prepared.original as Record<string, unknown> & { content: unknown[] };
  const content = result.content.slice();
  content[document.block] = { ...(content[document.block] as object), text };
  const rebuilt: Record<string, unknown> = { ...result, content };
  if (layout.mirror) rebuilt.structuredContent = value;
  return withoutPaths(rebuilt, inResult);
}

/**
 * Applies label_response output to a tool result. Throws ResponseLabelError
 * when the labels do not fit the result (a guard fault, not a denial).
 * `judge` is the per-part verdict (verdicts.ts); tests pass the per-item
 * reference to hold the shared-verdict path to the same replies.
 */
export function labelResponse(input: LabelResponseInput, judge: JudgeParts = judgeParts): ResponseCheck {
  const agent = Labels.of(input.agent);
  const resource = Labels.of(input.resource);
  const prepared = input.prepared ?? prepareResult(input.result);
  const layout = layoutOf(prepared, input.labelling ?? { kind: 'none' }, resource);
  // Every part is data the agent reads, whatever the tool did: judge it by
  // the read rows. A write's response in propagate mode moves no labels, so
  // it is judged strictly.
  const propagate = accumulatesReadLabels(input.operation, input.mode);
  const mode: Mode = input.mode === 'propagate' && !propagate ? 'strict' : input.mode;

  const verdicts = judge(layout.parts, agent, resource);
  const judged = layout.parts.map((part, i) => ({ part, verdict: verdicts[i] as Verdict }));
  const violating = judged.filter((j) => !j.verdict.allowed);
  const labels = judged.map(({ part, verdict }) => partLabels(part, verdict));

  if (violating.length === 0) {
    return { decision: 'allow', result: buildReply(prepared, layout, []), filtered: [], agent: agent.toLabelsJson(), labels };
  }

  if (propagate) {
    // Per part, in order: secrecy joins every part's secrecy, integrity
    // meets every part's integrity, so one untrusted item lowers the agent.
    // A part nothing labels has nothing to propagate: it is withheld.
    let moved = agent;
    for (const { part } of judged) if (part.labels) moved = propagateRead(moved, part.labels);
    const unlabelled = violating.filter((j) => !j.part.labels);
    const added = moved.secrecy.tags.filter((t) => !agent.secrecy.has(t));
    const dropped = agent.integrity.tags.filter((t) => !moved.integrity.has(t));
    const check: ResponseCheck = {
      decision: 'allow',
      result: buildReply(prepared, layout, unlabelled.map((j) => j.part)),
      filtered: unlabelled.map((j) => filteredEntry(j.part, j.verdict)),
      agent: moved.toLabelsJson(),
      labels,
    };
    const notice = filteredNotice('allow', check.filtered, false);
    if (notice) check.notice = notice;
    if (added.length > 0 || dropped.length > 0) {
      check.reason = propagationReason('read', resource.withDescription(resource.description ?? 'tool result'), added, dropped);
    }
    return check;
  }

  // strict: any violation blocks. filter: so does a violating whole result,
  // since withholding all of it is a denial.
  const blocking = mode === 'strict' ? violating : violating.filter((j) => j.part.tokens.length === 0);
  if (blocking.length > 0) {
    const first = blocking[0] as (typeof blocking)[number];
    const scope = judged.length === 1 ? '' : ` (${violating.length} of ${judged.length} parts violate)`;
    const filtered = violating.map((j) => filteredEntry(j.part, j.verdict));
    // In filter mode only a whole result withheld denies: the gateway tells the agent it exists but is not accessible.
    const notice = mode === 'filter' ? filteredNotice('deny', [filteredEntry(first.part, first.verdict)], true) : undefined;
    return {
      decision: 'deny',
      result: null,
      filtered,
      ...(notice ? { notice } : {}),
      agent: agent.toLabelsJson(),
      labels,
      reason: `response denied in ${mode} mode${scope}: ${first.verdict.reason}`,
    };
  }

  // filter: every violating part is withheld, wherever it is.
  const withheld = violating.map((j) => j.part);
  const filtered = violating.map((j) => filteredEntry(j.part, j.verdict));
  return {
    decision: 'allow',
    result: buildReply(prepared, layout, withheld),
    filtered,
    notice: filteredNotice('allow', filtered, false),
    agent: agent.toLabelsJson(),
    labels,
    reason: `filtered ${violating.length} of ${judged.length} parts the agent may not read`,
  };
}

