/**
 * The nesting rules both JSON readers keep: the service's request bodies
 * (http/json-body.ts) and the JSON inside a tool result (strict-json.ts).
 * Each parses with JSON.parse first and walks the parsed value once; the
 * character scan of the text is for what a parsed value no longer shows
 * (how deep text that failed to parse is, how many members the text wrote
 * before duplicates collapsed), so each reader runs it only then.
 */

/** What one walk of a parsed value found. */
export interface ValueNesting {
  /** Some array or object sits deeper than the limit; the walk stopped there, so `members` is partial. */
  tooDeep: boolean;
  /** Own members of every object. */
  members: number;
  /**
   * An object has a `__proto__` member, or a `constructor` member that is an
   * object with its own `prototype`: the keys secure-json-parse refuses,
   * since code that merges the value could reach a prototype through them.
   */
  prototypeKey: boolean;
}

/**
 * Walks a parsed JSON value: how deep it nests (an array or object is one
 * level more than what holds it, the outermost is level 1), its members and
 * any prototype key. Iterative, so a deep value never reaches the stack.
 */
export function walkValue(value: unknown, limit: number): ValueNesting {
  const found: ValueNesting = { tooDeep: false, members: 0, prototypeKey: false };
  if (typeof value !== 'object' || value === null) return found;
  const nodes: object[] = [value];
  const depths: number[] = [1];
  while (nodes.length > 0) {
    const node = nodes.pop() as object;
    const depth = depths.pop() as number;
    if (depth > limit) {
      found.tooDeep = true;
      return found;
    }
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const v: unknown = node[i];
        if (typeof v === 'object' && v !== null) {
          nodes.push(v);
          depths.push(depth + 1);
        }
      }
      continue;
    }
    for (const key in node) {
      found.members++;
      const v = (node as Record<string, unknown>)[key];
      if (key === '__proto__' || (key === 'constructor' && typeof v === 'object' && v !== null && Object.hasOwn(v, 'prototype'))) {
        found.prototypeKey = true;
      }
      if (typeof v === 'object' && v !== null) {
        nodes.push(v);
        depths.push(depth + 1);
      }
    }
  }
  return found;
}

/** What the character scan of a JSON text found. */
export interface TextNesting {
  /** Brackets outside strings open deeper than the limit; the scan stopped there, so `members` is partial. */
  tooDeep: boolean;
  /** Object members written in the text: one ':' outside strings per member of valid JSON. */
  members: number;
}

/**
 * Scans JSON text, valid or not, for its nesting depth and member count.
 * Skips strings with indexOf (tool results are mostly string content), so
 * brackets and colons inside strings do not count.
 */
export function scanText(text: string, limit: number): TextNesting {
  let depth = 0;
  let members = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      // The string ends at the first quote after an even run of backslashes.
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
