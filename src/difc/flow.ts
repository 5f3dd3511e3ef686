import { formatTags, Label, Labels, type LabelsLike, type ResourceLabelsLike } from './labels.js';
import type { Operation } from './types.js';

/**
 * The flow table of docs/contract.md §1, applied to one agent and one
 * labelled thing (a resource or a response item), and how reading moves an
 * agent's labels in propagate mode.
 */

export type Decision = 'allow' | 'deny';
export type Dimension = 'secrecy' | 'integrity';
export type Party = 'agent' | 'resource';
export type FlowRule = 'read-secrecy' | 'read-integrity' | 'write-secrecy' | 'write-integrity';

export interface FlowRuleSpec {
  rule: FlowRule;
  dimension: Dimension;
  /** Whose label must be the subset. */
  subset: Party;
  /** Whose label must be the superset (and so "lacks" the missing tags). */
  superset: Party;
  /** The rule in words, as reasons quote it. */
  text: string;
}

const spec = (rule: FlowRule, dimension: Dimension, subset: Party, superset: Party): FlowRuleSpec => ({
  rule,
  dimension,
  subset,
  superset,
  text: `${subset} ${dimension} must be a subset of ${superset} ${dimension}`,
});

export const FLOW_RULES: Readonly<Record<FlowRule, FlowRuleSpec>> = Object.freeze({
  'read-secrecy': spec('read-secrecy', 'secrecy', 'resource', 'agent'),
  'read-integrity': spec('read-integrity', 'integrity', 'agent', 'resource'),
  'write-secrecy': spec('write-secrecy', 'secrecy', 'agent', 'resource'),
  'write-integrity': spec('write-integrity', 'integrity', 'resource', 'agent'),
});

const READ_RULES: readonly FlowRule[] = ['read-secrecy', 'read-integrity'];
const WRITE_RULES: readonly FlowRule[] = ['write-secrecy', 'write-integrity'];

export function rulesFor(operation: Operation): readonly FlowRule[] {
  switch (operation) {
    case 'read':
      return READ_RULES;
    case 'write':
      return WRITE_RULES;
    case 'read-write':
      return [...READ_RULES, ...WRITE_RULES];
  }
}

export interface RuleCheck extends FlowRuleSpec {
  ok: boolean;
  /** Tags of the subset side that the superset side lacks, sorted. */
  missing: string[];
}

function checkRule(rule: FlowRule, agent: Labels, resource: Labels): RuleCheck {
  const s = FLOW_RULES[rule];
  const subset = (s.subset === 'agent' ? agent : resource)[s.dimension];
  const superset = (s.superset === 'agent' ? agent : resource)[s.dimension];
  const missing = subset.missingFrom(superset);
  // Field by field: on the decision hot path an object spread here cost more than the check itself.
  return { rule: s.rule, dimension: s.dimension, subset: s.subset, superset: s.superset, text: s.text, ok: missing.length === 0, missing };
}

/** Every rule of the operation, passing or not. */
export function checkFlow(agent: Labels, resource: Labels, operation: Operation): RuleCheck[] {
  return rulesFor(operation).map((rule) => checkRule(rule, agent, resource));
}

/**
 * The agent after reading data labelled `data`: secrecy gains exactly the
 * tags the read-secrecy check found missing, integrity loses exactly the tags
 * the read-integrity check found missing. So the same read passes afterwards,
 * labels only move in the restrictive direction, and a wildcard on the
 * agent's side means nothing needs to move.
 */
export function propagateRead(agent: Labels, data: Labels): Labels {
  const add = data.secrecy.missingFrom(agent.secrecy);
  const drop = agent.integrity.missingFrom(data.integrity);
  if (add.length === 0 && drop.length === 0) return agent;
  return new Labels(agent.secrecy.union(Label.of(add)), agent.integrity.without(drop), agent.description);
}

export interface EvaluateInput {
  agent: LabelsLike;
  resource: ResourceLabelsLike;
  operation: Operation;
}

export interface Evaluation {
  decision: Decision;
  operation: Operation;
  /** The resource's description, or a stand-in when it has none. */
  resource: string;
  checks: RuleCheck[];
  violations: RuleCheck[];
  secrecyViolation: boolean;
  integrityViolation: boolean;
  /** Why it was denied; absent for an allow. */
  reason?: string;
}

function resourceName(resource: Labels): string {
  const description = resource.description?.trim();
  return description ? `'${description}'` : 'the resource';
}

/** `agent secrecy lacks [x] (resource secrecy must be a subset of agent secrecy)` */
export function describeViolation(v: RuleCheck): string {
  return `${v.superset} ${v.dimension} lacks ${formatTags(v.missing)} (${v.text})`;
}

function denialReason(operation: Operation, resource: Labels, violations: readonly RuleCheck[]): string {
  return denialWith(operation, resource, describeViolations(violations));
}

/** The violations part of a denial reason: the same for every resource with the same labels. */
export const describeViolations = (violations: readonly RuleCheck[]): string => violations.map(describeViolation).join('; ');

/** A denial reason around violations already described (describeViolations). */
export function denialWith(operation: Operation, resource: Labels, described: string): string {
  return `${operation} of ${resourceName(resource)} denied: ${described}`;
}

export function propagationReason(operation: Operation, resource: Labels, add: readonly string[], drop: readonly string[]): string {
  const moves: string[] = [];
  if (add.length > 0) moves.push(`agent secrecy gains ${formatTags(add)}`);
  if (drop.length > 0) moves.push(`agent integrity loses ${formatTags(drop)}`);
  return `${operation} of ${resourceName(resource)} allowed in propagate mode: ${moves.join('; ')}`;
}

/**
 * One decision for one labelled thing, by the flow rules alone: allow when
 * every rule of the operation holds, deny otherwise. Modes are the pipeline's
 * business, each rule in one place: the coarse check before the call judges
 * strictly (pipeline.ts), and the response check withholds (filter) or
 * absorbs (propagate, with propagateRead) what the agent may not read
 * (response.ts).
 */
export function evaluate(input: EvaluateInput): Evaluation {
  const agent = Labels.of(input.agent);
  const resource = Labels.of(input.resource);
  const { operation } = input;
  const checks = checkFlow(agent, resource, operation);
  const violations = checks.filter((c) => !c.ok);
  // One object literal rather than spreads of a shared base: this runs for every decision.
  const evaluation: Evaluation = {
    decision: violations.length === 0 ? 'allow' : 'deny',
    operation,
    resource: resourceName(resource),
    checks,
    violations,
    secrecyViolation: violations.some((v) => v.dimension === 'secrecy'),
    integrityViolation: violations.some((v) => v.dimension === 'integrity'),
  };
  if (violations.length > 0) evaluation.reason = denialReason(operation, resource, violations);
  return evaluation;
}
