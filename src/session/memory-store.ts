import { LRUCache } from 'lru-cache';
import type { LabelsJson } from '../difc/types.js';
import { mergeLabels, sameLabels } from './merge.js';
import type { DecisionRecord, MergeResult, SessionRecord, SessionStore, SessionStoreObserver } from './store.js';

export interface MemoryStoreOptions {
  /** Sessions held at most; past it the least recently used is evicted (counted). */
  maxSessions: number;
  observer?: SessionStoreObserver;
  /** Clock in epoch ms (tests). */
  now?: () => number;
}

/**
 * The embedded store for one replica (WASMGUARD_SESSION_STORE=memory, the
 * default). Every call runs to completion on the event loop, so the merge is
 * atomic without locks.
 */
export class MemorySessionStore implements SessionStore {
  readonly kind = 'memory' as const;
  readonly available = true;
  readonly #sessions: LRUCache<string, SessionRecord>;
  readonly #decisions: LRUCache<string, DecisionRecord>;
  readonly #now: () => number;

  /*
   * lru-cache, not a Map kept in insertion order: evicting a Map's first key
   * walks over every entry deleted before it (V8 compacts a Map's table only
   * on rehash), which cost 60 µs per eviction once 100,000 decision records
   * filled the store; lru-cache keeps its order in a linked list of indexes.
   * It allocates its index for `max` entries up front (about 40 bytes each).
   * There is no periodic sweep: lru-cache can only purge by walking every
   * entry (35 ms at 100,000), so an expired session is dropped (and counted)
   * when a call meets it, or evicted; memory stays bounded by `max` either way.
   */
  constructor(options: MemoryStoreOptions) {
    this.#now = options.now ?? Date.now;
    const observer = options.observer ?? {};
    // ttlResolution 0: staleness is judged on the store's clock at every call (tests move it by hand).
    const clock = { perf: { now: this.#now }, ttlResolution: 0 };
    this.#sessions = new LRUCache<string, SessionRecord>({
      max: options.maxSessions,
      ...clock,
      dispose: (_value, _key, reason) => {
        if (reason === 'expire') observer.expired?.(1);
        else if (reason === 'evict') observer.evicted?.(1);
      },
    });
    // Decision records are bounded like sessions; losing one only means labelling the call again.
    this.#decisions = new LRUCache<string, DecisionRecord>({ max: options.maxSessions, ...clock });
  }

  async create(record: SessionRecord): Promise<void> {
    this.#sessions.set(record.id, copy(record), { ttl: record.ttlS * 1000 });
  }

  async get(id: string): Promise<SessionRecord | undefined> {
    const record = this.#sessions.get(id, IDLE_TTL);
    return record && copy(record);
  }

  async mergeLabels(id: string, computed: LabelsJson): Promise<MergeResult | undefined> {
    const record = this.#sessions.get(id, IDLE_TTL);
    if (!record) return undefined;
    const merged = mergeLabels(record.agent, computed);
    const changed = !sameLabels(merged, record.agent);
    record.updated = this.#now();
    if (changed) {
      record.agent = merged;
      record.changes++;
    }
    return { record: copy(record), changed };
  }

  async delete(id: string): Promise<boolean> {
    // A get first, so that deleting an expired session counts it as expired and answers "not there".
    if (this.#sessions.get(id) === undefined) return false;
    return this.#sessions.delete(id);
  }

  async putDecision(decisionId: string, record: DecisionRecord, ttlS: number): Promise<void> {
    this.#decisions.set(decisionId, record, { ttl: ttlS * 1000 });
  }

  async getDecision(decisionId: string): Promise<DecisionRecord | undefined> {
    return this.#decisions.get(decisionId);
  }

  async live(): Promise<number> {
    return this.#sessions.size;
  }

  async close(): Promise<void> {}
}

/** A session's TTL is an idle time: every use starts it again. */
const IDLE_TTL = { updateAgeOnGet: true } as const;

/** Callers get copies: a record handed out must not change under them, nor change the store. */
function copy(record: SessionRecord): SessionRecord {
  return { ...record, agent: { secrecy: [...record.agent.secrecy], integrity: [...record.agent.integrity] } };
}
