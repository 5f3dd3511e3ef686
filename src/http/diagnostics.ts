/**
 * The diagnostics listener (WASMGUARD_DIAGNOSTICS_PORT): /healthz, /readyz and
 * /metrics on a port of their own, answered from the same Readiness and
 * Metrics objects as the API. The decision API can then stay on 127.0.0.1 in
 * a gateway's pod while the kubelet probes over plain HTTP (no process
 * started per probe) and Prometheus scrapes through a PodMonitor.
 *
 * It closes last in the shutdown sequence, after the API listener and the
 * guard pools: while the pod drains, the kubelet still reads "not ready:
 * draining" and Prometheus still gets the final counters.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Metrics } from '../metrics/metrics.js';
import { httpError, sendError } from './errors.js';
import type { Readiness } from './readiness.js';
import { probeRoutes } from './routes/operations.js';

export interface DiagnosticsOptions {
  host: string;
  port: number;
  readiness: Readiness;
  metrics: Metrics;
  /** The API's event-loop pressure check, so both ports report the same readiness. */
  isUnderPressure: () => boolean;
  logger: FastifyBaseLogger | false;
}

export interface DiagnosticsListener {
  app: FastifyInstance;
  /** http://host:port actually bound (port 0 picks a free one). */
  address: string;
  close(): Promise<void>;
}

export async function startDiagnostics(options: DiagnosticsOptions): Promise<DiagnosticsListener> {
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger.child({ listener: 'diagnostics' }) } : { logger: false }),
    logController: new LogController({ disableRequestLogging: true }),
    // Probes and scrapes carry no body; anything else is not for this port.
    bodyLimit: 1024,
    // Nothing here is worth waiting for at shutdown: a scraper's keep-alive connection must not hold the exit.
    forceCloseConnections: true,
    // Kubelet probes time out in seconds; a connection that sends nothing is dropped well before.
    connectionTimeout: 10_000,
    requestTimeout: 10_000,
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, httpError('WG_ERR_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]} on the diagnostics port (only /healthz, /readyz, /metrics)`)),
  );
  await app.register(probeRoutes, options);
  const address = await app.listen({ host: options.host, port: options.port });
  return { app, address, close: () => app.close() };
}
