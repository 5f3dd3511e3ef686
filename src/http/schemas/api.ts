/** The OpenAPI document's introduction: enough, with the route schemas and examples, to write a client. */
export const API_DESCRIPTION = `DIFC (decentralized information flow control) policy decisions for AI-agent gateways.
WebAssembly guards label agents, tool calls and tool results; the service applies the flow rules to those labels.

## A tool call, step by step

1. **Once per agent session** (optional): \`POST /v1/agents/label\` with \`{guard, policy}\` gives the agent's starting
   labels and the mode.
2. **Before the tool call**: \`POST /v1/evaluate\` with \`{guard, tool, args, agent, policy}\`. \`decision: "deny"\`
   means do not make the call. \`check_response: true\` means the result must go through step 3 before the agent sees it.
3. **After the tool call**: \`POST /v1/evaluate/response\` with the same fields plus \`result\` (and \`operation\` and
   \`resource\` from step 2, so the call is not labelled twice). Hand the reply's \`result\` to the agent only when
   \`decision\` is "allow", and use the reply's \`agent\` as the agent's labels from then on.

Without a session the service keeps no state: the gateway carries the agent's labels from one reply to the next
request, and \`operation\`/\`resource\` in step 3 are trusted as sent — only for a gateway that never forwards them
from an agent.

## Sessions (server-held labels)

\`POST /v1/sessions\` with \`{guard, policy?, mode?, ttl_s?}\` runs label_agent once and stores the agent's labels
(201 \`{session_id, agent, mode, guard, expires_at}\`). Then send \`session\` instead of \`agent\`, \`policy\` and
\`mode\` (sending both is a 400 naming the fields) to \`/v1/evaluate\` and \`/v1/evaluate/response\`; in step 3 send
the \`decision_id\` of step 2 instead of \`operation\`/\`resource\` (refused with a session): the service uses what it
decided, and labels the call again when that record is gone (5 minutes) or was made for another session, tool or
arguments. After a propagating read the new labels are merged into the store — secrecy ∪, integrity ∩, atomically —
so no request can lower secrecy or raise integrity, and concurrent reads on any number of replicas lose no taint.
\`GET /v1/sessions/{id}\` reads a session, \`DELETE\` ends it (the only reset). Idle sessions expire after their TTL
(default 1 h, refreshed on use). The id is a bearer secret.

## Batch

\`POST /v1/evaluate/batch\` with \`{defaults?, calls: [{id?, tool, ...}]}\`: many pre-call checks in one round trip
(a tool list to filter, a plan of calls). Each call is a \`/v1/evaluate\` body; \`defaults\` (guard, session, agent,
policy, mode) fills what a call does not set. The calls run concurrently over the guards' pools; the reply lists one
decision per call, in order, as \`/v1/evaluate\` answers it, plus the call's \`id\` (default: its position). A call
that fails gets its own \`{id, error, decision: "deny"}\`. A session is read once per batch. At most
\`WASMGUARD_BATCH_MAX\` calls (default 100; more is 413 \`WG_ERR_BATCH_TOO_LARGE\`).

## OpenID AuthZEN Authorization API 1.0

\`GET /.well-known/authzen-configuration\`, \`POST /access/v1/evaluation\` and \`POST /access/v1/evaluations\`
answer the standard's requests on the same pipeline:

| AuthZEN | WasmGuard |
|---|---|
| \`subject.type: "session"\`, \`subject.id\` | \`session\` |
| \`subject.properties.secrecy\`, \`.integrity\` (any other subject type) | \`agent\` labels (absent: label_agent's) |
| \`action.name\` | \`tool\` |
| \`resource.type\` | \`guard\` |
| \`resource.properties\` | \`args\` |
| \`context.policy\`, \`context.mode\` | \`policy\`, \`mode\` |
| \`decision: true / false\` | \`decision: "allow" / "deny"\` |
| \`context\` of the decision | \`decision_id\`, \`operation\`, \`check_response\`, \`mode\`, \`resource\` (labels), \`reason\` |

\`subject.id\` of other types, \`resource.id\` and \`action.properties\` are required or allowed by the standard but
take no part in the decision; unknown fields are ignored. \`check_response: true\` means the tool result must go through
\`/v1/evaluate/response\`. \`options.evaluations_semantic\`: \`execute_all\` (default, concurrent),
\`deny_on_first_deny\`, \`permit_on_first_permit\` (in order, stopping after the first deny — an error counts as one —
or permit). Errors use the standard's form: the status code and a message string (\`text/plain\`); in an evaluations
reply a failed evaluation is \`{decision: false, context: {error: {status, code, message}}}\`.

## Authentication

Off by default (the service listens on 127.0.0.1). With \`WASMGUARD_API_TOKENS_FILE\` every \`/v1\` and \`/access/v1\` route needs
\`Authorization: Bearer <token>\` (401 \`WG_ERR_UNAUTHENTICATED\` otherwise); \`/healthz\`, \`/readyz\`, \`/metrics\`
\`/.well-known/authzen-configuration\` and this document stay open.

## Labels

\`{"secrecy": [...], "integrity": [...]}\`, sets of opaque string tags such as \`private:octo-org/app\` or
\`approved:octo-org\`. Empty secrecy means public; empty integrity means untrusted. A read needs resource secrecy ⊆ agent
secrecy and agent integrity ⊆ resource integrity; a write the reverse. A \`*\` tag on the superset side matches anything.

## Modes

- **strict**: a violation denies; if any item of a result violates, the whole result is denied.
- **filter**: writes as strict; items of a result the agent may not read are removed (the result keeps its shape,
  MCP text wrapping included) and listed in \`filtered\`.
- **propagate**: reads are allowed and the agent's labels move: secrecy gains every item's tags, integrity keeps only
  the tags every item has. Writes as strict.

## Fallbacks

- **policy**: the request's, else the guard's configured policy. With neither, label_agent is not called: the guard
  labels with its built-in defaults, the agent starts with empty labels and the mode is the server default.
- **agent**: the request's, else the labels label_agent gives for the policy, else empty.
- **mode**: the request's, else the guard's configured mode, else the \`difc_mode\` label_agent returns, else the
  server default (\`strict\` unless configured).

## Errors

Every error reply is \`{"error": {"code": "...", "message": "..."}, "decision": "deny"}\`, so a gateway that reads only
\`decision\` fails closed. A denial is not an error: it is a 200 reply with \`decision: "deny"\` and a \`reason\`.

| status | codes | when |
|---|---|---|
| 400 | WG_ERR_INVALID_REQUEST, WG_ERR_INVALID_JSON, WG_ERR_JSON_TOO_DEEP | invalid body; the message names the field; a request the HTTP parser refuses (bad \`content-length\`, malformed URL) |
| 401 | WG_ERR_UNAUTHENTICATED | no valid bearer token (only with \`WASMGUARD_API_TOKENS_FILE\`) |
| 403 | WG_ERR_POLICY_LOCKED | the guard's policy and mode are locked by the operator and the request sends another policy, mode or agent labels |
| 404 | WG_ERR_UNKNOWN_GUARD, WG_ERR_UNKNOWN_SESSION, WG_ERR_NOT_FOUND | unknown guard, unknown or expired session, unknown route |
| 408 | WG_ERR_REQUEST_TIMEOUT | the request did not arrive in full within the request timeout; the connection is closed |
| 413 | WG_ERR_BODY_TOO_LARGE, WG_ERR_INPUT_TOO_LARGE, WG_ERR_BATCH_TOO_LARGE | body over the body limit (9 MiB by default), guard input over 8 MiB, more batch calls than \`WASMGUARD_BATCH_MAX\` |
| 415 | WG_ERR_UNSUPPORTED_MEDIA_TYPE | the body is not \`application/json\`, or is sent with a \`Content-Encoding\` (send it uncompressed) |
| 422 | WG_ERR_POLICY_REJECTED | the guard refused the policy; its reason is in the message |
| 431 | WG_ERR_HEADERS_TOO_LARGE | request headers over 16 KiB |
| 500 | WG_ERR_INTERNAL | unexpected service error |
| 502 | WG_ERR_GUARD_TRAP, WG_ERR_GUARD_EXIT, WG_ERR_GUARD_REPORTED, WG_ERR_GUARD_OUTPUT, WG_ERR_BUFFER_LIMIT, other WG_ERR_GUARD_* | the guard failed (a trap or a non-zero WASI exit is WG_ERR_GUARD_TRAP, \`proc_exit(0)\` WG_ERR_GUARD_EXIT) |
| 503 | WG_ERR_GUARD_OVERLOADED, WG_ERR_OVERLOADED, WG_ERR_GUARD_UNAVAILABLE, WG_ERR_POOL_CLOSED, WG_ERR_DRAINING, WG_ERR_SESSION_STORE_UNAVAILABLE | overloaded, shutting down, or the session store is unreachable (session calls only); retry after \`Retry-After\` seconds |
| 504 | WG_ERR_GUARD_TIMEOUT | the guard call overran its deadline |

## Requests

Bodies are JSON (\`Content-Type: application/json\`), nested at most 128 levels deep, without \`__proto__\` or
\`constructor.prototype\` keys; unknown fields are refused. Every reply carries \`x-request-id\` (the request's own, when
it sends one of at most 128 visible ASCII characters), which is also in the service's decision log.`;
