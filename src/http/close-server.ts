import { Server as NetServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import type { Readiness } from './readiness.js';

/**
 * How long a connection that is idle when the listener closes keeps its
 * chance to send one more request. A keep-alive client may have written a
 * request onto it an instant before: closing it at once would reset that
 * request with no answer (the keep-alive close race).
 */
export const LAST_CALL_MS = 500;

/**
 * After a drain window: every answer in it closed its connection, so clients
 * that still reach this instance keep reconnecting, and a connection whose
 * handshake the kernel completed but the server had not yet accepted is
 * reset, request and all, when the listener closes. So before closing it,
 * answers keep their connections open again until no new connection has
 * arrived for SETTLE_QUIET_MS (at most SETTLE_MAX_MS): clients then sit on
 * open connections, which get their last call. Behind a load balancer that
 * stopped routing here, no connection arrives and this takes SETTLE_QUIET_MS.
 */
export const SETTLE_QUIET_MS = 100;
export const SETTLE_MAX_MS = 2000;

/**
 * Closes the HTTP side without losing a request that was sent: (after a
 * drain window, let clients settle on open connections;) stop accepting
 * connections; let the open ones bring their last request (each answer now
 * carries `Connection: close`, so Node ends the connection after it) for up
 * to `lastCallMs`; then Fastify's close ends the connections still idle and
 * waits for the requests in flight.
 */
export async function closeHttpServer(
  app: FastifyInstance,
  readiness: Readiness,
  options: { drained: boolean; lastCallMs?: number; log?: (obj: object, msg: string) => void },
): Promise<void> {
  const { lastCallMs = LAST_CALL_MS } = options;
  const server = app.server;
  if (server.listening) {
    // Until the listener has closed, answers keep their connections (see below).
    readiness.closeConnections = false;
    if (options.drained) await settle(server);
    // net.Server's close, not http.Server's: the latter also closes idle connections at once.
    await new Promise(setImmediate);
    NetServer.prototype.close.call(server);
    // Only now: an answer that closed its connection while the listener still accepted would send its
    // client to a new connection that the closing listener then resets, request and all.
    readiness.closeConnections = true;
    const open = await openConnections(server);
    const until = performance.now() + lastCallMs;
    let left = open;
    while (left > 0 && performance.now() < until) {
      await sleep(10);
      left = await openConnections(server);
    }
    options.log?.({ open, left }, 'shutdown: listener closed; connections still open after the last call are closed now');
  }
  await app.close();
}

function openConnections(server: NetServer): Promise<number> {
  return new Promise((resolve) => server.getConnections((error, count) => resolve(error ? 0 : count)));
}

/** Resolves once no connection has been accepted for SETTLE_QUIET_MS, or after SETTLE_MAX_MS. */
async function settle(server: NetServer): Promise<void> {
  let lastConnection = performance.now();
  const onConnection = () => (lastConnection = performance.now());
  server.on('connection', onConnection);
  try {
    const until = performance.now() + SETTLE_MAX_MS;
    do {
      await sleep(10);
      // Timers run before the poll phase that accepts connections: after a long turn of the event loop
      // the quiet period would look over while connections wait to be accepted. Look after the poll.
      await new Promise(setImmediate);
    } while (performance.now() < until && performance.now() - lastConnection < SETTLE_QUIET_MS);
  } finally {
    server.off('connection', onConnection);
  }
}
