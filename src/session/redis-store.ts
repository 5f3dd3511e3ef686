import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { LabelsJson, Mode } from '../difc/types.js';
import { CallDeadline } from './call-deadline.js';
import { SessionStoreUnavailableError } from './errors.js';
import { normaliseLabels } from './merge.js';
import { MERGE_SCRIPT, TOUCH_SCRIPT } from './redis-scripts.js';
import type { DecisionRecord, MergeResult, SessionRecord, SessionStore, SessionStoreObserver } from './store.js';

export interface RedisStoreOptions {
  /** redis://… or rediss://… */
  url: string;
  logger: Logger;
  observer?: SessionStoreObserver;
  /** Longest a store call may take before the request fails closed (default 500 ms, inside the 1 s call deadline). */
  commandTimeoutMs?: number;
  now?: () => number;
}

const SESSION_PREFIX = 'wasmguard:session:';
const DECISION_PREFIX = 'wasmguard:decision:';
/** SCAN rounds for the live-sessions gauge: a scrape must stay cheap whatever the key count. */
const LIVE_SCAN_ROUNDS = 100;

type ScriptedRedis = Redis & {
  wgMerge(key: string, secrecy: string, integrity: string, now: string): Promise<[number, string[]] | null>;
  wgTouch(key: string): Promise<string[]>;
};

/**
 * Sessions in Redis (or Valkey), shared by every replica that names the same
 * URL. The merge is one Lua script (redis-scripts.ts), so concurrent merges
 * from any number of replicas are applied one at a time on the server.
 *
 * Fails fast instead of queueing: with the offline queue off, a call made
 * while the connection is down rejects at once, and every call has a
 * deadline; both become 503 WG_ERR_SESSION_STORE_UNAVAILABLE. ioredis
 * reconnects in the background with backoff, so the store comes back by
 * itself when Redis does.
 */
export class RedisSessionStore implements SessionStore {
  readonly kind = 'redis' as const;
  readonly #redis: ScriptedRedis;
  readonly #observer: SessionStoreObserver;
  readonly #now: () => number;
  readonly #logger: Logger;
  readonly #deadline: CallDeadline;
  #wasAvailable = false;

  constructor(options: RedisStoreOptions) {
    this.#observer = options.observer ?? {};
    this.#now = options.now ?? Date.now;
    this.#logger = options.logger;
    const timeout = options.commandTimeoutMs ?? 500;
    // Not ioredis's commandTimeout, which arms a timer per command: see call-deadline.ts.
    this.#deadline = new CallDeadline(timeout);
    const redis = new Redis(options.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      connectTimeout: Math.max(timeout, 1000),
      maxRetriesPerRequest: 1,
      // Commands issued in one turn of the event loop (many sessions' reads under load) go out in one write.
      enableAutoPipelining: true,
      // Reconnect for ever, backing off to one attempt a second.
      retryStrategy: (attempt) => Math.min(50 * attempt, 1000),
    });
    redis.defineCommand('wgMerge', { numberOfKeys: 1, lua: MERGE_SCRIPT });
    redis.defineCommand('wgTouch', { numberOfKeys: 1, lua: TOUCH_SCRIPT });
    // Without a listener an 'error' event would be thrown; state changes are logged once per change.
    redis.on('error', (error: Error) => this.#setAvailable(false, error));
    redis.on('ready', () => this.#setAvailable(true));
    redis.on('end', () => this.#setAvailable(false));
    redis.on('close', () => this.#setAvailable(false));
    this.#redis = redis as ScriptedRedis;
  }

  /** Connects, waiting at most the connect timeout: a store that is down does not stop the service from starting. */
  async connect(): Promise<void> {
    try {
      await this.#redis.connect();
    } catch (error) {
      this.#logger.warn({ err: error }, 'session store: Redis is not reachable yet; session calls answer 503 until it is');
    }
  }

  get available(): boolean {
    return this.#redis.status === 'ready';
  }

  #setAvailable(up: boolean, error?: Error): void {
    if (up === this.#wasAvailable) return;
    this.#wasAvailable = up;
    if (up) this.#logger.info('session store: connected to Redis');
    else this.#logger.warn({ err: error?.message }, 'session store: lost Redis; reconnecting in the background');
  }

  async #call<T>(op: string, run: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      const value = await this.#deadline.guard(run());
      this.#observer.call?.(op, (performance.now() - started) / 1000, true);
      return value;
    } catch (error) {
      this.#observer.call?.(op, (performance.now() - started) / 1000, false);
      const detail = this.available ? (error as Error).message : `Redis connection is ${this.#redis.status}`;
      throw new SessionStoreUnavailableError(detail);
    }
  }

  async create(record: SessionRecord): Promise<void> {
    const key = SESSION_PREFIX + record.id;
    await this.#call('create', async () => {
      const results = await this.#redis
        .multi()
        .hset(key, {
          guard: record.guard,
          policy: record.policy ?? '',
          hasPolicy: record.policy === null ? '0' : '1',
          mode: record.mode,
          secrecy: JSON.stringify(record.agent.secrecy),
          integrity: JSON.stringify(record.agent.integrity),
          created: String(record.created),
          updated: String(record.updated),
          changes: String(record.changes),
          ttl: String(record.ttlS),
        })
        .expire(key, record.ttlS)
        .exec();
      const failed = results?.find(([error]) => error);
      if (!results || failed) throw failed?.[0] ?? new Error('transaction aborted');
    });
  }

  async get(id: string): Promise<SessionRecord | undefined> {
    const flat = await this.#call('get', () => this.#redis.wgTouch(SESSION_PREFIX + id));
    return flat.length === 0 ? undefined : toRecord(id, flat);
  }

  async mergeLabels(id: string, computed: LabelsJson): Promise<MergeResult | undefined> {
    const reply = await this.#call('merge', () =>
      this.#redis.wgMerge(SESSION_PREFIX + id, JSON.stringify(computed.secrecy), JSON.stringify(computed.integrity), String(this.#now())),
    );
    if (!reply) return undefined;
    return { record: toRecord(id, reply[1]), changed: reply[0] === 1 };
  }

  async delete(id: string): Promise<boolean> {
    return (await this.#call('delete', () => this.#redis.del(SESSION_PREFIX + id))) > 0;
  }

  async putDecision(decisionId: string, record: DecisionRecord, ttlS: number): Promise<void> {
    await this.#call('put_decision', () => this.#redis.set(DECISION_PREFIX + decisionId, JSON.stringify(record), 'EX', ttlS));
  }

  async getDecision(decisionId: string): Promise<DecisionRecord | undefined> {
    const text = await this.#call('get_decision', () => this.#redis.get(DECISION_PREFIX + decisionId));
    return text === null ? undefined : (JSON.parse(text) as DecisionRecord);
  }

  async live(): Promise<number | undefined> {
    if (!this.available) return undefined;
    try {
      let cursor = '0';
      let count = 0;
      for (let round = 0; round < LIVE_SCAN_ROUNDS; round++) {
        const [next, keys] = await this.#deadline.guard(this.#redis.scan(cursor, 'MATCH', `${SESSION_PREFIX}*`, 'COUNT', 1000));
        count += keys.length;
        cursor = next;
        if (cursor === '0') return count;
      }
      return undefined;
    } catch {
      return undefined;
    }
  }

  async close(): Promise<void> {
    this.#redis.disconnect(false);
  }
}

/** A session from the flat field/value list HGETALL gives inside a script. */
function toRecord(id: string, flat: string[]): SessionRecord {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) f[flat[i]!] = flat[i + 1]!;
  return {
    id,
    guard: f.guard ?? '',
    policy: f.hasPolicy === '1' ? (f.policy ?? '') : null,
    mode: (f.mode ?? 'strict') as Mode,
    agent: normaliseLabels({ secrecy: JSON.parse(f.secrecy ?? '[]') as string[], integrity: JSON.parse(f.integrity ?? '[]') as string[] }),
    created: Number(f.created),
    updated: Number(f.updated),
    changes: Number(f.changes),
    ttlS: Number(f.ttl),
  };
}
