/**
 * MCP tool results whose payload is JSON inside a text content block
 * (`{"content":[{"type":"text","text":"<json>"}]}`). Guards label the inner
 * JSON, so pointers apply to it; after filtering it goes back into the same
 * block, leaving every other field of the result as it was.
 */

export interface Unwrapped {
  /** The value pointers apply to: the parsed text, or the result itself. */
  document: unknown;
  mcp: boolean;
  /** The result with `document` put back where it came from. */
  rewrap(document: unknown): unknown;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export function unwrapMcpText(result: unknown): Unwrapped {
  const plain: Unwrapped = { document: result, mcp: false, rewrap: (document) => document };
  if (!isObject(result) || !Array.isArray(result.content) || result.content.length === 0) return plain;
  const first: unknown = result.content[0];
  if (!isObject(first) || first.type !== 'text' || typeof first.text !== 'string') return plain;
  let document: unknown;
  try {
    document = JSON.parse(first.text);
  } catch {
    // Prose, not JSON: the guard labels the MCP envelope itself.
    return plain;
  }
  const text = first.text;
  const content = result.content;
  return {
    document,
    mcp: true,
    rewrap(filtered: unknown): unknown {
      const block = { ...first, text: JSON.stringify(filtered, null, indentOf(text)) };
      const rewrapped: Json = { ...result, content: [block, ...content.slice(1)] };
      // MCP servers may mirror the text as structuredContent. Left alone it
      // would hand the agent the items that were just filtered out.
      if (Object.hasOwn(result, 'structuredContent')) {
        if (jsonEqual(result.structuredContent, document)) rewrapped.structuredContent = filtered;
        else delete rewrapped.structuredContent;
      }
      return rewrapped;
    },
  };
}

/** Keep a pretty-printed payload pretty: the indent of its first member, if any. */
function indentOf(text: string): string | undefined {
  return /^\s*[[{]\r?\n([ \t]+)/.exec(text)?.[1];
}

export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]));
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return (
    ka.length === kb.length &&
    ka.every((k) => Object.hasOwn(b, k) && jsonEqual((a as Json)[k], (b as Json)[k]))
  );
}
