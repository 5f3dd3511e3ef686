import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { internalError } from '../schemas/common.js';

/** GET /openapi.json: the document the openapi plugin built from the routes. */
export const openapiDocumentRoute: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/openapi.json',
    {
      schema: {
        summary: 'This OpenAPI document',
        description: 'The OpenAPI 3.1 description of this API, as committed in the repository as openapi/openapi.json.',
        tags: ['operations'],
        response: {
          200: { type: 'object', additionalProperties: true, description: 'An OpenAPI 3.1 document' },
          ...internalError,
        },
      },
    },
    async () => app.swagger() as unknown as Record<string, unknown>,
  );
};
