/**
 * A minimal enforcement point (PEP) for MCP tool calls, using only fetch:
 *
 *   evaluate → call the tool → evaluate/response
 *
 * Ask WasmGuard before the call; make the call only on "allow"; when the
 * decision says check_response, send the result back and hand the agent the
 * result WasmGuard returns (filtered, re-serialised), never the original.
 * Any error of the decision service is a deny: the PEP fails closed.
 */

export interface Pep {
  /** WasmGuard's base URL, e.g. http://127.0.0.1:8080 */
  pdp: string;
  /** The agent's session (POST /v1/sessions): its labels, policy and mode live in WasmGuard. */
  session: string;
  /** The tool server's MCP endpoint (Streamable HTTP, JSON replies). */
  toolServer: string;
  /** Bearer token of WASMGUARD_API_TOKENS_FILE, if the service runs with one. */
  token?: string;
}

export type Guarded = { allowed: true; result: unknown } | { allowed: false; reason: string };

async function ask(pep: Pep, path: string, body: unknown): Promise<Record<string, any>> {
  const reply = await fetch(`${pep.pdp}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(pep.token ? { authorization: `Bearer ${pep.token}` } : {}) },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
  const decision = (await reply.json()) as Record<string, any>;
  // Error replies carry decision "deny" too; a reply without one is treated the same way.
  return reply.ok ? decision : { decision: 'deny', reason: decision.error?.message ?? `HTTP ${reply.status}` };
}

async function callTool(pep: Pep, tool: string, args: unknown): Promise<unknown> {
  const reply = await fetch(pep.toolServer, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: tool, arguments: args } }),
    signal: AbortSignal.timeout(10_000),
  });
  const message = (await reply.json()) as { result?: unknown; error?: { message: string } };
  if (message.error) throw new Error(`tool ${tool} failed: ${message.error.message}`);
  return message.result;
}

/** Makes one tool call on the agent's behalf, if and as WasmGuard allows. */
export async function guardedCall(pep: Pep, tool: string, args: Record<string, unknown>): Promise<Guarded> {
  const before = await ask(pep, '/v1/evaluate', { session: pep.session, tool, args });
  if (before.decision !== 'allow') return { allowed: false, reason: before.reason ?? 'denied' };
  const result = await callTool(pep, tool, args);
  if (!before.check_response) return { allowed: true, result };
  const after = await ask(pep, '/v1/evaluate/response', { session: pep.session, tool, args, result, decision_id: before.decision_id });
  if (after.decision !== 'allow') return { allowed: false, reason: after.reason ?? 'result denied' };
  return { allowed: true, result: after.result };
}
