import type { LabelsJson } from '../difc/types.js';
import { mergeLabels, sameLabels } from './merge.js';
import type { DecisionRecord, MergeResult, SessionRecord, SessionStore, SessionStoreObserver } from './store.js';

export interface MemoryStoreOptions {
  /** Sessions held at most; past it the least recently used is evicted (counted). */
  maxSessions: number;
  observer?: SessionStoreObserver;
  /** Clock in epoch ms (tests). */
  now?: () => number;
  /** How often expired sessions are swept (they are also dropped when met); 0 = never. */
  sweepIntervalMs?: number;
}

interface Entry<T> {
  value: T;
  expiresAt: number;
}

/** Entries looked at per sweep: a sweep must never hold the event loop long. */
const SWEEP_BATCH = 10_000;

/**
 * A bounded LRU map with a per-entry idle TTL. A Map keeps insertion order,
 * so re-inserting on use keeps the least recently used entry first.
 */
class LruTtl<T> {
  readonly #entries = new Map<string, Entry<T>>();
  constructor(
    readonly max: number,
    readonly now: () => number,
    readonly onExpired: (n: number) => void,
    readonly onEvicted: (n: number) => void,
  ) {}

  get size(): number {
    return this.#entries.size;
  }

  /** The live entry, moved to the most recently used end; its TTL refreshed to `ttlOf(value)` when given. */
  use(key: string, ttlOf?: (value: T) => number): T | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    const now = this.now();
    if (entry.expiresAt <= now) {
      this.#entries.delete(key);
      this.onExpired(1);
      return undefined;
    }
    this.#entries.delete(key);
    if (ttlOf) entry.expiresAt = now + ttlOf(entry.value) * 1000;
    this.#entries.set(key, entry);
    return entry.value;
  }

  set(key: string, value: T, ttlS: number): void {
    this.#entries.delete(key);
    this.#entries.set(key, { value, expiresAt: this.now() + ttlS * 1000 });
    let evicted = 0;
    while (this.#entries.size > this.max) {
      this.#entries.delete(this.#entries.keys().next().value!);
      evicted++;
    }
    if (evicted > 0) this.onEvicted(evicted);
  }

  delete(key: string): boolean {
    const entry = this.#entries.get(key);
    if (!entry) return false;
    this.#entries.delete(key);
    if (entry.expiresAt <= this.now()) {
      this.onExpired(1);
      return false;
    }
    return true;
  }

  /** Drops expired entries among the least recently used. */
  sweep(): void {
    const now = this.now();
    let seen = 0;
    let expired = 0;
    for (const [key, entry] of this.#entries) {
      if (++seen > SWEEP_BATCH) break;
      if (entry.expiresAt <= now) {
        this.#entries.delete(key);
        expired++;
      }
    }
    if (expired > 0) this.onExpired(expired);
  }
}

/**
 * The embedded store for one replica (WASMGUARD_SESSION_STORE=memory, the
 * default). Every call runs to completion on the event loop, so the merge is
 * atomic without locks.
 */
export class MemorySessionStore implements SessionStore {
  readonly kind = 'memory' as const;
  readonly available = true;
  readonly #sessions: LruTtl<SessionRecord>;
  readonly #decisions: LruTtl<DecisionRecord>;
  readonly #now: () => number;
  readonly #timer: NodeJS.Timeout | undefined;

  constructor(options: MemoryStoreOptions) {
    this.#now = options.now ?? Date.now;
    const observer = options.observer ?? {};
    this.#sessions = new LruTtl<SessionRecord>(
      options.maxSessions,
      this.#now,
      (n) => observer.expired?.(n),
      (n) => observer.evicted?.(n),
    );
    // Decision records are bounded like sessions; losing one only means labelling the call again.
    this.#decisions = new LruTtl<DecisionRecord>(options.maxSessions, this.#now, () => {}, () => {});
    const sweepMs = options.sweepIntervalMs ?? 30_000;
    if (sweepMs > 0) {
      this.#timer = setInterval(() => {
        this.#sessions.sweep();
        this.#decisions.sweep();
      }, sweepMs);
      this.#timer.unref();
    }
  }

  async create(record: SessionRecord): Promise<void> {
    this.#sessions.set(record.id, copy(record), record.ttlS);
  }

  async get(id: string): Promise<SessionRecord | undefined> {
    const record = this.#sessions.use(id, ttlOf);
    return record && copy(record);
  }

  async mergeLabels(id: string, computed: LabelsJson): Promise<MergeResult | undefined> {
    const record = this.#sessions.use(id, ttlOf);
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
    return this.#sessions.delete(id);
  }

  async putDecision(decisionId: string, record: DecisionRecord, ttlS: number): Promise<void> {
    this.#decisions.set(decisionId, record, ttlS);
  }

  async getDecision(decisionId: string): Promise<DecisionRecord | undefined> {
    return this.#decisions.use(decisionId);
  }

  async live(): Promise<number> {
    return this.#sessions.size;
  }

  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
  }
}

const ttlOf = (record: SessionRecord) => record.ttlS;

/** Callers get copies: a record handed out must not change under them, nor change the store. */
function copy(record: SessionRecord): SessionRecord {
  return { ...record, agent: { secrecy: [...record.agent.secrecy], integrity: [...record.agent.integrity] } };
}
