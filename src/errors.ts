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
export const ERROR_CODES = {
  // The request itself.
  invalidRequest: 'WG_ERR_INVALID_REQUEST',
  invalidJson: 'WG_ERR_INVALID_JSON',
  jsonTooDeep: 'WG_ERR_JSON_TOO_DEEP',
  unauthenticated: 'WG_ERR_UNAUTHENTICATED',
  policyLocked: 'WG_ERR_POLICY_LOCKED',
  notFound: 'WG_ERR_NOT_FOUND',
  unknownGuard: 'WG_ERR_UNKNOWN_GUARD',
  unknownSession: 'WG_ERR_UNKNOWN_SESSION',
  requestTimeout: 'WG_ERR_REQUEST_TIMEOUT',
  bodyTooLarge: 'WG_ERR_BODY_TOO_LARGE',
  batchTooLarge: 'WG_ERR_BATCH_TOO_LARGE',
  unsupportedMediaType: 'WG_ERR_UNSUPPORTED_MEDIA_TYPE',
  headersTooLarge: 'WG_ERR_HEADERS_TOO_LARGE',
  // The guard and its runtime.
  guard: 'WG_ERR_GUARD',
  guardLoad: 'WG_ERR_GUARD_LOAD',
  wasmFormat: 'WG_ERR_WASM_FORMAT',
  cacheClosed: 'WG_ERR_CACHE_CLOSED',
  guardReported: 'WG_ERR_GUARD_REPORTED',
  policyRejected: 'WG_ERR_POLICY_REJECTED',
  guardOutput: 'WG_ERR_GUARD_OUTPUT',
  bufferLimit: 'WG_ERR_BUFFER_LIMIT',
  inputTooLarge: 'WG_ERR_INPUT_TOO_LARGE',
  guardTrap: 'WG_ERR_GUARD_TRAP',
  guardExit: 'WG_ERR_GUARD_EXIT',
  guardTimeout: 'WG_ERR_GUARD_TIMEOUT',
  guardPoisoned: 'WG_ERR_GUARD_POISONED',
  guardOverloaded: 'WG_ERR_GUARD_OVERLOADED',
  poolClosed: 'WG_ERR_POOL_CLOSED',
  guardUnavailable: 'WG_ERR_GUARD_UNAVAILABLE',
  // The DIFC checks of a guard's output.
  difc: 'WG_ERR_DIFC',
  invalidLabel: 'WG_ERR_INVALID_LABEL',
  jsonPointer: 'WG_ERR_JSON_POINTER',
  responseLabels: 'WG_ERR_RESPONSE_LABELS',
  // A guard's backend (call_backend answers the guard -1; these stay inside the service).
  backendCall: 'WG_ERR_BACKEND_CALL',
  backendResponseTooLarge: 'WG_ERR_BACKEND_RESPONSE_TOO_LARGE',
  // Sessions.
  sessionStoreUnavailable: 'WG_ERR_SESSION_STORE_UNAVAILABLE',
  // The service as a whole.
  overloaded: 'WG_ERR_OVERLOADED',
  draining: 'WG_ERR_DRAINING',
  config: 'WG_ERR_CONFIG',
  reloadConfig: 'WG_ERR_RELOAD_CONFIG',
  internal: 'WG_ERR_INTERNAL',
} as const;

export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

/** Every code, for tables that must cover them all. */
export const ALL_ERROR_CODES: readonly ErrorCode[] = Object.values(ERROR_CODES);

export abstract class WasmGuardError extends Error {
  abstract readonly code: ErrorCode;

  override get name(): string {
    return this.constructor.name;
  }
}
