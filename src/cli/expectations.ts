import { AssertionError, deepStrictEqual } from 'node:assert';
import { inspect } from 'node:util';
import type { Expect } from './case-file.js';

/** What a case's calls gave, in the vocabulary of `expect`. */
export interface Actual {
  error?: { code: string; message: string };
  decision?: string;
  operation?: string;
  resource?: Record<string, unknown>;
  check_response?: boolean;
  labels?: Array<Record<string, unknown>>;
  filtered?: string[];
  agent?: Record<string, unknown>;
  result?: unknown;
  reason?: string;
}

export interface Mismatch {
  field: string;
  /** node:assert's diff of expected and actual (`+ actual - expected`). */
  diff: string;
}

const TAG_FIELDS = new Set(['secrecy', 'integrity']);

/** Only the fields the expectation names, tag lists as sorted sets: what a case author means by "these labels". */
function project(actual: Record<string, unknown> | undefined, expected: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(expected)) {
    const value = actual?.[key];
    out[key] = TAG_FIELDS.has(key) && Array.isArray(value) ? [...new Set(value as string[])].sort() : value;
  }
  return out;
}

function normaliseTags(labels: Record<string, unknown>): Record<string, unknown> {
  return project(labels, labels);
}

const isObject = (v: unknown) => typeof v === 'object' && v !== null;

/**
 * node:assert's diff (`+ actual - expected`) of two values. Two plain values
 * are written in the same form here: node prints them as `a !== b` from
 * Node 22 on, and a report should not depend on the Node line.
 */
function diff(expected: unknown, actual: unknown): string | undefined {
  try {
    deepStrictEqual(actual, expected);
    return undefined;
  } catch (error) {
    if (!(error instanceof AssertionError)) throw error;
    if (!isObject(expected) || !isObject(actual)) return `+ actual - expected\n\n+ ${inspect(actual)}\n- ${inspect(expected)}`;
    return error.message.replace(/^Expected values to be strictly (deep-)?equal:\n/, '').trim();
  }
}

/** Every field of `expect` the actual outcome does not match, each with a diff. */
export function compare(expected: Expect, actual: Actual): Mismatch[] {
  const out: Mismatch[] = [];
  const check = (field: string, want: unknown, got: unknown) => {
    const d = diff(want, got);
    if (d !== undefined) out.push({ field, diff: d });
  };
  if (actual.error) {
    if (expected.error) check('error', expected.error, actual.error.code);
    else out.push({ field: 'error', diff: `the call failed: ${actual.error.code}: ${actual.error.message}` });
    return out;
  }
  if (expected.error) {
    out.push({ field: 'error', diff: `expected the call to fail with ${expected.error}, but it gave decision "${actual.decision}"` });
    return out;
  }
  for (const field of ['decision', 'operation', 'check_response'] as const) {
    if (expected[field] !== undefined) check(field, expected[field], actual[field]);
  }
  if (expected.resource) check('resource', normaliseTags(expected.resource), project(actual.resource, expected.resource));
  if (expected.agent) check('agent', normaliseTags(expected.agent), project(actual.agent, expected.agent));
  if (expected.labels) {
    const keys = Object.fromEntries(expected.labels.flatMap((l) => Object.keys(l)).map((k) => [k, true]));
    check('labels', expected.labels.map(normaliseTags), (actual.labels ?? []).map((l, i) => project(l, expected.labels![i] ?? keys)));
  }
  if (expected.filtered) check('filtered', expected.filtered, actual.filtered ?? []);
  if (expected.result !== undefined) check('result', expected.result, actual.result);
  if (expected.reason !== undefined && !(actual.reason ?? '').includes(expected.reason)) {
    out.push({ field: 'reason', diff: `expected the reason to contain ${JSON.stringify(expected.reason)}\nactual reason: ${JSON.stringify(actual.reason ?? null)}` });
  }
  return out;
}
