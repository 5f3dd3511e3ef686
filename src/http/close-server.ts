import { Server as NetServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';

/**
 * How long a connection that is idle when the listener closes keeps its
 * chance to send one more request. A keep-alive client may have written a
 * request onto it an instant before: closing it at once would reset that
 * request with no answer (an idle keep-alive close race).
 */
export const LAST_CALL_MS = 500;

/**
 * Closes the HTTP side without losing a request that was sent: stop
 * accepting connections; let the open ones bring their last request (each
 * answer carries `Connection: close` while draining, so Node ends the
 * connection after it) for up to `lastCallMs`; then Fastify's close ends the
 * connections still idle and waits for the requests in flight.
 */
export async function closeHttpServer(app: FastifyInstance, lastCallMs = LAST_CALL_MS): Promise<void> {
  const server = app.server;
  if (server.listening) {
    // net.Server's close, not http.Server's: the latter also closes idle connections at once.
    NetServer.prototype.close.call(server);
    const until = performance.now() + lastCallMs;
    while (performance.now() < until && (await openConnections(server)) > 0) await sleep(10);
  }
  await app.close();
}

function openConnections(server: NetServer): Promise<number> {
  return new Promise((resolve) => server.getConnections((error, count) => resolve(error ? 0 : count)));
}
