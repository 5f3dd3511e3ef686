/**
 * Typed errors of the DIFC library. Each has a stable `code` so the HTTP layer
 * can map it to a status without parsing messages (a response-labelling error
 * is a guard fault: 502).
 */
import { WasmGuardError, type ErrorCode } from '../errors.js';

export class DifcError extends WasmGuardError {
  readonly code: ErrorCode = 'WG_ERR_DIFC';
}

/** A tag that is not a string: dropping it silently could weaken a label, so refuse. */
export class LabelError extends DifcError {
  override readonly code = 'WG_ERR_INVALID_LABEL';
}

export type JsonPointerProblem = 'syntax' | 'missing' | 'not-container' | 'bad-index';

/** A JSON Pointer that is malformed or does not resolve in a document. */
export class JsonPointerError extends DifcError {
  override readonly code = 'WG_ERR_JSON_POINTER';
  constructor(
    message: string,
    readonly pointer: string,
    readonly problem: JsonPointerProblem,
  ) {
    super(message);
  }
}

export type ResponseLabelProblem = JsonPointerProblem | 'not-array';

/**
 * The guard's label_response output does not fit the tool result: a pointer is
 * invalid or points nowhere, or items_path is not an array. `path` is the
 * offending pointer as the guard wrote it; `field` says where it came from
 * (e.g. `labeled_paths[2].path` or `items_path`).
 */
export class ResponseLabelError extends DifcError {
  override readonly code = 'WG_ERR_RESPONSE_LABELS';
  constructor(
    message: string,
    readonly path: string,
    readonly field: string,
    readonly problem: ResponseLabelProblem,
    options?: { cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
  }
}
