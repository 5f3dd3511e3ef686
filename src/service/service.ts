import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { ResolvedConfig } from '../config/load.js';
import { createBackends, type Backends } from '../backend/index.js';
import { DecisionService } from '../decision/decision-service.js';
import { CompilationCache } from '../guard/index.js';
import { buildApp, type AppOptions } from '../http/app.js';
import { Readiness } from '../http/readiness.js';
import { Metrics } from '../metrics/metrics.js';
import type { BackendHandler } from '../pool/index.js';
import { GuardRegistry } from './guard-registry.js';
import { GuardWatcher } from './guard-watcher.js';
import { Reloader, type ReloadReport } from './reload.js';
import { watchedFolders } from './watched-folders.js';
import type { ResolvedGuard } from '../config/load.js';

export interface Service {
  app: FastifyInstance;
  registry: GuardRegistry;
  cache: CompilationCache;
  readiness: Readiness;
  metrics: Metrics;
  /** Hot reload: reads the configuration again and swaps changed guards (SIGHUP, POST /v1/admin/reload, the watcher). */
  reload(trigger: string): Promise<ReloadReport>;
  /** The shutdown sequence of DESIGN.md section 3; idempotent. */
  close(): Promise<void>;
}

export interface ServiceOptions {
  logger: Logger;
  pressure?: AppOptions['pressure'];
  /** Replaces the backends built from config.backends (tests). */
  backendFor?: (guard: ResolvedGuard) => BackendHandler | undefined;
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
  const readiness = new Readiness(registry);
  const decisions = new DecisionService(registry, config.server.defaultMode);
  const readConfig = options.readConfig ?? (() => config);
  const reloader = new Reloader({ registry, logger, metrics, readConfig });
  const reload = (trigger: string) => reloader.reload(trigger);
  const app = await buildApp({ server: config.server, decisions, metrics, readiness, logger, pressure: options.pressure, reload });
  const watcher = config.server.watch
    ? new GuardWatcher({ folders: () => watchedFolders(safeRead(readConfig) ?? config), onChange: () => reload('watch'), logger })
    : undefined;

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      const graceMs = config.server.graceMs;
      logger.info('shutdown: readiness is now false');
      readiness.drain();
      await watcher?.close();
      await reloader.settled();
      logger.info('shutdown: closing HTTP server, finishing in-flight requests');
      await app.close();
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
  return { app, registry, cache, readiness, metrics, reload, close };
}

/** The configuration as it is now, or undefined while it cannot be read (the watcher keeps its folders). */
function safeRead(readConfig: () => ResolvedConfig): ResolvedConfig | undefined {
  try {
    return readConfig();
  } catch {
    return undefined;
  }
}
