import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import swagger from '@fastify/swagger';
import { API_DESCRIPTION } from '../schemas/api.js';

export const API_VERSION = '1.0.0';

/**
 * Collects every route's schema into the OpenAPI 3.1 document (served by
 * routes/openapi-document.ts, committed as openapi/openapi.json). Register
 * before the routes: it sees each route as it is added.
 */
const openapiPlugin: FastifyPluginAsync = async (app) => {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'WasmGuard policy decision API',
        version: API_VERSION,
        description: API_DESCRIPTION,
      },
      tags: [
        { name: 'decisions', description: 'Decisions around a tool call' },
        { name: 'sessions', description: "Server-held agent labels: one record per agent session" },
        { name: 'authzen', description: 'The OpenID AuthZEN Authorization API 1.0 on the same decisions' },
        { name: 'guards', description: 'Loaded guards' },
        { name: 'operations', description: 'Health, readiness, metrics and this document' },
      ],
    },
  });
};

export const openapi = fp(openapiPlugin, { name: 'wasmguard-openapi', fastify: '5.x' });
