import { Type } from 'typebox';

/**
 * Schemas of the OpenID AuthZEN Authorization API 1.0 routes. Unknown fields
 * are allowed everywhere: the specification requires receivers to ignore
 * them. Required fields are checked after the defaults of an evaluations
 * request are applied (src/authzen/mapping.ts).
 */

const Properties = (description: string) => Type.Object({}, { additionalProperties: true, description });

const Subject = Type.Object(
  {
    type: Type.String({ description: '"session": id is a WasmGuard session id. Any other type: the agent, labelled by properties.secrecy/integrity' }),
    id: Type.String({ description: 'A session id (type "session"), else the agent\'s identifier (not used in the decision)' }),
    properties: Type.Optional(
      Properties('For a subject that is not a session: `secrecy` and `integrity`, arrays of tags, are the agent labels (default: what label_agent gives for the policy)'),
    ),
  },
  { additionalProperties: true, description: 'Subject: the agent' },
);
const Action = Type.Object(
  { name: Type.String({ description: 'The tool name' }), properties: Type.Optional(Properties('Not used in the decision')) },
  { additionalProperties: true, description: 'Action: the tool call' },
);
const Resource = Type.Object(
  {
    type: Type.String({ description: 'The guard name' }),
    id: Type.String({ description: 'Required by the specification; not used in the decision (e.g. the tool server or the repository)' }),
    properties: Type.Optional(Properties("The tool's arguments (tool_args)")),
  },
  { additionalProperties: true, description: 'Resource: what the guard labels' },
);
const Context = Type.Object(
  {
    policy: Type.Optional(Properties("The guard's policy (not with a session)")),
    mode: Type.Optional(Type.String({ description: 'strict, filter or propagate (not with a session)' })),
  },
  { additionalProperties: true, description: 'Context: policy and mode; other fields are ignored' },
);

const EXAMPLE = {
  subject: { type: 'agent', id: 'triage-bot', properties: { secrecy: [], integrity: ['trusted'] } },
  action: { name: 'read_doc' },
  resource: { type: 'static', id: 'docs', properties: { path: 'README.md' } },
  context: { policy: { tools: { read_doc: { operation: 'read', integrity: ['trusted'] } } } },
};

export const EvaluationBody = Type.Object(
  { subject: Subject, action: Action, resource: Resource, context: Type.Optional(Context) },
  { additionalProperties: true, examples: [EXAMPLE] },
);

export const EvaluationsBody = Type.Object(
  {
    subject: Type.Optional(Subject),
    action: Type.Optional(Action),
    resource: Type.Optional(Resource),
    context: Type.Optional(Context),
    evaluations: Type.Optional(
      Type.Array(
        Type.Object(
          { subject: Type.Optional(Subject), action: Type.Optional(Action), resource: Type.Optional(Resource), context: Type.Optional(Context) },
          { additionalProperties: true },
        ),
        { maxItems: 10_000, description: 'At most WASMGUARD_BATCH_MAX (default 100). Each key an item sets replaces the top-level default whole' },
      ),
    ),
    options: Type.Optional(
      Type.Object(
        {
          evaluations_semantic: Type.Optional(
            Type.Enum(['execute_all', 'deny_on_first_deny', 'permit_on_first_permit'], {
              description: 'execute_all (default): every evaluation, concurrently; the other two evaluate in order and stop after the first deny (or error) / permit',
            }),
          ),
        },
        { additionalProperties: true },
      ),
    ),
  },
  {
    additionalProperties: true,
    examples: [
      {
        subject: EXAMPLE.subject,
        resource: { type: 'static', id: 'docs' },
        context: { policy: { tools: { read_doc: { operation: 'read', integrity: ['trusted'] }, post_admin: { operation: 'write', integrity: ['admin'] } } } },
        options: { evaluations_semantic: 'deny_on_first_deny' },
        evaluations: [{ action: { name: 'read_doc' } }, { action: { name: 'post_admin' } }, { action: { name: 'read_doc' } }],
      },
    ],
  },
);

const DecisionContext = Type.Object(
  {
    decision_id: Type.Optional(Type.String()),
    guard_digest: Type.Optional(Type.String({ description: 'SHA-256 of the guard version that decided' })),
    operation: Type.Optional(Type.String()),
    check_response: Type.Optional(
      Type.Boolean({ description: 'true: the PEP must send the tool result to POST /v1/evaluate/response before the agent sees it' }),
    ),
    mode: Type.Optional(Type.String()),
    resource: Type.Optional(Type.Object({}, { additionalProperties: true, description: 'The resource labels the guard gave' })),
    reason: Type.Optional(Type.String()),
    error: Type.Optional(
      Type.Object({ status: Type.Integer(), code: Type.String(), message: Type.String() }, { description: 'Only in an evaluations reply: why this evaluation failed (decision false)' }),
    ),
  },
  { additionalProperties: true },
);

export const EvaluationReply = Type.Object(
  { decision: Type.Boolean({ description: 'true: the call may be made; false: it must not' }), context: Type.Optional(DecisionContext) },
  { description: 'An AuthZEN decision' },
);

export const EvaluationsReply = Type.Union(
  [Type.Object({ evaluations: Type.Array(EvaluationReply, { description: 'In the order of the request; shorter when a semantic stopped early' }) }), EvaluationReply],
  { description: 'The decisions in the order of evaluations; a single decision when the request has no evaluations' },
);

export const Metadata = Type.Object(
  {
    policy_decision_point: Type.String({ description: 'This PDP: the scheme and Host the request used' }),
    access_evaluation_endpoint: Type.String(),
    access_evaluations_endpoint: Type.String(),
  },
  { description: 'AuthZEN PDP metadata' },
);

const text = (description: string) => ({ description, content: { 'text/plain': { schema: { type: 'string' } } } });

/** The specification's error form: the status code, and an error message string as the body. */
export const authzenErrors = {
  400: text('The request cannot be mapped (a required field is missing or has the wrong type, an unknown evaluations_semantic, invalid JSON); the message names the field'),
  401: {
    description: 'No valid bearer token (only with WASMGUARD_API_TOKENS_FILE); the WasmGuard error body with WWW-Authenticate',
    content: { 'application/json': { schema: { type: 'object', additionalProperties: true } } },
  },
  403: text("The guard's policy and mode are locked by the operator and the request sends a policy, mode or agent labels"),
  404: text('Unknown guard (resource.type) or unknown or expired session (subject.id)'),
  413: text('Body over the body limit, guard input over its limit, or more evaluations than WASMGUARD_BATCH_MAX'),
  422: text('The guard rejected the policy (context.policy)'),
  500: text('Internal error'),
  502: text('The guard failed'),
  503: text('Overloaded, shutting down, or the session store is unreachable; retry after Retry-After seconds'),
  504: text('The guard call overran its deadline'),
};
