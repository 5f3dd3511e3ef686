import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import {
  AuthzenMappingError,
  SEMANTICS,
  stopsAfter,
  toCall,
  toDecision,
  withDefaults,
  type AuthzenEvaluation,
  type EvaluationsSemantic,
} from '../../authzen/mapping.js';
import type { BatchEvaluator, CallOutcome } from '../../batch/batch-evaluator.js';
import type { Metrics } from '../../metrics/metrics.js';
import { BatchTooLargeError, toHttpError, type HttpError } from '../errors.js';
import { authzenErrors, EvaluationBody, EvaluationReply, EvaluationsBody, EvaluationsReply, Metadata } from '../schemas/authzen.js';
import { plainJson, recordCall } from './batch.js';

export interface AuthzenRoutesOptions {
  batch: BatchEvaluator;
  metrics: Metrics;
  batchMax: number;
  bodyLimitBytes: number;
  logToolData: boolean;
}

/** A Host header as a URL authority: a name or IPv4 address, or a bracketed IPv6 address, and a port. */
const AUTHORITY = /^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

/**
 * The OpenID AuthZEN Authorization API 1.0 (HTTPS JSON binding): PDP
 * metadata, one evaluation, many evaluations. Same pipeline as /v1/evaluate
 * and /v1/evaluate/batch (the mapping is src/authzen/mapping.ts); errors in
 * the specification's form: the status code and a message string.
 */
export const authzenRoutes: FastifyPluginAsyncTypebox<AuthzenRoutesOptions> = async (app, options) => {
  const { batch, metrics, batchMax, bodyLimitBytes, logToolData } = options;

  const describe = (error: unknown): HttpError => toHttpError(error, bodyLimitBytes);

  const errorHandler = (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const mapped = describe(error);
    if (mapped.status >= 500) request.log.warn({ err: error, code: mapped.code }, 'request failed');
    if (mapped.retryAfterSeconds) void reply.header('retry-after', String(mapped.retryAfterSeconds));
    return reply.code(mapped.status).type('text/plain; charset=utf-8').send(mapped.message);
  };

  app.get(
    '/.well-known/authzen-configuration',
    {
      errorHandler,
      schema: {
        summary: 'AuthZEN PDP metadata',
        description:
          'The Policy Decision Point metadata of AuthZEN 1.0: this service and its access evaluation endpoints, built from the scheme and ' +
          'Host of the request (behind a proxy: the Host the client used). No search endpoints: their absence says they are not offered.',
        tags: ['authzen'],
        response: { 200: Metadata, 400: authzenErrors[400], 500: authzenErrors[500] },
      },
    },
    async (request) => {
      const host = request.host;
      if (!AUTHORITY.test(host)) throw new AuthzenMappingError('the Host header is not a host name or address with an optional port');
      const base = `${request.protocol}://${host}`;
      return { policy_decision_point: base, access_evaluation_endpoint: `${base}/access/v1/evaluation`, access_evaluations_endpoint: `${base}/access/v1/evaluations` };
    },
  );

  async function evaluateOne(request: FastifyRequest, evaluation: AuthzenEvaluation) {
    const started = performance.now();
    const call = toCall(evaluation);
    const [outcome] = await batch.all([call]);
    // One evaluation: an error is an error of the whole request (a status code), as in /v1/evaluate.
    if (!outcome!.ok) throw outcome!.error;
    recordCall(request, metrics, { started, id: undefined, call, outcome: outcome!, logToolData });
    return toDecision(outcome!, describe);
  }

  app.post(
    '/access/v1/evaluation',
    {
      errorHandler,
      schema: {
        summary: 'AuthZEN: decide before a tool call',
        description:
          'AuthZEN 1.0 Access Evaluation, mapped onto /v1/evaluate (the table is in the introduction): decision true means the call may ' +
          'be made. context carries decision_id, operation, check_response, mode, the resource labels and the reason. check_response true ' +
          'means the tool result must go through POST /v1/evaluate/response before the agent sees it (a PEP that does not understand ' +
          'this must treat the decision as a deny). Errors: the status code and a message string.',
        tags: ['authzen'],
        body: EvaluationBody,
        response: { 200: EvaluationReply, ...authzenErrors },
      },
    },
    async (request) => evaluateOne(request, request.body as AuthzenEvaluation),
  );

  app.post(
    '/access/v1/evaluations',
    {
      errorHandler,
      serializerCompiler: plainJson,
      schema: {
        summary: 'AuthZEN: decide before many tool calls',
        description:
          'AuthZEN 1.0 Access Evaluations. The top-level subject, action, resource and context are defaults for every item of ' +
          'evaluations (a key an item sets replaces the default whole). options.evaluations_semantic: execute_all (default; concurrent, ' +
          'every result), deny_on_first_deny or permit_on_first_permit (in order; the reply stops after the first deny, an error counting ' +
          'as a deny, or the first permit). An evaluation that fails is decision false with context.error {status, code, message}; ' +
          'its siblings are unaffected. Without evaluations (or with an empty array) it answers like /access/v1/evaluation. ' +
          'At most WASMGUARD_BATCH_MAX evaluations.',
        tags: ['authzen'],
        body: EvaluationsBody,
        response: { 200: EvaluationsReply, ...authzenErrors },
      },
    },
    async (request) => {
      const body = request.body as AuthzenEvaluation & { evaluations?: AuthzenEvaluation[]; options?: { evaluations_semantic?: string } };
      const defaults: AuthzenEvaluation = { subject: body.subject, action: body.action, resource: body.resource, context: body.context };
      if (!body.evaluations || body.evaluations.length === 0) return evaluateOne(request, defaults);
      const semantic = (body.options?.evaluations_semantic ?? 'execute_all') as EvaluationsSemantic;
      if (!SEMANTICS.includes(semantic)) throw new AuthzenMappingError(`body.options.evaluations_semantic must be one of ${SEMANTICS.join(', ')}`);
      if (body.evaluations.length > batchMax) {
        throw new BatchTooLargeError(`body.evaluations has ${body.evaluations.length} items, over the limit of ${batchMax} (WASMGUARD_BATCH_MAX)`);
      }
      const started = performance.now();
      // Every item is mapped before any is evaluated: a request that cannot be mapped is a 400 as a whole.
      const calls = body.evaluations.map((item, i) => toCall(withDefaults(defaults, item), `body.evaluations[${i}]`));
      const stop = stopsAfter(semantic);
      const outcomes: CallOutcome[] = stop ? await batch.until(calls, stop) : await batch.all(calls);
      return {
        evaluations: outcomes.map((outcome, i) => {
          if (outcome.ok) recordCall(request, metrics, { started, id: String(i), call: calls[i]!, outcome, logToolData });
          else if (describe(outcome.error).status >= 500) request.log.warn({ err: outcome.error, evaluation: i }, 'evaluation failed');
          return toDecision(outcome, describe);
        }),
      };
    },
  );
};
