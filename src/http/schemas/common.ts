import { Type } from 'typebox';

/** Building blocks shared by the route schemas. */

export const Tag = Type.String({ maxLength: 1024, description: 'An opaque label tag, e.g. "private:octo-org/app"' });
export const Tags = Type.Array(Tag, { maxItems: 4096 });

export const Labels = Type.Object(
  {
    secrecy: Type.Array(Tag, { maxItems: 4096, description: 'Who may know it; [] = public' }),
    integrity: Type.Array(Tag, { maxItems: 4096, description: 'How trustworthy it is; [] = untrusted' }),
  },
  { additionalProperties: false, description: 'DIFC labels' },
);

export const ResourceLabels = Type.Object(
  {
    description: Type.Optional(Type.String({ maxLength: 4096 })),
    secrecy: Tags,
    integrity: Tags,
  },
  { additionalProperties: false, description: 'Labels of a resource, as the guard gave them' },
);

// Enums rather than unions of literals: validation errors then say "must be equal to one of the allowed values" once.
export const Mode = Type.Enum(['strict', 'filter', 'propagate'], {
  description: 'strict: violations deny; filter: violating items are removed from read results; propagate: reads allowed, agent labels move',
});

export const Operation = Type.Enum(['read', 'write', 'read-write']);

export const GuardName = Type.String({ minLength: 1, maxLength: 128, description: 'Name of a loaded guard (see GET /v1/guards)' });
export const ToolName = Type.String({
  minLength: 1,
  maxLength: 512,
  description: 'Tool name exactly as the gateway calls it (never trimmed or case-folded): a name the guard does not know is a write, whose reply is checked',
});

export const Policy = Type.Object({}, {
  additionalProperties: true,
  description: "The guard's policy object, e.g. {\"allow-only\": {\"repos\": \"public\", \"min-integrity\": \"none\"}}",
});

export const Decision = Type.Enum(['allow', 'deny']);

export const GuardDigest = Type.String({
  pattern: '^[0-9a-f]{64}$',
  description: 'SHA-256 (hex) of the guard version that made this decision (hot reload can change the guard between two requests)',
});

export const DecisionId = Type.String({ format: 'uuid', description: 'Unique id of this decision, also in the decision log' });

export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'Stable error code, e.g. WG_ERR_GUARD_TIMEOUT (see the error table in the API description)' }),
      message: Type.String({ description: 'What is wrong, naming the field, limit or guard' }),
    }),
    decision: Type.Literal('deny', { description: 'Always deny: a gateway that reads only this field fails closed' }),
  },
  { description: 'Error' },
);

type ErrorExample = [name: string, code: string, message: string];

/** One error response: the shared body, a description listing its codes, and a real example per code. */
function errorResponse(description: string, examples: ErrorExample[], extra: Record<string, unknown> = {}) {
  const codes = [...new Set(examples.map(([, code]) => code))].join(', ');
  return {
    ...ErrorBody,
    description: `${description}. Codes: ${codes}.`,
    'x-examples': Object.fromEntries(
      examples.map(([name, code, message]) => [name.replaceAll(' ', '_'), { summary: code, value: { error: { code, message }, decision: 'deny' } }]),
    ),
    ...extra,
  };
}

const RETRY_AFTER = { 'retry-after': { type: 'integer', minimum: 1, description: 'Seconds to wait before retrying' } };

/** 500: any route, for an error the service did not expect; details are logged, not sent. */
export const internalError = {
  500: errorResponse('Internal error (details are in the service log, not in the reply)', [
    ['internal', 'WG_ERR_INTERNAL', 'internal error; the decision is deny'],
  ]),
};

/** 503 for every /v1 route: the service is overloaded or shutting down. */
export const unavailableError = {
  503: errorResponse(
    'Overloaded (the guard pool queue is full or the wait timed out, or the event loop is saturated) or shutting down; retry after Retry-After seconds',
    [
      ['queue full', 'WG_ERR_GUARD_OVERLOADED', 'guard github is overloaded: 256 calls already waiting (limit 256)'],
      ['wait timeout', 'WG_ERR_GUARD_OVERLOADED', 'guard github is overloaded: no instance free within 1000 ms'],
      ['event loop', 'WG_ERR_OVERLOADED', 'service is overloaded (event loop under pressure); retry later'],
      ['guard down', 'WG_ERR_GUARD_UNAVAILABLE', 'guard github has no live instance: it failed 3 times in a row'],
      ['pool closing', 'WG_ERR_POOL_CLOSED', 'guard github is shutting down'],
      ['draining', 'WG_ERR_DRAINING', 'service is shutting down; retry on another instance'],
    ],
    { headers: RETRY_AFTER },
  ),
};

/** Every error a decision route can answer (docs/contract.md §4). */
export const errorResponses = {
  400: errorResponse('Invalid request body; the message names the field', [
    ['wrong type', 'WG_ERR_INVALID_REQUEST', 'body.agent.secrecy[1] must be string'],
    ['unknown field', 'WG_ERR_INVALID_REQUEST', 'body has unknown field "polcy"'],
    ['missing field', 'WG_ERR_INVALID_REQUEST', 'body is missing required field "tool"'],
    ['empty body', 'WG_ERR_INVALID_REQUEST', 'request body is empty; a JSON object is required'],
    ['invalid JSON', 'WG_ERR_INVALID_JSON', 'request body is not valid JSON: Unexpected end of JSON input'],
    ['prototype key', 'WG_ERR_INVALID_JSON', 'request body has a "__proto__" or "constructor.prototype" key, which is not allowed'],
    ['too deep', 'WG_ERR_JSON_TOO_DEEP', 'request body JSON is nested deeper than the limit of 128 levels'],
  ]),
  404: errorResponse('Unknown guard', [['unknown guard', 'WG_ERR_UNKNOWN_GUARD', 'unknown guard "gitlab"; loaded guards: github, static']]),
  413: errorResponse('Request body over the body limit, or guard input over the guard input limit (8 MiB by default)', [
    ['body', 'WG_ERR_BODY_TOO_LARGE', 'request body is over the limit of 9437184 bytes'],
    ['guard input', 'WG_ERR_INPUT_TOO_LARGE', 'input to label_response is 8388662 bytes, over the guard input limit of 8388608 bytes'],
  ]),
  415: errorResponse('The request body is not application/json', [
    ['media type', 'WG_ERR_UNSUPPORTED_MEDIA_TYPE', 'request body must be application/json'],
  ]),
  422: errorResponse("The guard rejected the policy; the message carries the guard's own reason", [
    [
      'policy rejected',
      'WG_ERR_POLICY_REJECTED',
      'guard github rejected the policy: allow-only.repos must be "all", "public" or a non-empty array of "owner/repo" or "owner/*" patterns (got "everything")',
    ],
  ]),
  ...internalError,
  502: errorResponse('The guard failed: it trapped, exited, returned an error code or produced output that is not what the ABI requires', [
    ['trap', 'WG_ERR_GUARD_TRAP', 'guard github label_resource trapped (unreachable): unreachable'],
    ['exit', 'WG_ERR_GUARD_EXIT', 'guard github label_resource called WASI proc_exit(0) and produced no output'],
    ['error code', 'WG_ERR_GUARD_REPORTED', 'guard github label_resource returned error code -7'],
    ['bad output', 'WG_ERR_GUARD_OUTPUT', 'guard github label_resource output: lacks resource (the resource labels)'],
    [
      'output too large',
      'WG_ERR_BUFFER_LIMIT',
      'guard github label_resource needs a 20971520-byte output buffer (its hint), over the limit of 16777216 bytes',
    ],
  ]),
  ...unavailableError,
  504: errorResponse('The guard call overran its deadline; the instance was stopped and replaced', [
    ['deadline', 'WG_ERR_GUARD_TIMEOUT', 'guard github label_resource did not finish within its deadline; the worker was terminated'],
  ]),
};
