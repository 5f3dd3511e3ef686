import type { FastifyInstance } from 'fastify';
import { scanText, walkValue } from '../difc/json-nesting.js';
import { WORKER_CHECK_MIN_BYTES } from '../decision/decision-service.js';
import { WasmGuardError } from '../errors.js';

/** A request body nested deeper than the limit: refused, since deep JSON can exhaust the stack later. */
export class JsonDepthError extends WasmGuardError {
  readonly code = 'WG_ERR_JSON_TOO_DEEP';
  /** Fastify's convention for a content-type parser's error; the service's own replies take the status from http/error-status.ts. */
  readonly statusCode = 400;
  constructor(limit: number) {
    super(`request body JSON is nested deeper than the limit of ${limit} levels`);
  }
}

/** A request body that is not JSON, or carries a key that could poison prototypes; the message says which. */
export class JsonBodyError extends WasmGuardError {
  readonly code = 'WG_ERR_INVALID_JSON';
  readonly statusCode = 400;
}

/**
 * A body sent with a content encoding (gzip, br...): the service reads bodies as sent, so it would
 * take compressed bytes for JSON; refused with what to do instead.
 */
export class ContentEncodingError extends WasmGuardError {
  readonly code = 'WG_ERR_UNSUPPORTED_MEDIA_TYPE';
  readonly statusCode = 415;
  constructor(encoding: string) {
    super(`request body has content-encoding ${JSON.stringify(encoding.slice(0, 64))}, which is not supported; send it uncompressed`);
  }
}

/** Whether a Content-Encoding header leaves the body as sent (absent, or identity). */
const isIdentity = (encoding: string | undefined): boolean => encoding === undefined || encoding.trim().toLowerCase() === 'identity';

/** JSON.parse never returns this: it marks a body that did not parse. */
const REFUSED = Symbol('not JSON');

/**
 * The bytes each parsed body object came from, while the object lives; only for bodies the
 * response check could hand to a worker (a WeakMap entry costs every garbage collection).
 * Bytes, not the text decoded from them: a check in flight holds memory the young generation's
 * collections neither copy nor promote, and the worker's channel takes it with one copy.
 */
const sources = new WeakMap<object, Buffer>();

/**
 * The JSON bytes a request body was parsed from, handed over once (this forgets them): the response
 * check gives them to the guard's worker, which parses the result there rather than have it
 * serialised again here.
 */
export function takeBodyBytes(body: unknown): Buffer | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const bytes = sources.get(body);
  sources.delete(body);
  return bytes;
}

/**
 * Replaces Fastify's content type parsers with one JSON parser: JSON.parse,
 * then one walk of the value for the depth limit and the keys Fastify's own
 * parser (secure-json-parse) refuses, `__proto__` and `constructor.prototype`.
 * A body that passes is never scanned again. One that does not goes through
 * the checks in their old order (depth over the text, then Fastify's parser),
 * so each refusal keeps its code and message. Every other content type, text/plain
 * included, is refused with 415, and so is a compressed body.
 */
export function useJsonBodyParser(app: FastifyInstance, maxDepth: number): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  // Read as bytes (Fastify's own copy, never a view of the socket's buffer) and decoded here, as Fastify would.
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const encoding = request.headers['content-encoding'];
    if (!isIdentity(encoding)) return done(new ContentEncodingError(encoding!), undefined);
    const bytes = body as Buffer;
    const text = bytes.toString('utf8');
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = REFUSED;
    }
    if (value !== REFUSED) {
      const nesting = walkValue(value, maxDepth);
      if (!nesting.tooDeep && !nesting.prototypeKey) {
        if (bytes.length >= WORKER_CHECK_MIN_BYTES && typeof value === 'object' && value !== null) sources.set(value, bytes);
        return done(null, value);
      }
    }
    // Deep text is refused before anything reads it, whether it parses or not (or an empty body, or a byte order mark).
    if (scanText(text, maxDepth).tooDeep) return done(new JsonDepthError(maxDepth), undefined);
    parse(request, text, (error, parsed) => {
      if (!error || (error as { code?: string }).code !== 'FST_ERR_CTP_INVALID_JSON_BODY') return done(error, parsed);
      // Fastify's message does not say what is wrong; only on this error path, find out.
      try {
        JSON.parse(text);
      } catch (syntax) {
        return done(new JsonBodyError(`request body is not valid JSON: ${(syntax as Error).message}`), undefined);
      }
      done(new JsonBodyError('request body has a "__proto__" or "constructor.prototype" key, which is not allowed'), undefined);
    });
  });
}
