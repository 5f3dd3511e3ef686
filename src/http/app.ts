import { randomUUID } from 'node:crypto';
import { maxHeaderSize } from 'node:http';
import Fastify, {
  LogController,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
  type onResponseHookHandler,
} from 'fastify';
import swagger from '@fastify/swagger';
import underPressure from '@fastify/under-pressure';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { ServerConfig } from '../config/schema.js';
import type { DecisionService } from '../decision/decision-service.js';
import type { Metrics } from '../metrics/metrics.js';
import { clientErrorHandler } from './client-errors.js';
import { errorBody, formatValidationErrors, toHttpError } from './errors.js';
import { useJsonBodyParser } from './json-body.js';
import { API_DESCRIPTION } from './schemas/api.js';
import { internalError } from './schemas/common.js';
import type { Readiness } from './readiness.js';
import type { ReloadReport } from '../runtime/reload.js';
import { adminRoutes } from './routes/admin.js';
import { decisionRoutes } from './routes/decisions.js';
import { sessionRoutes } from './routes/sessions.js';
import { needsToken, useBearerAuth, type ApiTokens } from './plugins/auth.js';
import type { SessionService } from '../session/index.js';
import { operationsRoutes } from './routes/operations.js';
import { batchRoutes } from './routes/batch.js';
import { authzenRoutes } from './routes/authzen.js';
import { BatchEvaluator } from '../batch/batch-evaluator.js';

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
  pressure?: { maxEventLoopDelayMs?: number; maxHeapUsedBytes?: number };
  /** Hot reload of the guards (POST /v1/admin/reload). */
  reload: (trigger: string) => Promise<ReloadReport>;
}

export const API_VERSION = '1.0.0';

/** Longest `x-request-id` taken from a client; a longer one (or one with other than visible ASCII) is replaced. */
export const MAX_REQUEST_ID_LENGTH = 128;
const REQUEST_ID = /^[\x21-\x7e]+$/;

/** The client's x-request-id when it is short and printable, else a fresh UUID (echoed back either way). */
function requestId(request: { headers: Record<string, string | string[] | undefined> }): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && given.length <= MAX_REQUEST_ID_LENGTH && REQUEST_ID.test(given) ? given : randomUUID();
}

/**
 * Node's request timeout (headers and body) is enforced by a sweep every
 * `connectionsCheckingInterval` (30 s by default): a tenth of the timeout
 * makes a dripping client go within about 10% of it.
 */
function serverTimeouts(server: ServerConfig) {
  return {
    requestTimeout: server.requestTimeoutMs,
    connectionTimeout: server.connectionTimeoutMs,
    keepAliveTimeout: server.keepAliveTimeoutMs,
    maxRequestsPerSocket: server.maxRequestsPerSocket,
    http: {
      requestTimeout: server.requestTimeoutMs,
      headersTimeout: server.requestTimeoutMs,
      connectionsCheckingInterval: Math.min(30_000, Math.max(100, Math.round(server.requestTimeoutMs / 10))),
    },
  };
}

/**
 * Builds the service as a Fastify instance without listening, so tests and
 * the OpenAPI generator get exactly what production serves.
 */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { server, decisions, sessions, metrics, readiness } = options;
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    bodyLimit: server.bodyLimitBytes,
    // Slow and silent clients are bounded (a socket dripping a byte at a time must not be held for ever).
    ...serverTimeouts(server),
    // x-request-id is read by requestId() below, which bounds it.
    requestIdHeader: false,
    genReqId: requestId,
    clientErrorHandler: clientErrorHandler({ maxHeaderBytes: maxHeaderSize, requestTimeoutMs: server.requestTimeoutMs }),
    // Errors the router meets before a route runs (a malformed URL) get the documented shape too.
    frameworkErrors: (error, _request, reply: FastifyReply) => {
      const mapped = toHttpError(error, server.bodyLimitBytes);
      void reply.code(mapped.status).send(errorBody(mapped));
    },
    // One structured decision line per decision replaces the two generic lines per request.
    logController: new LogController({ disableRequestLogging: true }),
    // In-flight requests finish on close; idle keep-alive connections are closed at once.
    forceCloseConnections: 'idle',
    // Fastify's own 503 while closing has no "decision" field; the onRequest hook below answers instead.
    return503OnClosing: false,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, strict: false } },
    schemaErrorFormatter: formatValidationErrors,
  }).withTypeProvider<TypeBoxTypeProvider>();
  // Past the cap Node closes new connections at accept: memory and file descriptors stay bounded.
  app.server.maxConnections = server.maxConnections;

  useJsonBodyParser(app, server.maxJsonDepth);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'WasmGuard policy decision API',
        version: API_VERSION,
        description: API_DESCRIPTION,
      },
      tags: [
        { name: 'decisions', description: 'Decisions around a tool call' },
        { name: 'sessions', description: "Server-held agent labels: one record per agent session" },
        { name: 'authzen', description: 'The OpenID AuthZEN Authorization API 1.0 on the same decisions' },
        { name: 'guards', description: 'Loaded guards' },
        { name: 'operations', description: 'Health, readiness, metrics and this document' },
      ],
    },
  });

  await app.register(underPressure, {
    maxEventLoopDelay: options.pressure?.maxEventLoopDelayMs ?? 1000,
    maxHeapUsedBytes: options.pressure?.maxHeapUsedBytes ?? 0,
    // No utilisation limit: a decision service at full throughput is legitimately near 100% busy;
    // what hurts clients is delay.
    retryAfter: 1,
    // Shed only decision traffic: health, readiness and metrics must still answer under pressure.
    pressureHandler: (request, reply) => {
      if (!needsToken(request.url)) return;
      void reply
        .code(503)
        .header('retry-after', '1')
        .send(errorBody({ status: 503, code: 'WG_ERR_OVERLOADED', message: 'service is overloaded (event loop under pressure); retry later' }));
    },
  });

  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
    readiness.drain();
  });
  // The per-request hooks take callbacks, not async functions: each async hook costs a promise per request.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    // Requests that reach a closing server (on a busy keep-alive connection) are refused, failing closed.
    if (closing && needsToken(request.url)) {
      void reply
        .code(503)
        .header('retry-after', '1')
        .header('connection', 'close')
        .send(errorBody({ status: 503, code: 'WG_ERR_DRAINING', message: 'service is shutting down; retry on another instance' }));
      return;
    }
    done();
  });
  // While draining, each response closes its keep-alive connection: otherwise a client's idle
  // connection would hold the server open until its keep-alive timeout.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (readiness.closeConnections) reply.header('connection', 'close');
    done(null, payload);
  });
  // Request duration by route pattern. The pattern is taken when each route is added: reading
  // request.routeOptions builds an object of every route option on each call (about 1.3 µs).
  const observeDuration = (request: FastifyRequest, reply: FastifyReply, route: string) =>
    metrics.httpDuration.labels(request.method, route, String(reply.statusCode)).observe(reply.elapsedTime / 1000);
  app.addHook('onRoute', (route) => {
    const observe: onResponseHookHandler = (request, reply, done) => {
      observeDuration(request, reply, route.url);
      done();
    };
    route.onResponse = [...(route.onResponse === undefined ? [] : [route.onResponse].flat()), observe];
  });
  app.addHook('onResponse', (request, reply, done) => {
    if (request.is404) observeDuration(request, reply, 'unmatched');
    done();
  });

  app.setErrorHandler((error, request, reply) => {
    const mapped = toHttpError(error, server.bodyLimitBytes);
    if (mapped.status >= 500) request.log.warn({ err: error, code: mapped.code }, 'request failed');
    if (mapped.retryAfterSeconds) void reply.header('retry-after', String(mapped.retryAfterSeconds));
    return reply.code(mapped.status).send(errorBody(mapped));
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send(errorBody({ status: 404, code: 'WG_ERR_NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}` })),
  );

  if (options.tokens) useBearerAuth(app, options.tokens);
  await app.register(decisionRoutes, { decisions, sessions, metrics, logToolData: server.logToolData });
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
  app.get(
    '/openapi.json',
    {
      schema: {
        summary: 'This OpenAPI document',
        description: 'The OpenAPI 3.1 description of this API, as committed in the repository as openapi/openapi.json.',
        tags: ['operations'],
        response: {
          200: { type: 'object', additionalProperties: true, description: 'An OpenAPI 3.1 document' },
          ...internalError,
        },
      },
    },
    async () => app.swagger() as unknown as Record<string, unknown>,
  );
  return app;
}
