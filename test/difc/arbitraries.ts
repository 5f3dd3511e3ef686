import fc from 'fast-check';
import type { LabelsJson, ResourceLabelsJson } from '../../src/difc/types.js';

/**
 * Small tag universes so generated labels overlap often: with long random
 * strings every subset check would fail and the properties would test little.
 */
export const tag = fc.constantFrom('a', 'b', 'c', 'd', 'private:octo/x', 'approved:octo');
export const tags = fc.uniqueArray(tag, { maxLength: 4 });
/** Tags with messy input: spaces, empties and duplicates that normalisation must remove. */
export const rawTags = fc.array(fc.oneof(tag, tag.map((t) => ` ${t} `), fc.constant(''), fc.constant('  ')), { maxLength: 6 });
export const labelsJson: fc.Arbitrary<LabelsJson> = fc.record({ secrecy: tags, integrity: tags });
export const resourceJson: fc.Arbitrary<ResourceLabelsJson> = fc.record({
  description: fc.constantFrom('repo', 'issue', 'private repo octo/x'),
  secrecy: tags,
  integrity: tags,
});
export const operation = fc.constantFrom('read' as const, 'write' as const, 'read-write' as const);
export const mode = fc.constantFrom('strict' as const, 'filter' as const, 'propagate' as const);

export const isSubset = (a: readonly string[], b: readonly string[]) => a.every((t) => b.includes(t));
