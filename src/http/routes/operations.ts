import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Metrics } from '../../metrics/metrics.js';
import type { GuardRegistry } from '../../service/guard-registry.js';
import type { Readiness } from '../readiness.js';
import { ErrorBody } from '../schemas/common.js';

export interface OperationsRoutesOptions {
  registry: GuardRegistry;
  readiness: Readiness;
  metrics: Metrics;
  isUnderPressure: () => boolean;
}

const Status = Type.Object({ status: Type.String(), reason: Type.Optional(Type.String()) });

/** Health, readiness, metrics and the guard inventory: what operators and orchestrators call. */
export const operationsRoutes: FastifyPluginAsyncTypebox<OperationsRoutesOptions> = async (app, { registry, readiness, metrics, isUnderPressure }) => {
  app.get(
    '/v1/guards',
    {
      schema: {
        summary: 'Loaded guards',
        description: 'Each guard: name, SHA-256 digest, exports, default policy and mode, limits, and live pool state.',
        tags: ['guards'],
        response: { 200: Type.Object({ guards: Type.Array(Type.Unknown()) }) },
      },
    },
    async () => ({ guards: registry.list().map((g) => g.describe()) }),
  );

  app.get(
    '/healthz',
    { schema: { summary: 'Liveness', description: 'The process is alive and serving HTTP.', tags: ['operations'], response: { 200: Status } } },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Readiness',
        description: 'Guards loaded, not draining for shutdown, no guard failing outright, event loop not overloaded.',
        tags: ['operations'],
        response: { 200: Status, 503: Status },
      },
    },
    async (_request, reply) => {
      const state = readiness.check();
      if (state.ready && isUnderPressure()) return reply.code(503).send({ status: 'not ready', reason: 'event loop under pressure' });
      if (!state.ready) return reply.code(503).send({ status: 'not ready', reason: state.reason });
      return { status: 'ready' };
    },
  );

  app.get(
    '/metrics',
    {
      schema: {
        summary: 'Prometheus metrics',
        description: 'Prometheus text exposition format.',
        tags: ['operations'],
        produces: ['text/plain'],
        response: { 200: Type.String(), 500: ErrorBody },
      },
    },
    async (_request, reply) => {
      reply.type(metrics.registry.contentType);
      return metrics.registry.metrics();
    },
  );
};
