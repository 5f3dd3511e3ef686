/**
 * A label as the Redis store keeps it (a JSON array of tags) read back into
 * the sorted, duplicate-free list merge.ts compares.
 *
 * Every session evaluate reads two such arrays, and under load the same few
 * texts come back again and again (a session's labels change only when a
 * read moves them). Parsing and normalising each costs more than finding the
 * text in a Map, so recent texts keep their list. The lists are frozen: one
 * list serves many requests, and none may change it under another.
 */
const cache = new Map<string, readonly string[]>();

/** Texts kept at most; past it the cache starts again (a handful of live label sets is the common case). */
const MAX_TEXTS = 512;
/** Longer texts are parsed every time: the cache must not hold on to big labels. */
const MAX_TEXT_LENGTH = 4096;

/** The sorted, duplicate-free, frozen tags of a stored JSON array (a missing field is no tags). */
export function storedTags(text: string | undefined): string[] {
  const json = text ?? '[]';
  let tags = cache.get(json);
  if (tags === undefined) {
    tags = Object.freeze([...new Set(JSON.parse(json) as string[])].sort());
    if (json.length <= MAX_TEXT_LENGTH) {
      if (cache.size >= MAX_TEXTS) cache.clear();
      cache.set(json, tags);
    }
  }
  // Typed as string[] for LabelsJson; frozen, so a caller that tried to change it would throw, not corrupt others.
  return tags as string[];
}
