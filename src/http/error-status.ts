import type { ErrorCode } from '../errors.js';

/** The HTTP status of a code, and the Retry-After to send with it (a 503 always has one). */
export interface ErrorStatus {
  status: number;
  retryAfterSeconds?: number;
}

/**
 * Every error code's HTTP status (docs/contract.md §4, the README's "Errors"
 * table). Typed as a full record, so a new code does not compile until it
 * has a status here. A 500 is never explained to the client: the reply says
 * WG_ERR_INTERNAL and the error is logged.
 */
export const ERROR_STATUS: Readonly<Record<ErrorCode, ErrorStatus>> = {
  WG_ERR_INVALID_REQUEST: { status: 400 },
  WG_ERR_INVALID_JSON: { status: 400 },
  WG_ERR_JSON_TOO_DEEP: { status: 400 },
  WG_ERR_UNAUTHENTICATED: { status: 401 },
  WG_ERR_POLICY_LOCKED: { status: 403 },
  WG_ERR_NOT_FOUND: { status: 404 },
  WG_ERR_UNKNOWN_GUARD: { status: 404 },
  WG_ERR_UNKNOWN_SESSION: { status: 404 },
  WG_ERR_REQUEST_TIMEOUT: { status: 408 },
  WG_ERR_BODY_TOO_LARGE: { status: 413 },
  WG_ERR_INPUT_TOO_LARGE: { status: 413 },
  WG_ERR_BATCH_TOO_LARGE: { status: 413 },
  WG_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415 },
  WG_ERR_POLICY_REJECTED: { status: 422 },
  WG_ERR_RELOAD_CONFIG: { status: 422 },
  WG_ERR_HEADERS_TOO_LARGE: { status: 431 },

  // The guard failed: the service is a gateway to it.
  WG_ERR_GUARD: { status: 502 },
  WG_ERR_GUARD_LOAD: { status: 502 },
  WG_ERR_WASM_FORMAT: { status: 502 },
  WG_ERR_CACHE_CLOSED: { status: 502 },
  WG_ERR_GUARD_REPORTED: { status: 502 },
  WG_ERR_GUARD_OUTPUT: { status: 502 },
  WG_ERR_BUFFER_LIMIT: { status: 502 },
  WG_ERR_GUARD_TRAP: { status: 502 },
  WG_ERR_GUARD_EXIT: { status: 502 },
  WG_ERR_GUARD_POISONED: { status: 502 },
  WG_ERR_DIFC: { status: 502 },
  WG_ERR_INVALID_LABEL: { status: 502 },
  WG_ERR_JSON_POINTER: { status: 502 },
  WG_ERR_RESPONSE_LABELS: { status: 502 },

  // Overloaded, closing or a dependency down: retry, here or elsewhere. A
  // GuardOverloadedError carries its own Retry-After (the queue's wait).
  WG_ERR_GUARD_OVERLOADED: { status: 503, retryAfterSeconds: 1 },
  WG_ERR_POOL_CLOSED: { status: 503, retryAfterSeconds: 1 },
  WG_ERR_GUARD_UNAVAILABLE: { status: 503, retryAfterSeconds: 5 },
  WG_ERR_SESSION_STORE_UNAVAILABLE: { status: 503, retryAfterSeconds: 1 },
  WG_ERR_OVERLOADED: { status: 503, retryAfterSeconds: 1 },
  WG_ERR_DRAINING: { status: 503, retryAfterSeconds: 1 },

  WG_ERR_GUARD_TIMEOUT: { status: 504 },

  // call_backend answers the guard -1 and configuration is refused at start or
  // on reload (as WG_ERR_RELOAD_CONFIG): reaching a reply would be a bug.
  WG_ERR_BACKEND_CALL: { status: 500 },
  WG_ERR_BACKEND_RESPONSE_TOO_LARGE: { status: 500 },
  WG_ERR_CONFIG: { status: 500 },
  WG_ERR_INTERNAL: { status: 500 },
};
