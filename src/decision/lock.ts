import { PolicyLockedError } from '../session/errors.js';
import type { GuardHandle } from '../runtime/guard-handle.js';

/** What a request may try to set on a guard: its policy, mode and agent labels. */
export interface CallerChoices {
  policy?: unknown;
  mode?: string;
  agent?: unknown;
}

/**
 * A guard configured with `lock: true` takes its policy and mode only from
 * the operator's configuration, and agent labels only from that policy or
 * from a session: a caller could otherwise grant itself `repos: "all"`, or
 * send labels it never earned. Sending exactly the configured policy or mode
 * is accepted (a gateway may repeat what it was told); anything else is 403.
 */
export function assertNotLocked(guard: GuardHandle, choices: CallerChoices): void {
  if (!guard.config.lock) return;
  if (choices.policy !== undefined && choices.policy !== null && canonicalJson(choices.policy) !== canonicalJson(guard.config.policy ?? null)) {
    throw new PolicyLockedError(guard.name, 'policy');
  }
  if (choices.mode !== undefined && choices.mode !== guard.config.mode) throw new PolicyLockedError(guard.name, 'mode');
  if (choices.agent !== undefined) throw new PolicyLockedError(guard.name, 'agent');
}

/** JSON with object keys sorted, so two policies that differ only in key order compare equal. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
