import { randomUUID } from 'node:crypto';
import type { FastifyPluginCallback } from 'fastify';
import fp from 'fastify-plugin';

/** Longest `x-request-id` taken from a client; a longer one (or one with other than visible ASCII) is replaced. */
export const MAX_REQUEST_ID_LENGTH = 128;
const REQUEST_ID = /^[\x21-\x7e]+$/;

/** Fastify's genReqId: the client's x-request-id when it is short and printable, else a fresh UUID. */
export function requestId(request: { headers: Record<string, string | string[] | undefined> }): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && given.length <= MAX_REQUEST_ID_LENGTH && REQUEST_ID.test(given) ? given : randomUUID();
}

/** Echoes the request id on every reply, so a client can find its request in the logs. */
const requestIdsPlugin: FastifyPluginCallback = (app, _options, done) => {
  // The per-request hooks take callbacks, not async functions: each async hook costs a promise per request.
  app.addHook('onRequest', (request, reply, hookDone) => {
    reply.header('x-request-id', request.id);
    hookDone();
  });
  done();
};

export const requestIds = fp(requestIdsPlugin, { name: 'wasmguard-request-ids', fastify: '5.x' });
