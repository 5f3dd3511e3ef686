/**
 * What every backend implementation provides, and how a failed call says why.
 * A backend only ever contacts the one URL it was configured with.
 */

import { WasmGuardError, type ErrorCode } from '../errors.js';

/** Outcomes of one call_backend as counted in wasmguard_backend_calls_total. */
export type BackendOutcome = 'ok' | 'error' | 'timeout' | 'too_large' | 'disallowed';

export interface Backend {
  /**
   * Performs one read-only call. Resolves to the JSON handed to the guard;
   * rejects (a BackendCallError, or an abort once `signal` fires) otherwise.
   */
  call(tool: string, argsJson: string, signal: AbortSignal): Promise<Uint8Array | string>;
  /** Ends the backend's sessions and connections; calls in flight are aborted. */
  close(): Promise<void>;
}

/** A failed backend call with its metric outcome and the details worth logging (never secrets). */
export class BackendCallError extends WasmGuardError {
  readonly code: ErrorCode = 'WG_ERR_BACKEND_CALL';
  constructor(
    readonly outcome: Exclude<BackendOutcome, 'ok' | 'disallowed'>,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** The response grew past maxResponseBytes: the transfer was cut, nothing more was read. */
export class ResponseTooLargeError extends BackendCallError {
  override readonly code = 'WG_ERR_BACKEND_RESPONSE_TOO_LARGE';
  constructor(limit: number, seen: number) {
    super('too_large', `response exceeds ${limit} bytes`, { limit, seen });
  }
}
