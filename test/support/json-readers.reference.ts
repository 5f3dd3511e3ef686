/**
 * The JSON readers as they were before difc/json-nesting.ts: a character
 * scan of the text for depth and members before JSON.parse, and the body
 * parser's depth scan in front of Fastify's parser. Kept unchanged as the
 * reference the property tests hold the parse-first readers to.
 */
import type { FastifyInstance } from 'fastify';
import { JsonBodyError, JsonDepthError } from '../../src/http/json-body.js';

type StrictJson = { ok: true; value: unknown; text: string } | { ok: false; problem: string };

interface Scan {
  tooDeep: boolean;
  /** Object members in the text: one ':' outside strings per member of valid JSON. */
  members: number;
}

/**
 * One pass that skips strings with indexOf (tool results are mostly string
 * content): the nesting depth, and how many object members the text holds.
 */
function scan(text: string, limit: number): Scan {
  let depth = 0;
  let members = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      for (;;) {
        i = text.indexOf('"', i + 1);
        if (i < 0) return { tooDeep: false, members }; // unterminated: JSON.parse refuses it
        let backslashes = 0;
        for (let j = i - 1; text.charCodeAt(j) === 92 /* \ */; j--) backslashes++;
        if ((backslashes & 1) === 0) break;
      }
    } else if (c === 58 /* : */) members++;
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > limit) return { tooDeep: true, members };
    } else if (c === 125 /* } */ || c === 93 /* ] */) depth--;
  }
  return { tooDeep: false, members };
}

/** Own members of every object in a parsed value; iterative, so no depth reaches the stack. */
function countMembers(value: unknown): number {
  let count = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node !== 'object' || node === null) continue;
    if (Array.isArray(node)) {
      for (const v of node) if (typeof v === 'object' && v !== null) stack.push(v);
      continue;
    }
    for (const key in node) {
      count++;
      const v = (node as Record<string, unknown>)[key];
      if (typeof v === 'object' && v !== null) stack.push(v);
    }
  }
  return count;
}

const isWellFormed = (text: string): boolean => (text as string & { isWellFormed(): boolean }).isWellFormed();

/**
 * Parses `text` as one JSON document under the guard's rules, or says which
 * rule it breaks; serialises what it parsed with `indent`.
 */
export function referenceStrictJson(text: string, maxDepth: number, indent?: string): StrictJson {
  if (text.charCodeAt(0) === 0xfeff) return { ok: false, problem: 'starts with a byte order mark' };
  // A lone surrogate cannot be encoded as UTF-8: the guard would get other bytes than the agent.
  if (!isWellFormed(text)) return { ok: false, problem: 'is not well-formed Unicode (lone surrogate)' };
  const { tooDeep, members } = scan(text, maxDepth);
  if (tooDeep) return { ok: false, problem: `is nested deeper than ${maxDepth} levels` };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, problem: `is not JSON (${(error as Error).message})` };
  }
  const serialised = JSON.stringify(value, null, indent);
  // Each member leaves one ':' in the text; JSON.parse keeps one property per distinct key. A text that is
  // its own serialisation (what a tool's JSON.stringify sends) has every key it holds: no walk needed.
  if (members > 0 && serialised !== text && countMembers(value) !== members) return { ok: false, problem: 'has duplicate keys in an object' };
  return { ok: true, value, text: serialised };
}

/** Whether nesting anywhere exceeds `limit`. Skips strings, so brackets in text do not count. */
function exceedsDepth(text: string, limit: number): boolean {
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

export function useReferenceJsonBodyParser(app: FastifyInstance, maxDepth: number): void {
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
