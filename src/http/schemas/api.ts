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

The service keeps no session state: the gateway carries the agent's labels from one reply to the next request.

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
| 408 | WG_ERR_REQUEST_TIMEOUT | the request did not arrive in full within the request timeout; the connection is closed |
| 431 | WG_ERR_HEADERS_TOO_LARGE | request headers over 16 KiB |
| 404 | WG_ERR_UNKNOWN_GUARD, WG_ERR_NOT_FOUND | unknown guard, unknown route |
| 413 | WG_ERR_BODY_TOO_LARGE, WG_ERR_INPUT_TOO_LARGE | body over the body limit (9 MiB by default), guard input over 8 MiB |
| 415 | WG_ERR_UNSUPPORTED_MEDIA_TYPE | the body is not \`application/json\` |
| 422 | WG_ERR_POLICY_REJECTED | the guard refused the policy; its reason is in the message |
| 500 | WG_ERR_INTERNAL | unexpected service error |
| 502 | WG_ERR_GUARD_TRAP, WG_ERR_GUARD_EXIT, WG_ERR_GUARD_REPORTED, WG_ERR_GUARD_OUTPUT, WG_ERR_BUFFER_LIMIT, other WG_ERR_GUARD_* | the guard failed (a trap or a non-zero WASI exit is WG_ERR_GUARD_TRAP, \`proc_exit(0)\` WG_ERR_GUARD_EXIT) |
| 503 | WG_ERR_GUARD_OVERLOADED, WG_ERR_OVERLOADED, WG_ERR_GUARD_UNAVAILABLE, WG_ERR_POOL_CLOSED, WG_ERR_DRAINING | overloaded or shutting down; retry after \`Retry-After\` seconds |
| 504 | WG_ERR_GUARD_TIMEOUT | the guard call overran its deadline |

## Requests

Bodies are JSON (\`Content-Type: application/json\`), nested at most 128 levels deep, without \`__proto__\` or
\`constructor.prototype\` keys; unknown fields are refused. Every reply carries \`x-request-id\` (the request's own, when
it sends one of at most 128 visible ASCII characters), which is also in the service's decision log.`;
