/**
 * What every session store must do, run against the memory store and the
 * real Redis store alike (memory-store.test.ts, redis-store.test.ts).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Labels } from '../../src/difc/labels.js';
import { propagateRead } from '../../src/difc/flow.js';
import type { LabelsJson } from '../../src/difc/types.js';
import { mergeLabels } from '../../src/session/merge.js';
import type { SessionRecord, SessionStore } from '../../src/session/store.js';

const plainTags = ['a', 'b', 'c', 'private:octo/x', 'approved:octo', 'unapproved:octo'];
const tagsFrom = (universe: string[]) => fc.uniqueArray(fc.constantFrom(...universe), { maxLength: 5 }).map((t) => [...t].sort());
/** Labels over a small universe (so they overlap often), the wildcard included: for the lattice laws. */
export const labels: fc.Arbitrary<LabelsJson> = fc.record({ secrecy: tagsFrom([...plainTags, '*']), integrity: tagsFrom([...plainTags, '*']) });
/**
 * Without the wildcard: for comparing with reads one by one, where an agent
 * that gained "*" gains nothing more, while a concurrent merge may also add
 * the tags "*" already covers (the same labels in effect).
 */
export const plainLabels: fc.Arbitrary<LabelsJson> = fc.record({ secrecy: tagsFrom(plainTags), integrity: tagsFrom(plainTags) });

let counter = 0;
export function newRecord(agent: LabelsJson, ttlS = 60): SessionRecord {
  counter++;
  const id = `test${String(counter).padStart(4, '0')}${Math.random().toString(36).slice(2, 10)}`.padEnd(22, 'x').slice(0, 22);
  return { id, guard: 'github', policy: '{"allow-only":{"repos":"public","min-integrity":"none"}}', mode: 'propagate', agent, created: 1, updated: 1, changes: 0, ttlS };
}

/** The labels an agent ends with after reading every piece of data one after the other. */
export function readAll(start: LabelsJson, reads: LabelsJson[]): LabelsJson {
  let agent = Labels.of(start);
  for (const data of reads) agent = propagateRead(agent, Labels.of(data));
  return agent.toLabelsJson();
}

export function storeContract(name: string, store: () => SessionStore, runs: number): void {
  describe(`${name} store: the session contract`, () => {
    it('create, get, delete; unknown ids are undefined', async () => {
      const s = store();
      const record = newRecord({ secrecy: ['a'], integrity: ['approved:octo', 'unapproved:octo'] });
      await s.create(record);
      expect(await s.get(record.id)).toEqual(record);
      expect(await s.get('nosuchsessionxxxxxxxxx')).toBeUndefined();
      expect(await s.delete(record.id)).toBe(true);
      expect(await s.delete(record.id)).toBe(false);
      expect(await s.get(record.id)).toBeUndefined();
      expect(await s.mergeLabels(record.id, { secrecy: [], integrity: [] })).toBeUndefined();
    });

    it('a merge never lowers secrecy or raises integrity, and counts only changes', async () => {
      const s = store();
      const record = newRecord({ secrecy: ['a'], integrity: ['approved:octo', 'unapproved:octo'] });
      await s.create(record);
      // A computed label that tries both: drop secrecy "a", add integrity "merged:octo".
      const first = await s.mergeLabels(record.id, { secrecy: ['b'], integrity: ['unapproved:octo', 'merged:octo'] });
      expect(first).toMatchObject({ changed: true, record: { agent: { secrecy: ['a', 'b'], integrity: ['unapproved:octo'] }, changes: 1 } });
      const again = await s.mergeLabels(record.id, { secrecy: ['a', 'b'], integrity: ['unapproved:octo'] });
      expect(again).toMatchObject({ changed: false, record: { changes: 1 } });
      expect((await s.get(record.id))?.agent).toEqual({ secrecy: ['a', 'b'], integrity: ['unapproved:octo'] });
    });

    it('decision records round-trip', async () => {
      const s = store();
      const kept = { session: 's', guard: 'github', tool: 'list_issues', argsDigest: 'd', operation: 'read' as const, resource: { secrecy: [], integrity: [], description: 'repo a/b' } };
      await s.putDecision('6f1c2d1e-3b7a-4c55-9a43-0d6a8e1f2b10', kept, 60);
      expect(await s.getDecision('6f1c2d1e-3b7a-4c55-9a43-0d6a8e1f2b10')).toEqual(kept);
      expect(await s.getDecision('00000000-0000-4000-8000-000000000000')).toBeUndefined();
    });

    it('property: concurrent merges of reads made from one stale snapshot end where reading them one by one ends', async () => {
      const s = store();
      await fc.assert(
        fc.asyncProperty(plainLabels, fc.array(plainLabels, { minLength: 1, maxLength: 6 }), fc.nat(), async (start, reads, seed) => {
          const record = newRecord(start);
          await s.create(record);
          // Every replica read the same stored labels and computed its own propagation from them.
          const computed = reads.map((data) => readAll(start, [data]));
          const order = computed.map((c, i) => ({ c, k: (i * 7919 + seed) % 101 })).sort((a, b) => a.k - b.k);
          await Promise.all(order.map(({ c }) => s.mergeLabels(record.id, c)));
          const stored = (await s.get(record.id))!.agent;
          expect(stored).toEqual(readAll(start, reads));
          expect(stored).toEqual(computed.reduce(mergeLabels, start));
          await s.delete(record.id);
        }),
        { numRuns: runs },
      );
    });
  });
}
