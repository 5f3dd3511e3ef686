import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { DecisionService } from '../../decision/decision-service.js';
import type { Metrics } from '../../metrics/metrics.js';
import type { SessionService } from '../../session/index.js';
import { SessionError } from '../../session/index.js';
import { stateless } from '../../session/stateless.js';
import { BodyJson } from '../../decision/body-json.js';
import { filteredCount, serialisedReply } from '../../decision/serialised-response.js';
import { labelsForLog, recordDecision } from '../decision-record.js';
import { takeBodyBytes } from '../json-body.js';
import { resultAdmission, type ResultAdmissionOptions } from '../result-admission.js';
import {
  AgentLabelBody,
  AgentLabelReply,
  decisionErrors,
  EvaluateBody,
  EvaluateReply,
  EvaluateResponseBody,
  EvaluateResponseReply,
} from '../schemas/decisions.js';

export interface DecisionRoutesOptions {
  decisions: DecisionService;
  sessions: SessionService;
  metrics: Metrics;
  /** Put tool arguments and results in decision logs (off: they may hold secrets). */
  logToolData: boolean;
  /** The bound on tool results checked at once. */
  admission: ResultAdmissionOptions;
}

/** The three decision endpoints a gateway calls around every tool call. */
export const decisionRoutes: FastifyPluginAsyncTypebox<DecisionRoutesOptions> = async (app, { decisions, sessions, metrics, logToolData, admission }) => {
  app.post(
    '/v1/agents/label',
    {
      schema: {
        summary: 'Label an agent for a policy',
        description:
          "Runs the guard's label_agent with the policy and returns the agent's starting labels and the mode. " +
          'Optional: /v1/evaluate and /v1/evaluate/response fall back to these labels when a request has no agent. ' +
          'Results are cached per policy. A guard that refuses the policy gives 422 with its message.',
        tags: ['decisions'],
        body: AgentLabelBody,
        response: { 200: AgentLabelReply, ...decisionErrors },
      },
    },
    async (request) => decisions.labelAgent(request.body),
  );

  app.post(
    '/v1/evaluate',
    {
      schema: {
        summary: 'Decide before a tool call',
        description:
          'Labels the resource with the guard (label_resource) and checks the agent against it for the operation. ' +
          'decision "deny" means: do not make the call. check_response true means: the call may proceed, but its ' +
          'result must go through /v1/evaluate/response before the agent sees it. Omitted policy, agent and mode fall ' +
          'back as the introduction describes. Denials are 200 responses with a reason; errors are 4xx/5xx and also ' +
          'carry decision "deny".',
        tags: ['decisions'],
        body: EvaluateBody,
        response: { 200: EvaluateReply, ...decisionErrors },
      },
    },
    async (request) => {
      const started = performance.now();
      const body = request.body;
      const { evaluated, guard } = body.session
        ? await sessions.evaluate({ ...body, session: body.session })
        : { evaluated: await decisions.evaluate(stateless(body)), guard: body.guard! };
      const { tool, args } = body;
      recordDecision(request.log, metrics, {
        stage: 'request',
        guard,
        tool,
        started,
        decision: evaluated,
        details: () => ({ ...sessionField(body.session), check_response: evaluated.check_response, resource: labelsForLog(evaluated.resource), ...(logToolData ? { args } : {}) }),
      });
      return evaluated;
    },
  );

  app.post(
    '/v1/evaluate/response',
    {
      // Before the body is read: a result waiting its turn holds a socket buffer, not its parsed document.
      onRequest: resultAdmission(admission),
      schema: {
        summary: 'Decide on a tool result',
        description:
          "Labels the result with the guard (label_response) and judges every part of it: items by their labels, everything " +
          'else (fields around the collection, every MCP content block, structuredContent, _meta) by the guard labels or the ' +
          'resource labels. strict denies the whole result if any part violates; filter withholds violating parts (listed in ' +
          "filtered, with their JSON Pointer) and keeps the result's shape, including MCP text wrapping; propagate returns " +
          "everything labelled and moves the agent's labels (secrecy joins, integrity meets, per part). The MCP text's JSON " +
          'is parsed once under the guard rules (no duplicate keys, depth 512, no BOM, well-formed Unicode; else opaque text) ' +
          'and the returned result is serialised from it: show the agent this result, never the original. A denied result ' +
          'comes back as null. Send back operation and resource from /v1/evaluate to skip labelling the call again. ' +
          'At most WASMGUARD_RESULT_BYTES_IN_FLIGHT bytes of results (by Content-Length; default 2 MiB, a larger one alone) are ' +
          'checked at once; the others wait their turn with their bodies unread, at most 5 s, then get 503 WG_ERR_OVERLOADED with Retry-After.',
        tags: ['decisions'],
        body: EvaluateResponseBody,
        response: { 200: EvaluateResponseReply, ...decisionErrors },
      },
    },
    async (request, reply) => {
      const started = performance.now();
      const body = request.body;
      const { tool, args } = body;
      // The check runs whole in the guard's worker, on the body's bytes (guard/response-job.ts); the
      // result then travels only as those bytes, which the check takes (decision/body-json.ts).
      const bytes = takeBodyBytes(body);
      const given = bytes === undefined ? body : { ...body, result: undefined, bodyJson: new BodyJson(bytes, body, logToolData) };
      const { evaluated, guard } = body.session
        ? await sessions.evaluateResponse({ ...given, session: body.session })
        : { evaluated: await decisions.evaluateResponse(stateless(given)), guard: body.guard! };
      recordDecision(request.log, metrics, {
        stage: 'response',
        guard,
        tool,
        started,
        decision: evaluated,
        details: () => ({ ...sessionField(body.session), filtered: filteredCount(evaluated), ...(logToolData ? { args, result: body.result } : {}) }),
      });
      const serialised = serialisedReply(evaluated);
      if (serialised === undefined) return evaluated;
      // Its large members come serialised from the worker: written as they are, not parsed and serialised again
      // (Fastify sends a Buffer unchanged; the schema types the object form only). Their memory is reused
      // only once the socket has taken every byte ('finish'); a response that never finishes leaves it to GC.
      reply.raw.once('finish', serialised.release);
      return reply.type('application/json; charset=utf-8').send(serialised.json as unknown as typeof evaluated);
    },
  );
};

/** The session in a decision log line: its first 8 characters only, since the id is a bearer secret. */
export function sessionField(session: string | undefined): Record<string, string> {
  return session ? { session: session.slice(0, 8) } : {};
}
