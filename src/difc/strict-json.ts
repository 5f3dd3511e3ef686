import { scanText, walkValue } from './json-nesting.js';

/**
 * The one parse of JSON found inside a tool result (an MCP text block), with
 * the rules the host gives the guard: no BOM, well-formed Unicode, nesting no
 * deeper than the guard's limit, no duplicate keys. JSON.parse alone would
 * accept duplicates (last wins) and any depth, so a document the guard refused
 * or read differently could still be shown; text that breaks a rule is not
 * JSON to the service and stays opaque.
 */

/** The sample guards' JSON reader (guards/lib/json.ts MAX_DEPTH) refuses nesting deeper than this. */
const GUARD_MAX_DEPTH = 512;

/** `text` is the host's serialisation of `value` (JSON.stringify with the indent asked for). */
export type StrictJson = { ok: true; value: unknown; text: string } | { ok: false; problem: string };

/** Whether `text` has no lone surrogate (such text has no UTF-8 form). */
export const isWellFormed = (text: string): boolean => (text as string & { isWellFormed(): boolean }).isWellFormed();

const tooDeep = (maxDepth: number): StrictJson => ({ ok: false, problem: `is nested deeper than ${maxDepth} levels` });

/**
 * The host's serialisation of a document: JSON.stringify, indented when the
 * text it came from was. The replacer is passed as undefined, never null:
 * V8 14 (Node 26) takes its fast serialiser only then, and a null replacer
 * doubles the time of a 64 KB document (35 against 70 µs).
 */
export const serialiseDocument = (value: unknown, indent: string | undefined): string => JSON.stringify(value, undefined, indent);

/**
 * Parses `text` as one JSON document under the guard's rules, or says which
 * rule it breaks; serialises what it parsed with `indent`.
 */
export function parseStrictJson(text: string, maxDepth: number = GUARD_MAX_DEPTH, indent?: string): StrictJson {
  if (text.charCodeAt(0) === 0xfeff) return { ok: false, problem: 'starts with a byte order mark' };
  // A lone surrogate cannot be encoded as UTF-8: the guard would get other bytes than the agent.
  if (!isWellFormed(text)) return { ok: false, problem: 'is not well-formed Unicode (lone surrogate)' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    // Text nested too deep is refused for that, valid or not.
    return scanText(text, maxDepth).tooDeep ? tooDeep(maxDepth) : { ok: false, problem: `is not JSON (${(error as Error).message})` };
  }
  const parsed = walkValue(value, maxDepth);
  if (parsed.tooDeep) return tooDeep(maxDepth);
  const serialised = serialiseDocument(value, indent);
  // A text that is its own serialisation (what a tool's JSON.stringify sends) holds exactly the parsed
  // value: no duplicate key, no deeper member. Any other text is scanned for what parsing collapsed:
  // each member leaves one ':' in it, and a too-deep member a later duplicate replaced still counts.
  if (serialised !== text) {
    const written = scanText(text, maxDepth);
    if (written.tooDeep) return tooDeep(maxDepth);
    if (written.members !== parsed.members) return { ok: false, problem: 'has duplicate keys in an object' };
  }
  return { ok: true, value, text: serialised };
}
