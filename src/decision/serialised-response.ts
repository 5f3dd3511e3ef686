import type { PooledReply } from '../guard/reply-buffers.js';
import type { EvaluatedResponse } from './decision-service.js';

/**
 * A response check whose large members (`result`, `filtered`, `labels`) come
 * back from the worker already serialised (guard/response-job.ts). The HTTP route
 * writes them into the reply as they are; anything else that reads them
 * (the CLI, tests) gets them parsed on first use. Kept beside the object, not
 * on it, so the object stays the EvaluatedResponse every caller knows.
 */

interface Serialised {
  /** The members `result`, `filtered` and `labels`, as JSON (an object's body), in memory released once sent. */
  members: PooledReply;
  filtered: number;
}

const serialised = new WeakMap<EvaluatedResponse, Serialised>();

type Parts = Pick<EvaluatedResponse, 'result' | 'filtered' | 'labels'>;

/** `fields`, completed with the serialised members, which parse once when something reads them. */
export function withSerialisedParts(fields: Omit<EvaluatedResponse, keyof Parts>, members: PooledReply, filtered: number): EvaluatedResponse {
  let parts: Parts | undefined;
  const parsed = (): Parts => (parts ??= JSON.parse(`{${members.text()}}`) as Parts);
  const evaluated = fields as EvaluatedResponse;
  for (const key of ['result', 'filtered', 'labels'] as const) {
    Object.defineProperty(evaluated, key, { get: () => parsed()[key], enumerable: true, configurable: true });
  }
  serialised.set(evaluated, { members, filtered });
  return evaluated;
}

/** Parts withheld, without parsing the serialised members. */
export function filteredCount(evaluated: EvaluatedResponse): number {
  return serialised.get(evaluated)?.filtered ?? evaluated.filtered.length;
}

/** A reply's JSON bytes, and what gives their memory back once the socket has them. */
export interface SerialisedReply {
  json: Buffer;
  release: () => void;
}

/**
 * The reply's JSON when its members came serialised, else undefined (the
 * route's schema serialises it). The other members are written from the
 * object as it is now: a session's merge may have moved `agent` since.
 * Its bytes are valid until `release`; reading the members after that throws.
 */
export function serialisedReply(evaluated: EvaluatedResponse): SerialisedReply | undefined {
  const s = serialised.get(evaluated);
  if (!s) return undefined;
  const { decision_id, guard_digest, decision, agent, operation, mode, reason, notice } = evaluated;
  const head = JSON.stringify({ decision_id, guard_digest, decision, agent, operation, mode, reason, notice });
  const { members } = s;
  return { json: members.framed(`${head.slice(0, -1)},`, '}'), release: () => members.release() };
}
