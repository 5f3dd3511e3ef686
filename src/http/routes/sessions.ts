import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { SessionService } from '../../session/index.js';
import { CreateSessionBody, CreateSessionReply, SessionParams, SessionReply, sessionErrors } from '../schemas/sessions.js';

export interface SessionRoutesOptions {
  sessions: SessionService;
}

/** Create, read and end sessions (docs/contract.md §7). */
export const sessionRoutes: FastifyPluginAsyncTypebox<SessionRoutesOptions> = async (app, { sessions }) => {
  app.post(
    '/v1/sessions',
    {
      schema: {
        summary: 'Start a session',
        description:
          "Runs the guard's label_agent once for the policy and stores the agent's labels, mode and policy under a new id. " +
          'Send the id as `session` to /v1/evaluate and /v1/evaluate/response instead of agent, policy and mode: the ' +
          'service then reads the labels from the store and, after a propagating read, merges the new labels back ' +
          '(secrecy only grows, integrity only shrinks). The id is a bearer secret.',
        tags: ['sessions'],
        body: CreateSessionBody,
        response: { 201: CreateSessionReply, ...sessionErrors },
      },
    },
    async (request, reply) => {
      const created = await sessions.create(request.body);
      request.log.info({ session: created.session_id.slice(0, 8), guard: created.guard, mode: created.mode }, 'session created');
      const { created: _c, updated: _u, changes: _n, ...body } = created;
      return reply.code(201).send(body);
    },
  );

  app.get(
    '/v1/sessions/:id',
    {
      schema: {
        summary: 'Read a session',
        description: 'The labels the store holds now, the mode and guard, when it was created and last changed, and how many reads moved its labels. Refreshes its idle TTL.',
        tags: ['sessions'],
        params: SessionParams,
        response: { 200: SessionReply, ...sessionErrors },
      },
    },
    async (request) => sessions.read(request.params.id),
  );

  app.delete(
    '/v1/sessions/:id',
    {
      schema: {
        summary: 'End a session',
        description: 'Deletes the session: the only way its labels are ever reset.',
        tags: ['sessions'],
        params: SessionParams,
        response: { 204: Type.Null({ description: 'Ended' }), ...sessionErrors },
      },
    },
    async (request, reply) => {
      await sessions.end(request.params.id);
      request.log.info({ session: request.params.id.slice(0, 8) }, 'session ended');
      return reply.code(204).send(null);
    },
  );
};
