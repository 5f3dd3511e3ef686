import type { LabelsJson } from '../difc/types.js';

/**
 * The one way a session's labels change (docs/contract.md §7): a monotone
 * merge, secrecy ← stored ∪ computed, integrity ← stored ∩ computed. Union and
 * intersection commute and are idempotent, so concurrent merges of one session
 * end in the same labels whatever their order, and no merge can lower secrecy
 * or raise integrity. The Redis store runs the same rule as a Lua script
 * (redis-store.ts); a property test holds both to this function.
 */
export function mergeLabels(stored: LabelsJson, computed: LabelsJson): LabelsJson {
  const secrecy = new Set(stored.secrecy);
  for (const tag of computed.secrecy) secrecy.add(tag);
  const keep = new Set(computed.integrity);
  return { secrecy: [...secrecy].sort(), integrity: stored.integrity.filter((tag) => keep.has(tag)).sort() };
}

/** Whether two label sets hold the same tags (both sides normalised: sorted, no duplicates). */
export function sameLabels(a: LabelsJson, b: LabelsJson): boolean {
  return sameTags(a.secrecy, b.secrecy) && sameTags(a.integrity, b.integrity);
}

function sameTags(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((tag, i) => tag === b[i]);
}

/** Labels as the store keeps them: sorted and without duplicates, so equal labels compare equal. */
export function normaliseLabels(labels: LabelsJson): LabelsJson {
  return { secrecy: [...new Set(labels.secrecy)].sort(), integrity: [...new Set(labels.integrity)].sort() };
}
