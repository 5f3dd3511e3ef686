import { describeViolation, evaluate, type EvaluateInput, type Evaluation } from './flow.js';
import { MODES, OPERATIONS, type Mode, type Operation } from './types.js';

/**
 * The per-call decisions of docs/contract.md §1, "the decision pipeline":
 * what the coarse check before the tool call concludes, and which of the
 * response-time steps apply for an operation and mode.
 */

/** Missing or unknown operations are writes: the most restrictive reading. */
export function parseOperation(value: unknown): Operation {
  return OPERATIONS.includes(value as Operation) ? (value as Operation) : 'write';
}

export function isMode(value: unknown): value is Mode {
  return MODES.includes(value as Mode);
}

/** label_response must run for every read, and for read-write when the response can be filtered or propagated. */
export function mustLabelResponse(operation: Operation, mode: Mode): boolean {
  if (operation === 'read') return true;
  return operation === 'read-write' && mode !== 'strict';
}

/**
 * Whether the reply must go through the response check: every read (its
 * items may be labelled more finely), read-write where the response can be
 * filtered or propagated, and any call whose resource labels would not pass a
 * read, since a reply is data the agent reads whatever the tool did.
 */
function responseCheckNeeded(operation: Operation, mode: Mode, readAllowed: boolean): boolean {
  return !readAllowed || mustLabelResponse(operation, mode);
}

/** Whether what the agent reads moves its labels. */
export function accumulatesReadLabels(operation: Operation, mode: Mode): boolean {
  return mode === 'propagate' && operation !== 'write';
}

/**
 * allow: every rule holds. check-response: a read whose resource labels
 * violate may still proceed, because the items of the response may be
 * labelled more finely; nothing of it may be shown before the response
 * check. deny: any other violation.
 */
export type CoarseOutcome = 'allow' | 'check-response' | 'deny';

export interface CoarseDecision {
  outcome: CoarseOutcome;
  /** What the gateway acts on before the call: check-response is an allow. */
  decision: 'allow' | 'deny';
  /** The gateway must send the tool result to the response check. */
  checkResponse: boolean;
  evaluation: Evaluation;
  reason?: string;
}

export function coarseCheck(input: EvaluateInput & { mode: Mode }): CoarseDecision {
  // Labels never move before the tool call: propagation happens when the
  // response is actually read, so the coarse check always judges strictly.
  const evaluation: Evaluation = evaluate({ agent: input.agent, resource: input.resource, operation: input.operation });
  if (evaluation.decision === 'allow') {
    // A read that passes is checked anyway (mustLabelResponse); for the rest, ask whether the reply could be read.
    const readAllowed =
      input.operation !== 'write' || evaluate({ agent: input.agent, resource: input.resource, operation: 'read' }).decision === 'allow';
    return { outcome: 'allow', decision: 'allow', checkResponse: responseCheckNeeded(input.operation, input.mode, readAllowed), evaluation };
  }
  if (input.operation === 'read') {
    const reason = `read of ${evaluation.resource} needs a per-item response check: ${evaluation.violations.map(describeViolation).join('; ')}`;
    return { outcome: 'check-response', decision: 'allow', checkResponse: true, evaluation, reason };
  }
  return { outcome: 'deny', decision: 'deny', checkResponse: false, evaluation, reason: evaluation.reason ?? '' };
}
