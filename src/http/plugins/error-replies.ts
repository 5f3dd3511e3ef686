import type { FastifyPluginCallback } from 'fastify';
import fp from 'fastify-plugin';
import { httpError, sendError, toHttpError } from '../errors.js';

export interface ErrorRepliesOptions {
  /** Named in the message of a body that is too large. */
  bodyLimitBytes: number;
}

/**
 * Every error a route meets, and every unknown route, is answered in the
 * documented shape ({"error":{code,message},"decision":"deny"}) with the
 * status of its code (error-status.ts). Failures on our side are logged.
 */
const errorRepliesPlugin: FastifyPluginCallback<ErrorRepliesOptions> = (app, { bodyLimitBytes }, done) => {
  app.setErrorHandler((error, request, reply) => {
    const mapped = toHttpError(error, bodyLimitBytes);
    if (mapped.status >= 500) request.log.warn({ err: error, code: mapped.code }, 'request failed');
    return sendError(reply, mapped);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, httpError('WG_ERR_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`)),
  );
  done();
};

export const errorReplies = fp(errorRepliesPlugin, { name: 'wasmguard-error-replies', fastify: '5.x' });
