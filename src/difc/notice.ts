import type { Decision } from './flow.js';
import type { FilteredItem } from './response.js';

/**
 * The one-line notice the compatible gateway shows an agent when DIFC took
 * something out of a tool result (its server/difc_log.go), so an agent can
 * tell "nothing there" from "something withheld". The service returns it
 * beside the result; a gateway appends it as a text block, as that one does.
 */

/** The gateway names at most this many withheld items, with description and reason. */
export const NOTICE_MAX_NAMED = 5;

/** As the gateway words it: secrecy-only, integrity-only (anything not a secrecy violation), or both. */
function policyOf(filtered: readonly FilteredItem[]): string {
  const secrecy = filtered.filter((f) => f.secrecy_violation).length;
  if (secrecy === filtered.length) return 'secrecy policy';
  if (secrecy === 0) return 'integrity policy';
  return 'access policy';
}

function named(entry: FilteredItem): string {
  const description = entry.description?.trim() ?? '';
  if (description && entry.reason) return `${description} (${entry.reason})`;
  return description || entry.reason;
}

/**
 * The notice for a response check, or undefined when nothing was withheld.
 * A single result withheld whole is a denial: the gateway's wording for one
 * item that "exists but is not accessible".
 */
export function filteredNotice(decision: Decision, filtered: readonly FilteredItem[], wholeResult: boolean): string | undefined {
  if (filtered.length === 0) return undefined;
  const policy = policyOf(filtered);
  if (decision === 'deny') {
    if (!wholeResult || filtered.length !== 1) return undefined;
    const entry = filtered[0] as FilteredItem;
    const description = entry.description?.trim();
    const head = `[Filtered] ${description || 'resource'} exists but is not accessible — filtered by ${policy}`;
    return entry.reason ? `${head} (${entry.reason})` : head;
  }
  const n = filtered.length;
  if (n <= NOTICE_MAX_NAMED) {
    const parts = filtered.map(named).filter((p) => p !== '');
    if (parts.length > 0) return `[Filtered] ${n} item(s) in this response were removed by ${policy} and are not shown: ${parts.join('; ')}.`;
  }
  return `[Filtered] ${n} item(s) in this response were removed by ${policy} and are not shown.`;
}
