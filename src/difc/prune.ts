import type { JsonPointer } from './json-pointer.js';

/**
 * A copy of `value` without the members and elements the pointers name (all
 * of which exist). Only containers on a path to a removed node are copied;
 * member order is kept, and array elements after a removed one move up, as
 * the agent would expect of a filtered list.
 */
export function withoutPaths(value: unknown, paths: readonly JsonPointer[]): unknown {
  if (paths.length === 0) return value;
  // Removing the root is a denial, which the caller decides: never an unchanged value.
  if (paths.some((p) => p.length === 0)) throw new RangeError('withoutPaths cannot remove the root');
  return pruneNode(value, trieOf(paths));
}

interface Trie {
  removed: boolean;
  children: Map<string, Trie>;
}

function trieOf(paths: readonly JsonPointer[]): Trie {
  const root: Trie = { removed: false, children: new Map() };
  for (const path of paths) {
    let node = root;
    for (const token of path) {
      let child = node.children.get(token);
      if (!child) node.children.set(token, (child = { removed: false, children: new Map() }));
      node = child;
    }
    node.removed = true;
  }
  return root;
}

function pruneNode(value: unknown, trie: Trie): unknown {
  if (trie.children.size === 0 || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    value.forEach((element, i) => {
      const child = trie.children.get(String(i));
      if (!child) out.push(element);
      else if (!child.removed) out.push(pruneNode(element, child));
    });
    return out;
  }
  const out: Record<string, unknown> = {};
  for (const [key, member] of Object.entries(value)) {
    const child = trie.children.get(key);
    if (child?.removed) continue;
    // defineProperty, not assignment: a member called "__proto__" must stay a member.
    Object.defineProperty(out, key, { value: child ? pruneNode(member, child) : member, enumerable: true, writable: true, configurable: true });
  }
  return out;
}
