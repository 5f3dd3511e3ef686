import { SessionError } from './errors.js';

/**
 * A decision request without a session: guard is required and decision_id
 * has no meaning (only a session keeps what /v1/evaluate decided).
 */
export function stateless<T extends { guard?: string; decision_id?: string }>(body: T): T & { guard: string } {
  if (body.guard === undefined) throw new SessionError('WG_ERR_INVALID_REQUEST', 'body is missing required field "guard" (or send "session")');
  if (body.decision_id !== undefined) {
    throw new SessionError('WG_ERR_INVALID_REQUEST', 'body.decision_id is only accepted with body.session; without one, send operation and resource or neither');
  }
  return body as T & { guard: string };
}
