/**
 * The one base of every error the service raises, in the manner of undici's
 * errors: a stable `code` that callers branch on, so nothing parses a message.
 * The codes are the API's (README "Errors", docs/contract.md §4); the HTTP
 * status of each is in `http/error-status.ts`, a table keyed by this list.
 *
 * This module sits at the root of `src/`, below every folder, so that any
 * layer may extend it.
 */

/** Every code an error of the service can carry, by what it means. */
export const ERROR_CODES = [
  // The request itself.
  'WG_ERR_INVALID_REQUEST',
  'WG_ERR_INVALID_JSON',
  'WG_ERR_JSON_TOO_DEEP',
  'WG_ERR_UNAUTHENTICATED',
  'WG_ERR_POLICY_LOCKED',
  'WG_ERR_NOT_FOUND',
  'WG_ERR_UNKNOWN_GUARD',
  'WG_ERR_UNKNOWN_SESSION',
  'WG_ERR_REQUEST_TIMEOUT',
  'WG_ERR_BODY_TOO_LARGE',
  'WG_ERR_BATCH_TOO_LARGE',
  'WG_ERR_UNSUPPORTED_MEDIA_TYPE',
  'WG_ERR_HEADERS_TOO_LARGE',
  // The guard and its runtime.
  'WG_ERR_GUARD',
  'WG_ERR_GUARD_LOAD',
  'WG_ERR_WASM_FORMAT',
  'WG_ERR_CACHE_CLOSED',
  'WG_ERR_GUARD_REPORTED',
  'WG_ERR_POLICY_REJECTED',
  'WG_ERR_GUARD_OUTPUT',
  'WG_ERR_BUFFER_LIMIT',
  'WG_ERR_INPUT_TOO_LARGE',
  'WG_ERR_GUARD_TRAP',
  'WG_ERR_GUARD_EXIT',
  'WG_ERR_GUARD_TIMEOUT',
  'WG_ERR_GUARD_POISONED',
  'WG_ERR_GUARD_OVERLOADED',
  'WG_ERR_POOL_CLOSED',
  'WG_ERR_GUARD_UNAVAILABLE',
  // The DIFC checks of a guard's output.
  'WG_ERR_DIFC',
  'WG_ERR_INVALID_LABEL',
  'WG_ERR_JSON_POINTER',
  'WG_ERR_RESPONSE_LABELS',
  // A guard's backend (call_backend answers the guard -1; these stay inside the service).
  'WG_ERR_BACKEND_CALL',
  'WG_ERR_BACKEND_RESPONSE_TOO_LARGE',
  // Sessions.
  'WG_ERR_SESSION_STORE_UNAVAILABLE',
  // The service as a whole.
  'WG_ERR_OVERLOADED',
  'WG_ERR_DRAINING',
  'WG_ERR_CONFIG',
  'WG_ERR_RELOAD_CONFIG',
  'WG_ERR_INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export abstract class WasmGuardError extends Error {
  abstract readonly code: ErrorCode;

  override get name(): string {
    return this.constructor.name;
  }
}
