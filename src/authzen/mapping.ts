import { WasmGuardError } from '../errors.js';
import type { BatchCall, CallOutcome } from '../batch/batch-evaluator.js';
import { MODES, type Mode } from '../difc/types.js';

/**
 * The OpenID AuthZEN Authorization API 1.0 request and decision, mapped onto
 * the /v1/evaluate pipeline:
 *
 * | AuthZEN | WasmGuard |
 * |---|---|
 * | subject.type "session", subject.id | session |
 * | subject.properties.secrecy / .integrity (other subject types) | agent labels |
 * | action.name | tool |
 * | resource.type | guard |
 * | resource.properties | args |
 * | context.policy, context.mode | policy, mode |
 * | decision true / false | decision "allow" / "deny" |
 *
 * subject.id (other types), resource.id and action.properties are required or
 * allowed by the specification but do not take part in the decision; unknown
 * fields are ignored, as the specification requires.
 */

export interface AuthzenEntity {
  type?: unknown;
  id?: unknown;
  name?: unknown;
  properties?: unknown;
  [key: string]: unknown;
}

export interface AuthzenEvaluation {
  subject?: AuthzenEntity;
  action?: AuthzenEntity;
  resource?: AuthzenEntity;
  context?: Record<string, unknown>;
}

/** A request the mapping cannot turn into a decision request: the specification's 400, with a message naming the field. */
export class AuthzenMappingError extends WasmGuardError {
  readonly code = 'WG_ERR_INVALID_REQUEST';
}

export const SESSION_SUBJECT = 'session';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function requireString(value: unknown, where: string): string {
  if (typeof value !== 'string' || value === '') throw new AuthzenMappingError(`${where} is required and must be a non-empty string`);
  return value;
}

function tags(value: unknown, where: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((t) => typeof t === 'string')) throw new AuthzenMappingError(`${where} must be an array of strings (label tags)`);
  return value as string[];
}

/**
 * The evaluation with the top-level defaults of an evaluations request: each
 * of subject, action, resource and context the item sets replaces the
 * default whole (the specification's "default values").
 */
export function withDefaults(defaults: AuthzenEvaluation, item: AuthzenEvaluation): AuthzenEvaluation {
  return {
    subject: item.subject ?? defaults.subject,
    action: item.action ?? defaults.action,
    resource: item.resource ?? defaults.resource,
    context: item.context ?? defaults.context,
  };
}

/** One AuthZEN evaluation as a /v1/evaluate request; `where` prefixes field names in errors ("body", "body.evaluations[2]"). */
export function toCall(evaluation: AuthzenEvaluation, where = 'body'): BatchCall {
  const { subject, action, resource, context } = evaluation;
  if (!isObject(subject)) throw new AuthzenMappingError(`${where}.subject is required and must be an object`);
  if (!isObject(action)) throw new AuthzenMappingError(`${where}.action is required and must be an object`);
  if (!isObject(resource)) throw new AuthzenMappingError(`${where}.resource is required and must be an object`);
  const subjectType = requireString(subject.type, `${where}.subject.type`);
  const subjectId = requireString(subject.id, `${where}.subject.id`);
  const tool = requireString(action.name, `${where}.action.name`);
  const guard = requireString(resource.type, `${where}.resource.type`);
  requireString(resource.id, `${where}.resource.id`);
  if (resource.properties !== undefined && !isObject(resource.properties)) throw new AuthzenMappingError(`${where}.resource.properties must be an object (the tool's arguments)`);
  if (subject.properties !== undefined && !isObject(subject.properties)) throw new AuthzenMappingError(`${where}.subject.properties must be an object`);
  if (context !== undefined && !isObject(context)) throw new AuthzenMappingError(`${where}.context must be an object`);

  const call: BatchCall = { guard, tool };
  if (resource.properties !== undefined) call.args = resource.properties;
  if (subjectType === SESSION_SUBJECT) call.session = subjectId;
  const props = subject.properties as Record<string, unknown> | undefined;
  if (props && (props.secrecy !== undefined || props.integrity !== undefined)) {
    call.agent = { secrecy: tags(props.secrecy, `${where}.subject.properties.secrecy`), integrity: tags(props.integrity, `${where}.subject.properties.integrity`) };
  }
  if (context?.policy !== undefined) {
    if (!isObject(context.policy)) throw new AuthzenMappingError(`${where}.context.policy must be an object (the guard's policy)`);
    call.policy = context.policy;
  }
  if (context?.mode !== undefined) {
    if (!MODES.includes(context.mode as Mode)) throw new AuthzenMappingError(`${where}.context.mode must be one of ${MODES.map((m) => `"${m}"`).join(', ')}`);
    call.mode = context.mode as Mode;
  }
  return call;
}

export interface AuthzenDecision {
  decision: boolean;
  context: Record<string, unknown>;
}

/**
 * A decision in AuthZEN form. A call that failed is a deny carrying the
 * error in its context (the specification's per-evaluation error form).
 */
export function toDecision(outcome: CallOutcome, describe: (error: unknown) => { status: number; code: string; message: string }): AuthzenDecision {
  if (!outcome.ok) {
    const { status, code, message } = describe(outcome.error);
    return { decision: false, context: { error: { status, code, message } } };
  }
  const e = outcome.evaluated;
  const context: Record<string, unknown> = {
    decision_id: e.decision_id,
    guard_digest: e.guard_digest,
    operation: e.operation,
    check_response: e.check_response,
    mode: e.mode,
    resource: e.resource,
  };
  if (e.reason) context.reason = e.reason;
  return { decision: e.decision === 'allow', context };
}

export type EvaluationsSemantic = 'execute_all' | 'deny_on_first_deny' | 'permit_on_first_permit';
export const SEMANTICS: readonly EvaluationsSemantic[] = ['execute_all', 'deny_on_first_deny', 'permit_on_first_permit'];

/** Where a short-circuit semantic stops: after the first deny (an error is a deny), or the first permit. */
export function stopsAfter(semantic: EvaluationsSemantic): ((outcome: CallOutcome) => boolean) | undefined {
  switch (semantic) {
    case 'deny_on_first_deny':
      return (o) => !o.ok || o.evaluated.decision === 'deny';
    case 'permit_on_first_permit':
      return (o) => o.ok && o.evaluated.decision === 'allow';
    default:
      return undefined;
  }
}
