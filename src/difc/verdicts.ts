import { checkFlow, denialWith, describeViolations, evaluate, type Evaluation } from './flow.js';
import type { Labels } from './labels.js';
import type { Part } from './response-parts.js';

/**
 * The read verdict of every part of a response. Two ways to the same answer:
 * judgeEachPart evaluates every part on its own (the reference); judgeParts
 * checks the flow rules once per distinct label set, since a guard labelling a
 * list gives most items one of a few label sets, and only writes the reason of
 * each refused part (which names the part) itself. A property test holds the
 * two to the same replies.
 */

export interface Verdict {
  allowed: boolean;
  reason: string;
  secrecy: boolean;
  integrity: boolean;
}

export type JudgeParts = (parts: readonly Part[], agent: Labels, resource: Labels) => Verdict[];

/** Labels without a description get one that names the part, so reasons say what was refused. */
export function named(part: Part, labels: Labels, resource: Labels): Labels {
  if (labels.description?.trim()) return labels;
  if (part.kind === 'result') return labels.withDescription(resource.description?.trim() ? resource.description : 'tool result');
  return labels.withDescription(`${part.kind === 'item' ? 'item' : 'response part'} ${part.path}`);
}

const unlabelled = (part: Part): Verdict => ({
  allowed: false,
  reason: `${part.path} is withheld: it does not mirror the JSON text the guard labelled, and nothing else labels it`,
  secrecy: false,
  integrity: false,
});

function judgePart(part: Part, agent: Labels, resource: Labels): Verdict {
  if (!part.labels) return unlabelled(part);
  const evaluation: Evaluation = evaluate({ agent, resource: named(part, part.labels, resource), operation: 'read' });
  return {
    allowed: evaluation.decision === 'allow',
    reason: evaluation.reason ?? '',
    secrecy: evaluation.secrecyViolation,
    integrity: evaluation.integrityViolation,
  };
}

/** The reference: one full evaluation per part. */
export const judgeEachPart: JudgeParts = (parts, agent, resource) => parts.map((part) => judgePart(part, agent, resource));

const ALLOWED: Verdict = Object.freeze({ allowed: true, reason: '', secrecy: false, integrity: false });

/** What one label set's flow check says, whichever part carries it. */
interface SetVerdict {
  allowed: boolean;
  /** The violations, described once for every part refused with them. */
  described: string;
  secrecy: boolean;
  integrity: boolean;
}

function judgeSet(agent: Labels, labels: Labels): SetVerdict {
  const violations = checkFlow(agent, labels, 'read').filter((c) => !c.ok);
  return {
    allowed: violations.length === 0,
    described: violations.length === 0 ? '' : describeViolations(violations),
    secrecy: violations.some((v) => v.dimension === 'secrecy'),
    integrity: violations.some((v) => v.dimension === 'integrity'),
  };
}

/** The flow check per distinct label set; the reason per refused part. */
export const judgeParts: JudgeParts = (parts, agent, resource) => {
  const bySet = new Map<string, SetVerdict>();
  return parts.map((part) => {
    const labels = part.labels;
    if (!labels) return unlabelled(part);
    const key = labels.key;
    let set = bySet.get(key);
    if (!set) bySet.set(key, (set = judgeSet(agent, labels)));
    if (set.allowed) return ALLOWED;
    return { allowed: false, reason: denialWith('read', named(part, labels, resource), set.described), secrecy: set.secrecy, integrity: set.integrity };
  });
};
