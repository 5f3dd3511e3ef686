import type { FastifyError, FastifyReply } from 'fastify';
import { WasmGuardError, type ErrorCode } from '../errors.js';
import { ERROR_STATUS, type ErrorStatus } from './error-status.js';

export interface HttpError {
  status: number;
  code: string;
  message: string;
  retryAfterSeconds?: number;
}

/** A batch with more items than WASMGUARD_BATCH_MAX, refused as a whole. */
export class BatchTooLargeError extends WasmGuardError {
  readonly code = 'WG_ERR_BATCH_TOO_LARGE';
}

/** Body of every error reply: a gateway that reads only `decision` fails closed. */
export function errorBody(error: HttpError) {
  return { error: { code: error.code, message: error.message }, decision: 'deny' as const };
}

/** Sends an error reply: the status and Retry-After of its code, the documented body. */
export function sendError(reply: FastifyReply, error: HttpError): FastifyReply {
  if (error.retryAfterSeconds) void reply.header('retry-after', String(error.retryAfterSeconds));
  return reply.code(error.status).send(errorBody(error));
}

const INTERNAL: HttpError = { status: 500, code: 'WG_ERR_INTERNAL', message: 'internal error; the decision is deny' };

/**
 * The reply for a code, by the table in error-status.ts. An error may carry
 * its own Retry-After (a guard queue knows how long its wait is).
 */
export function httpError(code: ErrorCode, message: string, retryAfterSeconds?: number): HttpError {
  // A code rebuilt from a worker's message is only a string at run time.
  const entry = ERROR_STATUS[code] as ErrorStatus | undefined;
  if (entry === undefined || entry.status === 500) return INTERNAL;
  const { status, retryAfterSeconds: tableRetryAfter } = entry;
  const retryAfter = retryAfterSeconds ?? tableRetryAfter;
  return { status, code, message, ...(retryAfter ? { retryAfterSeconds: retryAfter } : {}) };
}

/** Fastify's own errors, in the API's codes. */
function fromFramework(error: FastifyError, bodyLimit: number): HttpError | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return httpError('WG_ERR_BODY_TOO_LARGE', `request body is over the limit of ${bodyLimit} bytes`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return httpError('WG_ERR_UNSUPPORTED_MEDIA_TYPE', 'request body must be application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return httpError('WG_ERR_INVALID_REQUEST', 'request body is empty; a JSON object is required');
    case 'FST_ERR_BAD_URL':
      return httpError('WG_ERR_INVALID_REQUEST', `the request URL is malformed: ${error.message}`);
    case 'FST_ERR_NOT_FOUND':
      return httpError('WG_ERR_NOT_FOUND', error.message);
  }
  return undefined;
}

/**
 * Maps every error a request can meet to docs/contract.md §4's statuses: the
 * service's own errors by their code, Fastify's by theirs. Unknown errors
 * are 500 with a generic message: internals are logged, not sent.
 */
export function toHttpError(error: unknown, bodyLimit: number): HttpError {
  const fst = error as FastifyError;
  if (fst.validation) return httpError('WG_ERR_INVALID_REQUEST', fst.message);
  if (error instanceof WasmGuardError) {
    const own = (error as { retryAfterSeconds?: unknown }).retryAfterSeconds;
    return httpError(error.code, error.message, typeof own === 'number' ? own : undefined);
  }
  const framework = fromFramework(fst, bodyLimit);
  if (framework) return framework;
  if (fst.statusCode === 400 || error instanceof SyntaxError) {
    return httpError('WG_ERR_INVALID_JSON', `request body is not valid JSON: ${fst.message}`);
  }
  if (fst.statusCode && fst.statusCode >= 400 && fst.statusCode < 500) {
    return { status: fst.statusCode, code: fst.code ?? 'WG_ERR_REQUEST', message: fst.message };
  }
  return INTERNAL;
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
