import { isMcpEnvelope, isObject } from './mcp.js';

/**
 * JSON.stringify of a tool result, in parts whose concatenation is that
 * JSON, with the document's text written as `quoted` (JSON.stringify(text),
 * computed once) wherever a content block holds exactly that text. The
 * response check writes the document's text twice, into the guard's input
 * and into the reply, and escaping it costs as much as parsing it: the text
 * is most of a result's bytes.
 *
 * The large parts (the quoted text, a block serialised whole) stay parts of
 * their own, written into a buffer one after the other, never copied into
 * one string with the rest: a string over 128 KB is a V8 large object, with
 * a memory mapping of its own to fault in and unmap again, and joining the
 * parts of a 1,000-item result cost 360-430 µs against 16-19 for writing
 * them part by part (issue 20). A result that is not JSON (undefined) is
 * written as null, as the main thread's guard input writes it.
 */
export function stringifyWithText(value: unknown, text: string, quoted: string): string[] {
  const out = new PartsWriter();
  if (!isMcpEnvelope(value)) out.write(JSON.stringify(value) ?? 'null');
  else writeMembers(out, value, 'content', () => writeContent(out, value.content, text, quoted));
  return out.end();
}

/** Below this many UTF-16 units a piece joins its neighbours; from it on, it is a part of its own. */
const LARGE_PART = 4096;

class PartsWriter {
  readonly #parts: string[] = [];
  #small = '';

  write(piece: string): void {
    if (piece.length < LARGE_PART) {
      this.#small += piece;
      return;
    }
    if (this.#small !== '') this.#parts.push(this.#small);
    this.#parts.push(piece);
    this.#small = '';
  }

  end(): string[] {
    if (this.#small !== '') this.#parts.push(this.#small);
    return this.#parts;
  }
}

function writeContent(out: PartsWriter, blocks: readonly unknown[], text: string, quoted: string): void {
  out.write('[');
  blocks.forEach((block, i) => {
    if (i > 0) out.write(',');
    if (isObject(block) && block.text === text) writeMembers(out, block, 'text', () => out.write(quoted));
    else out.write(JSON.stringify(block) ?? 'null');
  });
  out.write(']');
}

/**
 * An object's JSON as JSON.stringify writes it (same keys, same order, undefined members left out),
 * its member `special` (always present) by `writeSpecial`, the others by JSON.stringify.
 */
function writeMembers(out: PartsWriter, object: Record<string, unknown>, special: string, writeSpecial: () => void): void {
  out.write('{');
  let first = true;
  for (const key of Object.keys(object)) {
    const json = key === special ? '' : JSON.stringify(object[key]);
    if (json === undefined) continue;
    out.write(`${first ? '' : ','}${JSON.stringify(key)}:`);
    first = false;
    if (key === special) writeSpecial();
    else out.write(json);
  }
  out.write('}');
}
