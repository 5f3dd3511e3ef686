import { Type, type Static } from 'typebox';

/**
 * The config file (JSON or YAML) of docs/contract.md §5. One TypeBox schema
 * gives both the validation and the TypeScript types.
 */

// Enums rather than unions of literals: a wrong value then gives one error listing the allowed values.
const Mode = Type.Enum(['strict', 'filter', 'propagate']);
const LogLevel = Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

export const ServerConfigSchema = Type.Object(
  {
    host: Type.String({ minLength: 1 }),
    port: Type.Integer({ minimum: 0, maximum: 65535 }),
    /** A second listener with only /healthz, /readyz and /metrics (off when unset; 0 = any free port). */
    diagnosticsPort: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
    diagnosticsHost: Type.String({ minLength: 1 }),
    defaultMode: Mode,
    bodyLimitBytes: Type.Integer({ minimum: 1024 }),
    /** Bytes of /v1/evaluate/response bodies checked at once; more wait with their bodies unread (http/result-admission.ts). */
    resultBytesInFlight: Type.Integer({ minimum: 1024 }),
    graceMs: Type.Integer({ minimum: 0 }),
    /** After SIGTERM: how long the service keeps serving (readiness false, every answer closing its connection) before the listener closes. */
    drainMs: Type.Integer({ minimum: 0 }),
    /** Longest a client may take to send one whole request (headers and body); past it the connection is closed. */
    requestTimeoutMs: Type.Integer({ minimum: 1 }),
    /** Longest a connection may stay silent in either direction (no request, no answer). */
    connectionTimeoutMs: Type.Integer({ minimum: 1 }),
    /** How long an idle keep-alive connection is kept open after an answer. */
    keepAliveTimeoutMs: Type.Integer({ minimum: 1 }),
    /** Open connections at once; past it new ones are closed at accept. */
    maxConnections: Type.Integer({ minimum: 1 }),
    /** Requests served on one keep-alive connection before it is closed (0: no limit). */
    maxRequestsPerSocket: Type.Integer({ minimum: 0 }),
    logLevel: LogLevel,
    /** Deepest JSON nesting accepted in a request body. */
    maxJsonDepth: Type.Integer({ minimum: 8, maximum: 10000 }),
    /** Log tool arguments and results in decision logs (off by default: they may hold secrets). */
    logToolData: Type.Boolean(),
    /** pino redaction paths applied to every log line, e.g. "args.token" or "result.items[*].body". */
    logRedactPaths: Type.Array(Type.String({ minLength: 1 }), { maxItems: 256 }),
    /** "memory" or a redis:// / rediss:// URL (docs/contract.md §7). */
    sessionStore: Type.String({ pattern: '^(memory|rediss?://.+)$' }),
    /** Sessions the memory store holds at most (least recently used evicted). */
    sessionMax: Type.Integer({ minimum: 1, maximum: 10_000_000 }),
    /** Idle time to live of a session, refreshed on use. */
    sessionTtlS: Type.Integer({ minimum: 1, maximum: 30 * 86400 }),
    /** One bearer token per line (# comments); unset: no authentication (docs/contract.md §8). */
    apiTokensFile: Type.Optional(Type.String({ minLength: 1 })),
    /** Reload guards when the guards directory or the config file changes (hot reload). */
    watch: Type.Boolean(),
    /** Most calls in one POST /v1/evaluate/batch or /access/v1/evaluations request. */
    batchMax: Type.Integer({ minimum: 1, maximum: 10_000 }),
  },
  { additionalProperties: false },
);

export const GuardConfigSchema = Type.Object(
  {
    path: Type.String({ minLength: 1 }),
    sha256: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{64}$' })),
    policy: Type.Optional(Type.Unknown()),
    mode: Type.Optional(Mode),
    poolSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 256 })),
    /** Instances started with the guard (at most poolSize); the rest start while calls wait. */
    poolWarm: Type.Optional(Type.Integer({ minimum: 1, maximum: 256 })),
    /** An instance past poolWarm idle this long (ms) is stopped; 0 keeps them. */
    poolIdleMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 24 * 3600 * 1000 })),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1 })),
    memoryLimitMb: Type.Optional(Type.Integer({ minimum: 1, maximum: 4096 })),
    // The other limits of docs/contract.md §2 (defaults in src/guard/defaults.ts).
    limits: Type.Optional(
      Type.Object(
        {
          maxInputBytes: Type.Optional(Type.Integer({ minimum: 1, maximum: 256 * 1024 * 1024 })),
          initialOutputBytes: Type.Optional(Type.Integer({ minimum: 1, maximum: 256 * 1024 * 1024 })),
          maxOutputBytes: Type.Optional(Type.Integer({ minimum: 1, maximum: 256 * 1024 * 1024 })),
          maxOutputAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 16 })),
          maxBackendCalls: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000 })),
        },
        { additionalProperties: false },
      ),
    ),
    maxQueue: Type.Optional(Type.Integer({ minimum: 0 })),
    queueTimeoutMs: Type.Optional(Type.Integer({ minimum: 1 })),
    backend: Type.Optional(Type.String({ minLength: 1 })),
    /** Requests may not send another policy, mode or agent labels than the configured ones (403 WG_ERR_POLICY_LOCKED). */
    lock: Type.Optional(Type.Boolean()),
    /** Per-tool backends for call_backend: a tool named here goes to that backend instead of `backend`. */
    toolBackends: Type.Optional(Type.Record(Type.String({ minLength: 1 }), Type.String({ minLength: 1 }))),
    /**
     * Extra bot logins the guard trusts, sent to label_agent as the top-level
     * `trusted-bots` member next to the policy, as the compatible gateway
     * passes its `trustedBots` setting (non-empty when present, as there).
     */
    trustedBots: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1, maxItems: 1024 })),
  },
  { additionalProperties: false },
);

export const BackendConfigSchema = Type.Object(
  {
    type: Type.Union([Type.Literal('mcp'), Type.Literal('http')]),
    url: Type.String({ pattern: '^https?://' }),
    headers: Type.Optional(Type.Record(Type.String(), Type.String())),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1 })),
    maxResponseBytes: Type.Optional(Type.Integer({ minimum: 1 })),
    maxConcurrent: Type.Optional(Type.Integer({ minimum: 1 })),
    tools: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
  },
  { additionalProperties: false },
);

export const ConfigFileSchema = Type.Object(
  {
    // Partial drops the options of the object it copies: restate additionalProperties.
    server: Type.Optional(Type.Partial(ServerConfigSchema, { additionalProperties: false })),
    guardsDir: Type.Optional(Type.String({ minLength: 1 })),
    guards: Type.Optional(Type.Record(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' }), GuardConfigSchema)),
    backends: Type.Optional(Type.Record(Type.String(), BackendConfigSchema)),
  },
  { additionalProperties: false },
);

export type ServerConfig = Static<typeof ServerConfigSchema>;
export type GuardConfig = Static<typeof GuardConfigSchema>;
export type BackendConfig = Static<typeof BackendConfigSchema>;
export type ConfigFile = Static<typeof ConfigFileSchema>;
