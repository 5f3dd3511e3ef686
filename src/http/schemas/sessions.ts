import { Type, type Static } from 'typebox';
import { errorResponses } from './common.js';
import { GuardName, Labels, Mode, Policy } from './common.js';
import type { Assert, Same } from './type-link.js';
import type { SessionView } from '../../session/session-service.js';

/** 128 random bits, base64url: exactly 22 characters. */
export const SessionId = Type.String({
  pattern: '^[A-Za-z0-9_-]{22}$',
  description: 'A session id (128 random bits, base64url). It is a bearer secret: the service logs only its first 8 characters',
});

const EXAMPLE_ID = 'q3W9x1bK0fT7mZ2cYp4LsA';
const EXAMPLE_POLICY = { 'allow-only': { repos: 'public', 'min-integrity': 'approved' } };

export const CreateSessionBody = Type.Object(
  {
    guard: GuardName,
    policy: Type.Optional({ ...Policy, description: "Default: the guard's configured policy; with none, label_agent is not called and the agent starts with empty labels" }),
    mode: Type.Optional({ ...Mode, description: "Default: the guard's configured mode, then label_agent's difc_mode, then the server default" }),
    ttl_s: Type.Optional(Type.Integer({ minimum: 1, maximum: 30 * 86400, description: 'Idle time to live in seconds, refreshed on every use; default WASMGUARD_SESSION_TTL_S (3600)' })),
  },
  { additionalProperties: false, examples: [{ guard: 'github', policy: EXAMPLE_POLICY, mode: 'propagate' }] },
);

const SessionFields = {
  session_id: SessionId,
  guard: GuardName,
  mode: Mode,
  agent: { ...Labels, description: "The agent's labels as the store holds them; they only ever move in the restrictive direction" },
  expires_at: Type.String({ format: 'date-time', description: 'When the session expires if it is not used again' }),
};

const EXAMPLE_AGENT = { secrecy: [], integrity: ['approved:github', 'unapproved:github'] };

export const CreateSessionReply = Type.Object(
  { ...SessionFields, ttl_s: Type.Integer() },
  {
    description: 'The new session',
    examples: [{ session_id: EXAMPLE_ID, guard: 'github', mode: 'propagate', agent: EXAMPLE_AGENT, expires_at: '2026-12-02T16:00:00.000Z', ttl_s: 3600 }],
  },
);

export const SessionReply = Type.Object(
  {
    ...SessionFields,
    created: Type.String({ format: 'date-time' }),
    updated: Type.String({ format: 'date-time' }),
    changes: Type.Integer({ minimum: 0, description: 'How many propagating reads moved the labels' }),
    ttl_s: Type.Integer(),
  },
  {
    description: 'The session',
    examples: [
      {
        session_id: EXAMPLE_ID,
        guard: 'github',
        mode: 'propagate',
        agent: { secrecy: [], integrity: [] },
        created: '2026-12-02T15:00:00.000Z',
        updated: '2026-12-02T15:00:04.000Z',
        changes: 1,
        expires_at: '2026-12-02T16:00:04.000Z',
        ttl_s: 3600,
      },
    ],
  },
);

export const SessionParams = Type.Object({ id: SessionId }, { additionalProperties: false });

type ErrorExample = { summary: string; value: { error: { code: string; message: string }; decision: 'deny' } };
const example = (code: string, message: string): ErrorExample => ({ summary: code, value: { error: { code, message }, decision: 'deny' } });

/** Errors of every route that uses sessions, on top of the decision errors. */
export const sessionErrors = {
  ...errorResponses,
  401: {
    ...errorResponses[400],
    description: 'No valid bearer token (only when the service runs with WASMGUARD_API_TOKENS_FILE). Codes: WG_ERR_UNAUTHENTICATED.',
    'x-examples': { unauthenticated: example('WG_ERR_UNAUTHENTICATED', 'the bearer token is not valid') },
  },
  403: {
    ...errorResponses[400],
    description: "The guard's policy and mode are locked by the operator (lock: true) and the request sends another policy, mode or agent labels. Codes: WG_ERR_POLICY_LOCKED.",
    'x-examples': { locked: example('WG_ERR_POLICY_LOCKED', 'guard github has its policy and mode locked by the operator: body.policy is not accepted') },
  },
  404: {
    ...errorResponses[404],
    description: 'Unknown guard, or unknown or expired session. Codes: WG_ERR_UNKNOWN_GUARD, WG_ERR_UNKNOWN_SESSION.',
    'x-examples': {
      ...(errorResponses[404] as { 'x-examples': Record<string, unknown> })['x-examples'],
      unknown_session: example('WG_ERR_UNKNOWN_SESSION', 'unknown or expired session q3W9x1bK…; create one with POST /v1/sessions'),
    },
  },
  503: {
    ...errorResponses[503],
    description: `${errorResponses[503].description.replace(/\. Codes: /, '; or the session store is unreachable. Codes: ')}`.replace(/\.$/, ', WG_ERR_SESSION_STORE_UNAVAILABLE.'),
    'x-examples': {
      ...(errorResponses[503] as { 'x-examples': Record<string, unknown> })['x-examples'],
      session_store: example('WG_ERR_SESSION_STORE_UNAVAILABLE', 'session store unavailable (Redis connection is reconnecting); the decision is deny, retry later'),
    },
  },
};

export type CreateSessionBodyT = Static<typeof CreateSessionBody>;

// The session service's reply type is these schemas' (type-link.ts): a field on one side only fails to compile.
export type SessionReplyIsSessionView = Assert<Same<Static<typeof SessionReply>, SessionView>>;
export type CreateSessionReplyIsSessionView = Assert<Same<Static<typeof CreateSessionReply>, Omit<SessionView, 'created' | 'updated' | 'changes'>>>;
