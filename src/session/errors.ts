import { WasmGuardError, type ErrorCode } from '../errors.js';

/** Errors of the session layer, each with the code docs/contract.md §7 gives it (its status is in http/error-status.ts). */
export class SessionError extends WasmGuardError {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Only the first 8 characters of a session id are ever logged or echoed: the id is a bearer secret. */
export function sessionPrefix(id: string): string {
  return `${id.slice(0, 8)}…`;
}

export class UnknownSessionError extends SessionError {
  constructor(id: string) {
    super('WG_ERR_UNKNOWN_SESSION', `unknown or expired session ${sessionPrefix(id)}; create one with POST /v1/sessions`);
  }
}

export class SessionStoreUnavailableError extends SessionError {
  constructor(detail: string) {
    super('WG_ERR_SESSION_STORE_UNAVAILABLE', `session store unavailable (${detail}); the decision is deny, retry later`);
  }
}

/** A request that names a session and also sends what the session holds. */
export class SessionConflictError extends SessionError {
  constructor(fields: string[]) {
    super(
      'WG_ERR_INVALID_REQUEST',
      `body.session cannot be sent with ${fields.map((f) => `body.${f}`).join(', ')}: the session's labels, policy, mode and decisions are authoritative`,
    );
  }
}

/** A request that sends a policy, mode or agent labels to a guard whose configuration locks them. */
export class PolicyLockedError extends SessionError {
  constructor(guard: string, field: string) {
    super('WG_ERR_POLICY_LOCKED', `guard ${guard} has its policy and mode locked by the operator: body.${field} is not accepted`);
  }
}
