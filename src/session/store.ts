import type { LabelsJson, Mode, Operation, ResourceLabelsJson } from '../difc/types.js';

/**
 * A session as the store keeps it (docs/contract.md §7). The labels are
 * authoritative once the session exists: requests that name it cannot send
 * their own.
 */
export interface SessionRecord {
  id: string;
  guard: string;
  /** The policy's JSON text as the guard was given it (null: the guard's built-in defaults). */
  policy: string | null;
  mode: Mode;
  agent: LabelsJson;
  /** Epoch milliseconds. */
  created: number;
  updated: number;
  /** How many merges moved the labels. */
  changes: number;
  /** Idle time to live, refreshed on every use. */
  ttlS: number;
}

/**
 * What /v1/evaluate decided, kept so that /v1/evaluate/response can use the
 * service's own resource labels instead of what a client sends back. Bound to
 * the session, guard, tool and arguments it was made for.
 */
export interface DecisionRecord {
  session: string;
  guard: string;
  tool: string;
  /** SHA-256 of the arguments' JSON text: a response for other arguments is labelled again. */
  argsDigest: string;
  operation: Operation;
  resource: ResourceLabelsJson;
}

/** Outcome of a merge: the labels now stored, and whether this merge moved them. */
export interface MergeResult {
  record: SessionRecord;
  changed: boolean;
}

/**
 * Where sessions live. Small on purpose: the memory store serves one replica,
 * the Redis store many; routes that use sessions (evaluate, evaluate/response,
 * and later batch and AuthZEN routes, which read a session's labels once per
 * batch with `get`) need only these calls.
 *
 * Every call rejects with SessionStoreUnavailableError when the store cannot
 * answer within its deadline; callers fail closed.
 */
export interface SessionStore {
  readonly kind: 'memory' | 'redis';
  /** Stores a new session with its TTL. */
  create(record: SessionRecord): Promise<void>;
  /** The session, its idle TTL refreshed; undefined when unknown or expired. */
  get(id: string): Promise<SessionRecord | undefined>;
  /**
   * Atomically merges `computed` into the stored labels (secrecy ∪,
   * integrity ∩, see merge.ts) and refreshes the TTL; undefined when the
   * session is gone. Never a blind write.
   */
  mergeLabels(id: string, computed: LabelsJson): Promise<MergeResult | undefined>;
  /** Ends the session; false when there was none. */
  delete(id: string): Promise<boolean>;
  putDecision(decisionId: string, record: DecisionRecord, ttlS: number): Promise<void>;
  getDecision(decisionId: string): Promise<DecisionRecord | undefined>;
  /** Sessions held now (the Redis store counts keys with a bounded SCAN; undefined when it cannot answer). */
  live(): Promise<number | undefined>;
  /** Whether the last contact with the store worked (readiness and fast failure). */
  readonly available: boolean;
  close(): Promise<void>;
}

/** What the stores report for metrics; every callback is optional. */
export interface SessionStoreObserver {
  expired?(count: number): void;
  evicted?(count: number): void;
  /** Duration of one store call, by operation and outcome. */
  call?(op: string, seconds: number, ok: boolean): void;
}
