import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { ServerConfig } from '../config/schema.js';
import type { DecisionService } from '../decision/decision-service.js';
import type { Metrics } from '../metrics/metrics.js';
import type { SessionService } from '../session/index.js';
import type { ReloadReport } from '../runtime/reload.js';
import { BatchEvaluator } from '../batch/batch-evaluator.js';
import { useJsonBodyParser } from './json-body.js';
import type { Readiness } from './readiness.js';
import { serverOptions } from './server-options.js';
import { bearerAuth, type ApiTokens } from './plugins/auth.js';
import { draining } from './plugins/draining.js';
import { errorReplies } from './plugins/error-replies.js';
import { loadShedding, type LoadSheddingOptions } from './plugins/load-shedding.js';
import { openapi } from './plugins/openapi.js';
import { requestIds } from './plugins/request-ids.js';
import { requestMetrics } from './plugins/request-metrics.js';
import { adminRoutes } from './routes/admin.js';
import { authzenRoutes } from './routes/authzen.js';
import { batchRoutes } from './routes/batch.js';
import { decisionRoutes } from './routes/decisions.js';
import { ByteBudget } from './result-admission.js';
import { openapiDocumentRoute } from './routes/openapi-document.js';
import { operationsRoutes } from './routes/operations.js';
import { sessionRoutes } from './routes/sessions.js';

export interface AppOptions {
  server: ServerConfig;
  decisions: DecisionService;
  sessions: SessionService;
  /** Bearer tokens every /v1 route needs; undefined = no authentication (the localhost sidecar). */
  tokens?: ApiTokens;
  metrics: Metrics;
  readiness: Readiness;
  /** A pino logger, or false for none (tests, OpenAPI generation). */
  logger: FastifyServerOptions['loggerInstance'] | false;
  /** Event-loop delay past which decision requests are shed with 503. */
  pressure?: LoadSheddingOptions;
  /** Hot reload of the guards (POST /v1/admin/reload). */
  reload: (trigger: string) => Promise<ReloadReport>;
}

/** Longest a tool result waits to be admitted for checking (http/result-admission.ts) before a 503. */
const RESULT_WAIT_MS = 5000;

/**
 * Builds the service as a Fastify instance without listening, so tests and
 * the OpenAPI generator get exactly what production serves. One plugin per
 * concern (plugins/), then the routes (routes/). The order is the order of
 * the hooks each request meets: load shedding, the request id, draining,
 * then each route's own token check, body parsing and validation; the
 * plugins that see routes as they are added (OpenAPI, metrics, auth) come
 * before the routes.
 */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { server, decisions, sessions, metrics, readiness } = options;
  const app = Fastify(serverOptions(server, options.logger)).withTypeProvider<TypeBoxTypeProvider>();
  // Past the cap Node closes new connections at accept: memory and file descriptors stay bounded.
  app.server.maxConnections = server.maxConnections;
  useJsonBodyParser(app, server.maxJsonDepth);

  await app.register(openapi);
  await app.register(loadShedding, options.pressure ?? {});
  await app.register(requestIds);
  await app.register(draining, { readiness });
  await app.register(requestMetrics, { metrics });
  await app.register(errorReplies, { bodyLimitBytes: server.bodyLimitBytes });
  if (options.tokens) await app.register(bearerAuth, { tokens: options.tokens });

  const results = new ByteBudget(server.resultBytesInFlight);
  metrics.watchResultAdmission(results);
  // Under Node's requestTimeout, which would otherwise cut a request whose body waits unread.
  const admission = { budget: results, bodyLimitBytes: server.bodyLimitBytes, maxWaitMs: Math.min(RESULT_WAIT_MS, server.requestTimeoutMs / 2) };
  await app.register(decisionRoutes, { decisions, sessions, metrics, logToolData: server.logToolData, admission });
  await app.register(sessionRoutes, { sessions });
  await app.register(adminRoutes, { reload: options.reload });
  const batch = new BatchEvaluator(decisions, sessions);
  const batchOptions = { batch, metrics, batchMax: server.batchMax, bodyLimitBytes: server.bodyLimitBytes, logToolData: server.logToolData };
  await app.register(batchRoutes, batchOptions);
  await app.register(authzenRoutes, batchOptions);
  await app.register(operationsRoutes, {
    registry: decisions.registry,
    readiness,
    metrics,
    isUnderPressure: () => app.isUnderPressure(),
  });
  await app.register(openapiDocumentRoute);
  return app;
}
