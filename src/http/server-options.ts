import { maxHeaderSize } from 'node:http';
import { LogController, type FastifyReply, type FastifyServerOptions } from 'fastify';
import type { ServerConfig } from '../config/schema.js';
import { clientErrorHandler } from './client-errors.js';
import { formatValidationErrors, sendError, toHttpError } from './errors.js';
import { requestId } from './plugins/request-ids.js';

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

/** The Fastify server's options: limits, timeouts, request ids, and the documented error shape for what no route sees. */
export function serverOptions(server: ServerConfig, logger: FastifyServerOptions['loggerInstance'] | false): FastifyServerOptions {
  return {
    ...(logger ? { loggerInstance: logger } : { logger: false }),
    bodyLimit: server.bodyLimitBytes,
    // Slow and silent clients are bounded (a socket dripping a byte at a time must not be held for ever).
    ...serverTimeouts(server),
    // x-request-id is read by requestId(), which bounds it.
    requestIdHeader: false,
    genReqId: requestId,
    clientErrorHandler: clientErrorHandler({ maxHeaderBytes: maxHeaderSize, requestTimeoutMs: server.requestTimeoutMs }),
    // Errors the router meets before a route runs (a malformed URL) get the documented shape too.
    frameworkErrors: (error, _request, reply: FastifyReply) => {
      void sendError(reply, toHttpError(error, server.bodyLimitBytes));
    },
    // One structured decision line per decision replaces the two generic lines per request.
    logController: new LogController({ disableRequestLogging: true }),
    // In-flight requests finish on close; idle keep-alive connections are closed at once.
    forceCloseConnections: 'idle',
    // Fastify's own 503 while closing has no "decision" field; the draining plugin answers instead.
    return503OnClosing: false,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, strict: false } },
    schemaErrorFormatter: formatValidationErrors,
  };
}
