import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { LabelsJson, Mode } from '../difc/types.js';
import { CallDeadline } from './call-deadline.js';
import { SessionStoreUnavailableError } from './errors.js';
import { RedisBatch } from './redis-batch.js';
import { storedTags } from './stored-tags.js';
import { MERGE_SCRIPT, SESSION_FIELDS, TURN_SCRIPT } from './redis-scripts.js';
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

/** A session's SESSION_FIELDS as the scripts return them (null: a field the hash lacks). */
type SessionFields = Array<string | null>;

type ScriptedRedis = Redis & {
  wgMerge(key: string, secrecy: string, integrity: string, now: string): Promise<[number, SessionFields] | null>;
  wgTurn(keyCount: number, ...keysThenArgs: Array<string | number>): Promise<Array<SessionFields | Error>>;
};

/** A store call that waits for the turn's script call: a session read, or a decision record to keep. */
type TurnCall = { read: string } | { keep: string; value: string; ttlS: number };

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
  readonly #turn: RedisBatch<TurnCall, SessionFields | undefined>;
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
      // Auto-pipelining is left off: the reads and writes of one turn of the event loop are already one command
      // each (redis-batch.ts), and ioredis keeps one auto-pipeline in flight at a time, so under load every
      // session read also waited for the batch before it (the event loop sat idle 14% of the time).
      enableAutoPipelining: false,
      // Reconnect for ever, backing off to one attempt a second.
      retryStrategy: (attempt) => Math.min(50 * attempt, 1000),
    });
    redis.defineCommand('wgMerge', { numberOfKeys: 1, lua: MERGE_SCRIPT });
    // No numberOfKeys: each call carries a batch (redis-batch.ts), its key count as the first argument.
    redis.defineCommand('wgTurn', { lua: TURN_SCRIPT });
    // Without a listener an 'error' event would be thrown; state changes are logged once per change.
    redis.on('error', (error: Error) => this.#setAvailable(false, error));
    redis.on('ready', () => this.#setAvailable(true));
    redis.on('end', () => this.#setAvailable(false));
    redis.on('close', () => this.#setAvailable(false));
    this.#redis = redis as ScriptedRedis;
    this.#turn = new RedisBatch((calls) => this.#sendTurn(calls));
  }

  /**
   * The session reads and decision writes of one turn as one script call
   * (TURN_SCRIPT): a session evaluate reads in the turn its request arrives
   * and keeps its decision in a later one, so under load each turn has both,
   * and one call costs the event loop and Redis half of two.
   */
  async #sendTurn(calls: TurnCall[]): Promise<Array<SessionFields | undefined | Error>> {
    const keys: string[] = [];
    const args: Array<string | number> = [];
    for (const call of calls) if ('read' in call) keys.push(call.read);
    const reads = keys.length;
    args.push(reads);
    for (const call of calls) {
      if ('keep' in call) {
        keys.push(call.keep);
        args.push(call.value, call.ttlS);
      }
    }
    const answers = await this.#redis.wgTurn(keys.length, ...keys, ...args);
    let read = 0;
    return calls.map((call) => ('read' in call ? answers[read++]! : undefined));
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
    const fields = (await this.#call('get', () => this.#turn.add({ read: SESSION_PREFIX + id })))!;
    return fields.length === 0 ? undefined : toRecord(id, fields);
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
    await this.#call('put_decision', () => this.#turn.add({ keep: DECISION_PREFIX + decisionId, value: JSON.stringify(record), ttlS }));
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

const FIELD = Object.fromEntries(SESSION_FIELDS.map((name, i) => [name, i])) as Record<(typeof SESSION_FIELDS)[number], number>;

/** A session from its SESSION_FIELDS. */
function toRecord(id: string, fields: SessionFields): SessionRecord {
  const field = (name: (typeof SESSION_FIELDS)[number]) => fields[FIELD[name]] ?? undefined;
  return {
    id,
    guard: field('guard') ?? '',
    policy: field('hasPolicy') === '1' ? (field('policy') ?? '') : null,
    mode: (field('mode') ?? 'strict') as Mode,
    agent: { secrecy: storedTags(field('secrecy')), integrity: storedTags(field('integrity')) },
    created: Number(field('created')),
    updated: Number(field('updated')),
    changes: Number(field('changes')),
    ttlS: Number(field('ttl')),
  };
}
