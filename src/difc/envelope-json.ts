import { isMcpEnvelope, isObject } from './mcp.js';

/**
 * JSON.stringify of a tool result, with the document's text written as
 * `quoted` (JSON.stringify(text), computed once) wherever a content block
 * holds exactly that text. The response check writes the document's text
 * twice, into the guard's input and into the reply, and escaping it costs as
 * much as parsing it: the text is most of a result's bytes.
 */
export function stringifyWithText(value: unknown, text: string, quoted: string): string {
  if (!isMcpEnvelope(value)) return JSON.stringify(value);
  return membersJson(value, (key, member) => (key === 'content' ? contentJson(value.content, text, quoted) : JSON.stringify(member)));
}

function contentJson(blocks: readonly unknown[], text: string, quoted: string): string {
  const parts = blocks.map((block) =>
    isObject(block) && block.text === text
      ? membersJson(block, (key, member) => (key === 'text' ? quoted : JSON.stringify(member)))
      : (JSON.stringify(block) ?? 'null'),
  );
  return `[${parts.join(',')}]`;
}

/** An object's JSON as JSON.stringify writes it (same keys, same order, undefined members left out), each member by `write`. */
function membersJson(object: Record<string, unknown>, write: (key: string, member: unknown) => string | undefined): string {
  const members: string[] = [];
  for (const key of Object.keys(object)) {
    const json = write(key, object[key]);
    if (json !== undefined) members.push(`${JSON.stringify(key)}:${json}`);
  }
  return `{${members.join(',')}}`;
}
