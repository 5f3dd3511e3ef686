import { JsonPointerError } from './errors.js';

/**
 * RFC 6901 JSON Pointers over parsed JSON values. Strict on purpose: a guard
 * pointer that is malformed or points nowhere means the guard misread the
 * result, and labels applied to the wrong element would be worse than none.
 */

export type JsonPointer = readonly string[];

const ESCAPE = /~[01]/g;
const BAD_ESCAPE = /~(?![01])/;
const ARRAY_INDEX = /^(?:0|[1-9][0-9]*)$/;

export function unescapeToken(token: string): string {
  // Most tokens are plain names and indexes: no regular expression for them.
  if (!token.includes('~')) return token;
  // One pass, so "~01" becomes "~1" and not "/" (RFC 6901 section 4).
  return token.replace(ESCAPE, (m) => (m === '~0' ? '~' : '/'));
}

export function escapeToken(token: string): string {
  if (!token.includes('~') && !token.includes('/')) return token;
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** "" is the whole document; anything else must start with "/". */
export function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) {
    throw new JsonPointerError(`JSON Pointer ${JSON.stringify(pointer)} must be empty or start with "/"`, pointer, 'syntax');
  }
  // Guards label every item of a list: most pointers have no escapes at all.
  if (!pointer.includes('~')) return pointer.slice(1).split('/');
  return pointer
    .slice(1)
    .split('/')
    .map((raw) => {
      if (raw.includes('~') && BAD_ESCAPE.test(raw)) {
        throw new JsonPointerError(`JSON Pointer ${JSON.stringify(pointer)} has "~" not followed by 0 or 1`, pointer, 'syntax');
      }
      return unescapeToken(raw);
    });
}

export function formatPointer(tokens: JsonPointer): string {
  // A guard labels every item of a list: a loop, not map and join, per pointer.
  let pointer = '';
  for (let i = 0; i < tokens.length; i++) pointer += `/${escapeToken(tokens[i]!)}`;
  return pointer;
}

export function isPrefix(prefix: JsonPointer, tokens: JsonPointer): boolean {
  if (prefix.length > tokens.length) return false;
  for (let i = 0; i < prefix.length; i++) if (prefix[i] !== tokens[i]) return false;
  return true;
}

function isContainer(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/**
 * The index an array token names. Leading zeros and "-" (the element after
 * the last, which never exists when reading) are errors, as is anything out
 * of range.
 */
function arrayIndex(token: string, array: readonly unknown[], pointerOf: () => string): number {
  if (token === '-') {
    const pointer = pointerOf();
    throw new JsonPointerError(`JSON Pointer ${JSON.stringify(pointer)} uses "-", which names no existing array element`, pointer, 'missing');
  }
  if (!ARRAY_INDEX.test(token)) {
    const pointer = pointerOf();
    throw new JsonPointerError(`JSON Pointer ${JSON.stringify(pointer)} has ${JSON.stringify(token)} where an array index is needed`, pointer, 'bad-index');
  }
  const index = Number(token);
  if (index >= array.length) {
    const pointer = pointerOf();
    throw new JsonPointerError(
      `JSON Pointer ${JSON.stringify(pointer)}: index ${token} is out of range (array has ${array.length} elements)`,
      pointer,
      'missing',
    );
  }
  return index;
}

/**
 * Steps into `container` by `tokens[i]`. The error's text (`pointerOf`, the
 * tokens before `i`) is built only for an error: a guard's pointers are
 * checked by the hundred.
 */
function step(container: unknown, tokens: JsonPointer, i: number, pointerOf: () => string): unknown {
  const token = tokens[i]!;
  if (Array.isArray(container)) return container[arrayIndex(token, container, pointerOf)];
  if (isContainer(container)) {
    // Own properties only: "__proto__" or "constructor" must not reach the prototype.
    if (!Object.hasOwn(container, token)) {
      const pointer = pointerOf();
      throw new JsonPointerError(
        `JSON Pointer ${JSON.stringify(pointer)}: no member ${JSON.stringify(token)} at ${JSON.stringify(formatPointer(tokens.slice(0, i)))}`,
        pointer,
        'missing',
      );
    }
    return (container as Record<string, unknown>)[token];
  }
  const pointer = pointerOf();
  throw new JsonPointerError(
    `JSON Pointer ${JSON.stringify(pointer)}: ${JSON.stringify(formatPointer(tokens.slice(0, i)))} is ${describe(container)}, not an object or array`,
    pointer,
    'not-container',
  );
}

/** The value the pointer names; throws JsonPointerError when it names nothing. */
export function resolvePointer(document: unknown, pointer: string | JsonPointer): unknown {
  const tokens = typeof pointer === 'string' ? parsePointer(pointer) : pointer;
  const pointerOf = () => (typeof pointer === 'string' ? pointer : formatPointer(pointer));
  let current = document;
  for (let i = 0; i < tokens.length; i++) {
    current = step(current, tokens, i, pointerOf);
  }
  return current;
}
