import type { FastifyPluginCallback } from 'fastify';
import fp from 'fastify-plugin';
import { httpError, sendError } from '../errors.js';
import type { Readiness } from '../readiness.js';
import { isApiRoute } from '../api-routes.js';

export interface DrainingOptions {
  readiness: Readiness;
}

/**
 * Shutdown as clients see it: readiness turns false when the server starts
 * closing, decision requests that still arrive are refused with 503
 * WG_ERR_DRAINING (failing closed), and while draining every reply closes
 * its keep-alive connection.
 */
const drainingPlugin: FastifyPluginCallback<DrainingOptions> = (app, { readiness }, done) => {
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
    readiness.drain();
  });
  // Requests that reach a closing server (on a busy keep-alive connection) are refused.
  app.addHook('onRequest', (request, reply, hookDone) => {
    if (closing && isApiRoute(request.url)) {
      void sendError(reply.header('connection', 'close'), httpError('WG_ERR_DRAINING', 'service is shutting down; retry on another instance'));
      return;
    }
    hookDone();
  });
  // Otherwise a client's idle keep-alive connection would hold the server open until its keep-alive timeout.
  app.addHook('onSend', (_request, reply, payload, hookDone) => {
    if (readiness.closeConnections) reply.header('connection', 'close');
    hookDone(null, payload);
  });
  done();
};

export const draining = fp(drainingPlugin, { name: 'wasmguard-draining', fastify: '5.x' });
