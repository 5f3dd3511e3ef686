import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Metrics } from '../../metrics/metrics.js';
import type { GuardRegistry } from '../../runtime/guard-registry.js';
import type { Readiness } from '../readiness.js';
import { internalError, unavailableError } from '../schemas/common.js';
import { GuardList } from '../schemas/guards.js';

export interface OperationsRoutesOptions {
  registry: GuardRegistry;
  readiness: Readiness;
  metrics: Metrics;
  isUnderPressure: () => boolean;
}

const Status = Type.Object({
  status: Type.String({ description: '"ok", "ready" or "not ready"' }),
  reason: Type.Optional(Type.String({ description: 'Why the service is not ready' })),
  session_store: Type.Optional(
    Type.Enum(['up', 'down'], {
      description: 'Readiness only: whether the session store answers. When down, session calls fail closed with 503 and calls without a session still work, so the service stays ready',
    }),
  ),
});

/** Health, readiness, metrics and the guard inventory: what operators and orchestrators call. */
export const operationsRoutes: FastifyPluginAsyncTypebox<OperationsRoutesOptions> = async (app, options) => {
  const { registry } = options;
  app.get(
    '/v1/guards',
    {
      schema: {
        summary: 'Loaded guards',
        description:
          'Each guard: name, SHA-256 digest, exports and imports, default policy and mode, backend, limits, and live pool state ' +
          '(instances by state, queue length, evictions, traps, buffer regrowths).',
        tags: ['guards'],
        response: { 200: GuardList, ...internalError, ...unavailableError },
      },
    },
    async () => ({ guards: registry.list().map((g) => g.describe()) }),
  );
  await app.register(probeRoutes, options);
};

export type ProbeRoutesOptions = Omit<OperationsRoutesOptions, 'registry'>;

/**
 * Liveness, readiness and metrics alone: served by the API and by the
 * diagnostics listener (src/http/diagnostics.ts), which must not expose the
 * guard inventory or the decision routes.
 */
export const probeRoutes: FastifyPluginAsyncTypebox<ProbeRoutesOptions> = async (app, { readiness, metrics, isUnderPressure }) => {
  app.get(
    '/healthz',
    {
      schema: {
        summary: 'Liveness',
        description: 'The process is alive and serving HTTP. Answers even while overloaded or draining.',
        tags: ['operations'],
        response: { 200: { ...Status, description: 'Alive', examples: [{ status: 'ok' }] }, ...internalError },
      },
    },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Readiness',
        description: 'Guards loaded, not draining for shutdown, no guard failing outright, event loop not overloaded.',
        tags: ['operations'],
        response: {
          200: { ...Status, description: 'Ready for traffic', examples: [{ status: 'ready' }] },
          503: { ...Status, description: 'Not ready: send no traffic', examples: [{ status: 'not ready', reason: 'draining' }] },
          ...internalError,
        },
      },
    },
    async (_request, reply) => {
      const state = readiness.check();
      const session_store = readiness.sessionStore;
      if (state.ready && isUnderPressure()) return reply.code(503).send({ status: 'not ready', reason: 'event loop under pressure', session_store });
      if (!state.ready) return reply.code(503).send({ status: 'not ready', reason: state.reason, session_store });
      return { status: 'ready', session_store };
    },
  );

  app.get(
    '/metrics',
    {
      schema: {
        summary: 'Prometheus metrics',
        description:
          'Prometheus text exposition format: decisions, guard call durations, traps, evictions, pool instances and queue, ' +
          'backend calls, compilation cache, HTTP request durations and Node process metrics, all prefixed wasmguard_ ' +
          '(process metrics aside).',
        tags: ['operations'],
        response: {
          200: {
            description: 'Metrics',
            content: {
              'text/plain': {
                schema: Type.String({
                  examples: [
                    '# HELP wasmguard_decisions_total Decisions made, by guard, operation, decision and mode\n# TYPE wasmguard_decisions_total counter\n',
                  ],
                }),
              },
            },
          },
          ...internalError,
        },
      },
    },
    async (_request, reply) => {
      reply.type(metrics.registry.contentType);
      return metrics.registry.metrics();
    },
  );
};
