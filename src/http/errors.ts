import type { FastifyError } from 'fastify';
import { DifcError } from '../difc/index.js';
import { UnknownGuardError } from '../decision/errors.js';
import { SessionError } from '../session/errors.js';
import {
  GuardError,
  GuardInputTooLargeError,
  GuardOverloadedError,
  GuardPolicyRejectedError,
  GuardPoolClosedError,
  GuardTimeoutError,
  GuardUnavailableError,
} from '../guard/index.js';

export interface HttpError {
  status: number;
  code: string;
  message: string;
  retryAfterSeconds?: number;
}

/** A refusal of the request as a whole, with its status and code (e.g. a batch over WASMGUARD_BATCH_MAX). */
export class RequestError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

/** Body of every error reply: a gateway that reads only `decision` fails closed. */
export function errorBody(error: HttpError) {
  return { error: { code: error.code, message: error.message }, decision: 'deny' as const };
}

/**
 * Maps every error a request can meet to DESIGN.md section 4's status codes.
 * Unknown errors are 500 with a generic message: internals are logged, not sent.
 */
export function toHttpError(error: unknown, bodyLimit: number): HttpError {
  const fst = error as FastifyError;
  if (fst.validation) return { status: 400, code: 'WG_ERR_INVALID_REQUEST', message: fst.message };
  if (error instanceof SessionError) return { status: error.status, code: error.code, message: error.message, ...(error.retryAfterSeconds ? { retryAfterSeconds: error.retryAfterSeconds } : {}) };
  if (error instanceof UnknownGuardError) return { status: 404, code: error.code, message: error.message };
  if (error instanceof GuardInputTooLargeError) return { status: 413, code: error.code, message: error.message };
  if (error instanceof GuardPolicyRejectedError) return { status: 422, code: error.code, message: error.message };
  if (error instanceof GuardTimeoutError) return { status: 504, code: error.code, message: error.message };
  if (error instanceof GuardOverloadedError) return { status: 503, code: error.code, message: error.message, retryAfterSeconds: error.retryAfterSeconds };
  if (error instanceof GuardPoolClosedError) return { status: 503, code: error.code, message: error.message, retryAfterSeconds: 1 };
  if (error instanceof GuardUnavailableError) return { status: 503, code: error.code, message: error.message, retryAfterSeconds: 5 };
  if (error instanceof GuardError || error instanceof DifcError) {
    return { status: 502, code: (error as { code?: string }).code ?? 'WG_ERR_GUARD', message: error.message };
  }
  switch (fst.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, code: 'WG_ERR_BODY_TOO_LARGE', message: `request body is over the limit of ${bodyLimit} bytes` };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, code: 'WG_ERR_UNSUPPORTED_MEDIA_TYPE', message: 'request body must be application/json' };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, code: 'WG_ERR_INVALID_REQUEST', message: 'request body is empty; a JSON object is required' };
    case 'WG_ERR_JSON_TOO_DEEP':
    case 'WG_ERR_INVALID_JSON':
      return { status: 400, code: fst.code, message: fst.message };
    case 'FST_ERR_BAD_URL':
      return { status: 400, code: 'WG_ERR_INVALID_REQUEST', message: `the request URL is malformed: ${fst.message}` };
    case 'FST_ERR_NOT_FOUND':
      return { status: 404, code: 'WG_ERR_NOT_FOUND', message: fst.message };
  }
  if (fst.statusCode === 400 || error instanceof SyntaxError) {
    return { status: 400, code: 'WG_ERR_INVALID_JSON', message: `request body is not valid JSON: ${fst.message}` };
  }
  if (fst.statusCode && fst.statusCode >= 400 && fst.statusCode < 500) {
    return { status: fst.statusCode, code: fst.code ?? 'WG_ERR_REQUEST', message: fst.message };
  }
  return { status: 500, code: 'WG_ERR_INTERNAL', message: 'internal error; the decision is deny' };
}

/** Validation messages that name the field: "body.agent.secrecy[0] must be string". */
export function formatValidationErrors(
  errors: Array<{ instancePath: string; keyword: string; message?: string; params: Record<string, unknown> }>,
  dataVar: string,
): Error {
  const messages = errors.map((e) => {
    const path = dataVar + e.instancePath.replace(/\/(\d+)(?=\/|$)/g, '[$1]').replaceAll('/', '.').replaceAll('~1', '/').replaceAll('~0', '~');
    switch (e.keyword) {
      case 'additionalProperties':
        return `${path} has unknown field "${e.params.additionalProperty as string}"`;
      case 'required':
        return `${path} is missing required field "${e.params.missingProperty as string}"`;
      case 'enum':
        return `${path} must be one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
      default:
        return `${path} ${e.message ?? 'is invalid'}`;
    }
  });
  return new Error([...new Set(messages)].join('; '));
}
