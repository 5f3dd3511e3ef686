import type { FastifyInstance } from 'fastify';
import { WasmGuardError } from '../errors.js';

/** A request body nested deeper than the limit: refused before parsing, since deep JSON can exhaust the stack later. */
export class JsonDepthError extends WasmGuardError {
  readonly code = 'WG_ERR_JSON_TOO_DEEP';
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

/** Whether nesting anywhere exceeds `limit`. Skips strings, so brackets in text do not count. */
export function exceedsDepth(text: string, limit: number): boolean {
  // A document cannot be deeper than it is long.
  if (text.length <= limit) return false;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      // Jump over the string with indexOf (tool results are mostly string content, and a character
      // loop cost more than parsing): it ends at the first quote after an even run of backslashes.
      for (;;) {
        i = text.indexOf('"', i + 1);
        if (i < 0) return false; // unterminated: the parser refuses it
        let backslashes = 0;
        for (let j = i - 1; text.charCodeAt(j) === 92 /* \ */; j--) backslashes++;
        if ((backslashes & 1) === 0) break;
      }
    } else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > limit) return true;
    } else if (c === 125 /* } */ || c === 93 /* ] */) depth--;
  }
  return false;
}

/**
 * Replaces Fastify's content type parsers with its JSON parser
 * (secure-json-parse, refusing __proto__ and constructor.prototype keys)
 * behind a depth check. Every other content type, text/plain included, is
 * refused with 415.
 */
export function useJsonBodyParser(app: FastifyInstance, maxDepth: number): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    if (exceedsDepth(text, maxDepth)) return done(new JsonDepthError(maxDepth), undefined);
    parse(request, text, (error, value) => {
      if (!error || (error as { code?: string }).code !== 'FST_ERR_CTP_INVALID_JSON_BODY') return done(error, value);
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
