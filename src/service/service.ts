import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { ResolvedConfig } from '../config/load.js';
import { createBackends, type Backends } from '../backend/index.js';
import { DecisionService } from '../decision/decision-service.js';
import { CompilationCache } from '../guard/index.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildApp, type AppOptions } from '../http/app.js';
import { closeHttpServer } from '../http/close-server.js';
import { Readiness } from '../http/readiness.js';
import { Metrics } from '../metrics/metrics.js';
import type { BackendHandler } from '../pool/index.js';
import { GuardRegistry } from '../runtime/guard-registry.js';
import { ApiTokens } from '../http/plugins/auth.js';
import { ConfigError } from '../config/errors.js';
import { createSessionStore, DEFAULT_DECISION_TTL_S, describeStore, SessionService } from '../session/index.js';
import type { LogSink } from './log-sink.js';
import { GuardWatcher } from '../runtime/guard-watcher.js';
import { Reloader, type ReloadReport } from '../runtime/reload.js';
import { watchedFolders } from '../runtime/watched-folders.js';
import type { ResolvedGuard } from '../config/load.js';

export interface Service {
  app: FastifyInstance;
  registry: GuardRegistry;
  cache: CompilationCache;
  readiness: Readiness;
  metrics: Metrics;
  sessions: SessionService;
  /** Hot reload: reads the configuration again and swaps changed guards (SIGHUP, POST /v1/admin/reload, the watcher). */
  reload(trigger: string): Promise<ReloadReport>;
  /** The shutdown sequence of docs/contract.md §3; idempotent. */
  close(): Promise<void>;
}

export interface ServiceOptions {
  logger: Logger;
  pressure?: AppOptions['pressure'];
  /** Replaces the backends built from config.backends (tests). */
  backendFor?: (guard: ResolvedGuard) => BackendHandler | undefined;
  /** The logger's bounded output: its dropped lines are counted in the metrics. */
  logSink?: Pick<LogSink, 'dropped'>;
  /** Where backend headers `env:NAME` are read; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Reads the configuration again for a reload (server.ts: the same flags and environment); default: the start configuration. */
  readConfig?: () => ResolvedConfig;
}

/**
 * Wires the service together: compilation cache → guards and their pools →
 * decision service → HTTP app. Nothing listens yet.
 */
export async function createService(config: ResolvedConfig, options: ServiceOptions): Promise<Service> {
  const { logger } = options;
  const metrics = new Metrics();
  const cache = new CompilationCache();
  metrics.watchCompilationCache(cache);
  if (options.logSink) metrics.watchLogDrops(options.logSink.dropped);
  // Built first: a backend whose secret is missing stops the start before any guard is loaded.
  const backends: Backends | undefined = options.backendFor ? undefined : createBackends(config.backends, { logger, metrics, env: options.env });
  let registry: GuardRegistry;
  try {
    registry = await GuardRegistry.load(config.guards, cache, {
      logger,
      logLevel: config.server.logLevel,
      observer: metrics.poolObserver(),
      backendFor: options.backendFor ?? ((guard) => backends!.handlerFor(guard)),
      graceMs: config.server.graceMs,
    });
  } catch (error) {
    await backends?.close();
    throw error;
  }
  metrics.watchPools(registry);
  let tokens: ApiTokens | undefined;
  if (config.server.apiTokensFile) {
    try {
      tokens = new ApiTokens(config.server.apiTokensFile, logger);
    } catch (error) {
      await registry.close(0);
      await backends?.close();
      throw new ConfigError([`WASMGUARD_API_TOKENS_FILE ${config.server.apiTokensFile} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`]);
    }
  }
  const storeKind = config.server.sessionStore === 'memory' ? 'memory' : 'redis';
  const store = await createSessionStore(config.server.sessionStore, {
    maxSessions: config.server.sessionMax,
    logger,
    observer: metrics.sessionObserver(storeKind),
  });
  logger.info({ store: describeStore(config.server.sessionStore), ttl_s: config.server.sessionTtlS }, 'session store ready');
  metrics.watchSessionStore(store);
  const readiness = new Readiness(registry, store);
  const decisions = new DecisionService(registry, config.server.defaultMode);
  const sessions = new SessionService(store, decisions, {
    ttlS: config.server.sessionTtlS,
    decisionTtlS: DEFAULT_DECISION_TTL_S,
    onCreated: () => metrics.sessionsCreated.inc(),
  });
  const readConfig = options.readConfig ?? (() => config);
  const reloader = new Reloader({ registry, logger, observer: metrics.reloadObserver(), readConfig });
  // Everything that changes without a restart: the API tokens file, then the guards.
  const reload = (trigger: string) => {
    if (tokens?.reload()) logger.info({ tokens: tokens.count, trigger }, 'api tokens reloaded');
    return reloader.reload(trigger);
  };
  const app = await buildApp({ server: config.server, decisions, sessions, tokens, metrics, readiness, logger, pressure: options.pressure, reload });
  const watcher = config.server.watch
    ? new GuardWatcher({ folders: () => watchedFolders(safeRead(readConfig) ?? config), onChange: () => reload('watch'), logger })
    : undefined;

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      const { graceMs, drainMs } = config.server;
      logger.info('shutdown: readiness is now false');
      readiness.drain();
      await watcher?.close();
      await reloader.settled();
      // Load balancers take a while to see readiness go false: until then requests still arrive,
      // and each is served (its answer closing its connection) rather than refused.
      if (drainMs > 0) {
        logger.info({ drainMs }, 'shutdown: draining, still serving');
        await sleep(drainMs);
      }
      logger.info('shutdown: closing HTTP server, finishing in-flight requests');
      await closeHttpServer(app, readiness, { drained: drainMs > 0, log: (obj, msg) => logger.info(obj, msg) });
      // No request uses the session store once the listener is closed (the Redis store ends its connection).
      await store.close();
      logger.info('shutdown: closing guard pools');
      await registry.close(graceMs);
      logger.info('shutdown: guard pools closed');
      await cache.close();
      logger.info('shutdown: compilation cache closed');
      if (backends) {
        await backends.close();
        logger.info('shutdown: backends closed');
      }
    })());
  return { app, registry, cache, readiness, metrics, sessions, reload, close };
}

/** The configuration as it is now, or undefined while it cannot be read (the watcher keeps its folders). */
function safeRead(readConfig: () => ResolvedConfig): ResolvedConfig | undefined {
  try {
    return readConfig();
  } catch {
    return undefined;
  }
}
