import { writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { SERVER_DEFAULTS } from '../config/settings.js';
import { DecisionService } from '../decision/decision-service.js';
import { CompilationCache } from '../guard/index.js';
import { Metrics } from '../metrics/metrics.js';
import { GuardRegistry } from '../runtime/guard-registry.js';
import { Reloader } from '../runtime/reload.js';
import { buildApp } from './app.js';
import { Readiness } from './readiness.js';
import { MemorySessionStore } from '../session/memory-store.js';
import { DEFAULT_DECISION_TTL_S, SessionService } from '../session/session-service.js';

/** Where the committed document lives: openapi/openapi.json at the repository root (same depth from src/ and dist/). */
export const OPENAPI_PATH = resolve(dirname(fileURLToPath(import.meta.url)), '../../openapi/openapi.json');

/**
 * The OpenAPI document exactly as the service serves it at /openapi.json:
 * the real app, built without guards (they do not change the document) and
 * without listening.
 */
export async function generateOpenApi(): Promise<Record<string, unknown>> {
  const logger = pino({ level: 'silent' });
  const cache = new CompilationCache();
  const registry = await GuardRegistry.load([], cache, { logger, logLevel: 'silent' });
  const decisions = new DecisionService(registry, SERVER_DEFAULTS.defaultMode);
  const store = new MemorySessionStore({ maxSessions: 1 });
  const metrics = new Metrics();
  const reloader = new Reloader({
    registry,
    logger,
    observer: metrics.reloadObserver(),
    readConfig: () => ({ server: SERVER_DEFAULTS, guards: [], backends: {} }),
  });
  const app = await buildApp({
    server: SERVER_DEFAULTS,
    decisions,
    sessions: new SessionService(store, decisions, { ttlS: SERVER_DEFAULTS.sessionTtlS, decisionTtlS: DEFAULT_DECISION_TTL_S }),
    metrics,
    readiness: new Readiness(registry),
    logger: false,
    reload: (trigger) => reloader.reload(trigger),
  });
  try {
    await app.ready();
    return app.swagger() as unknown as Record<string, unknown>;
  } finally {
    await app.close();
    await registry.close(0);
    await cache.close();
  }
}

/** The committed form: pretty-printed, two-space indent, final newline. */
export function formatOpenApi(document: unknown): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}

/** Regenerates openapi/openapi.json (npm run openapi). */
export async function writeOpenApi(path = OPENAPI_PATH): Promise<string> {
  await writeFile(path, formatOpenApi(await generateOpenApi()));
  return path;
}
