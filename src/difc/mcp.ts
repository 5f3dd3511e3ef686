import { parseStrictJson } from './strict-json.js';

/**
 * MCP tool results (`{"content":[...], "structuredContent": ..., "_meta": ...}`)
 * and the JSON document a guard labels inside them.
 *
 * Guards label the JSON inside the first text block (as the compatible
 * gateway's guards do), so pointers apply to it. The host parses that text
 * once under the guard's rules and gives the guard, and later the agent, its
 * own serialisation of what it parsed: the guard labels exactly the bytes the
 * agent may receive, never an original text the two could read differently.
 */

type Json = Record<string, unknown>;
export const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The JSON document of the first text block, as the host parsed it. */
export interface McpDocument {
  /** Index of the block in `content`. */
  block: number;
  value: unknown;
  /** The host's serialisation of `value`: what the guard labels and the agent gets when nothing is removed. */
  text: string;
  indent: string | undefined;
}

export interface PreparedResult {
  /** The tool result as the service received it. */
  original: unknown;
  /** What the guard labels: the result, with the document's text replaced by the host's serialisation. */
  forGuard: unknown;
  /** Whether the result has the MCP envelope shape (a `content` array). */
  envelope: boolean;
  /** Set when the first text block holds JSON the host accepts. */
  document?: McpDocument;
  /** Why the first text block is not a document (opaque text), when there is one. */
  opaque?: string;
}

export function isMcpEnvelope(result: unknown): result is Json & { content: unknown[] } {
  return isObject(result) && Array.isArray(result.content);
}

/** Parses the first text block's JSON once; everything else stays as received. */
export function prepareResult(result: unknown): PreparedResult {
  if (!isMcpEnvelope(result)) return { original: result, forGuard: result, envelope: false };
  const content = result.content;
  const block = firstTextBlock(content);
  const prepared: PreparedResult = { original: result, forGuard: result, envelope: true };
  if (block < 0) return prepared;
  const first = content[block] as Json;
  if (typeof first.text !== 'string') {
    prepared.opaque = 'the first text block has no text string';
    return prepared;
  }
  const indent = indentOf(first.text);
  const parsed = parseStrictJson(first.text, undefined, indent);
  if (!parsed.ok) {
    prepared.opaque = `the first text block ${parsed.problem}`;
    return prepared;
  }
  const text = parsed.text;
  prepared.document = { block, value: parsed.value, text, indent };
  // Unchanged text needs no copy of the result.
  if (text !== first.text) prepared.forGuard = withBlockText(result, block, text);
  return prepared;
}

/** Index of the content block whose text is the document (the first text block), or -1. */
export const firstTextBlock = (content: readonly unknown[]): number => content.findIndex((b) => isObject(b) && b.type === 'text');

/** A shallow copy of `result` whose content block `block` has `text`. */
export function withBlockText(result: Json & { content: unknown[] }, block: number, text: string): Json {
  const content = result.content.slice();
  content[block] = { ...(content[block] as Json), text };
  return { ...result, content };
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
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && jsonEqual((a as Json)[k], (b as Json)[k]));
}
