import type { Logger } from 'pino';
import { MemorySessionStore } from './memory-store.js';
import type { SessionStore, SessionStoreObserver } from './store.js';

export { SessionService, DEFAULT_DECISION_TTL_S } from './session-service.js';
export type { SessionStore, SessionRecord, DecisionRecord, SessionStoreObserver } from './store.js';
export { SessionError, UnknownSessionError, SessionStoreUnavailableError, PolicyLockedError } from './errors.js';

/** The store WASMGUARD_SESSION_STORE names: "memory", or a redis:// / rediss:// URL (connected before returning, or left reconnecting). */
export async function createSessionStore(
  setting: string,
  options: { maxSessions: number; logger: Logger; observer?: SessionStoreObserver },
): Promise<SessionStore> {
  if (setting === 'memory') return new MemorySessionStore({ maxSessions: options.maxSessions, observer: options.observer });
  // Loaded only for Redis: ioredis costs the default (memory) setup about 5 MB of idle memory.
  const { RedisSessionStore } = await import('./redis-store.js');
  const store = new RedisSessionStore({ url: setting, logger: options.logger, observer: options.observer });
  await store.connect();
  return store;
}

/** A store URL fit for a log line: the password, if any, is hidden. */
export function describeStore(setting: string): string {
  if (setting === 'memory') return 'memory';
  try {
    const url = new URL(setting);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return 'redis (unparsable URL)';
  }
}
