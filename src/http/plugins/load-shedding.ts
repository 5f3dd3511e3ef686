import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import underPressure from '@fastify/under-pressure';
import { httpError, sendError } from '../errors.js';
import { isApiRoute } from '../api-routes.js';

export interface LoadSheddingOptions {
  /** Event-loop delay past which decision requests are shed with 503 (default 1000 ms); heap cap (default none). */
  maxEventLoopDelayMs?: number;
  maxHeapUsedBytes?: number;
}

/**
 * Sheds decision requests with 503 WG_ERR_OVERLOADED while the event loop
 * is overloaded; health, readiness and metrics still answer. Decorates the
 * app with `isUnderPressure()` for /readyz.
 */
const loadSheddingPlugin: FastifyPluginAsync<LoadSheddingOptions> = async (app, options) => {
  await app.register(underPressure, {
    maxEventLoopDelay: options.maxEventLoopDelayMs ?? 1000,
    maxHeapUsedBytes: options.maxHeapUsedBytes ?? 0,
    // No utilisation limit: a decision service at full throughput is legitimately near 100% busy;
    // what hurts clients is delay.
    retryAfter: 1,
    pressureHandler: (request, reply) => {
      if (!isApiRoute(request.url)) return;
      void sendError(reply, httpError('WG_ERR_OVERLOADED', 'service is overloaded (event loop under pressure); retry later'));
    },
  });
};

export const loadShedding = fp(loadSheddingPlugin, { name: 'wasmguard-load-shedding', fastify: '5.x' });
