/**
 * A real MCP server for the backend tests, built with the official MCP
 * TypeScript SDK (low-level Server + StreamableHTTPServerTransport, stateful:
 * one transport per session) on node:http, listening on 127.0.0.1:0.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ErrorCode, ListToolsRequestSchema, McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';

export interface RecordedRequest {
  method: string;
  headers: IncomingHttpHeaders;
  /** JSON-RPC method of a POST body, when it had one. */
  rpc?: string;
}

export interface SdkMcpServer {
  url: string;
  requests: RecordedRequest[];
  /** tools/call requests that reached a tool, by tool name. */
  calls: Map<string, number>;
  /** Tools running right now, and the most ever at once. */
  active: number;
  peak: number;
  /** Requests cancelled by the client (notifications/cancelled). */
  cancelled: number;
  /** Sessions the server knows. */
  sessions: Map<string, StreamableHTTPServerTransport>;
  /** Forgets every session, as a restarted server would: the next request with an old id gets 404. */
  expireSessions(): void;
  close(): Promise<void>;
}

const text = (value: string): CallToolResult => ({ content: [{ type: 'text', text: value }] });

function mcpServer(state: SdkMcpServer): Server {
  const server = new Server({ name: 'backend-test', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: ['get_repository', 'slow', 'big', 'tool_error', 'rpc_error'].map((name) => ({ name, inputSchema: { type: 'object' as const } })),
  }));
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const { name } = request.params;
    const args = (request.params.arguments ?? {}) as Record<string, unknown>;
    state.calls.set(name, (state.calls.get(name) ?? 0) + 1);
    state.active++;
    state.peak = Math.max(state.peak, state.active);
    try {
      switch (name) {
        case 'get_repository': {
          const result = { private: String(args.repo).startsWith('secret'), full_name: `${String(args.owner)}/${String(args.repo)}` };
          return { content: [{ type: 'text', text: JSON.stringify(result) }], structuredContent: result };
        }
        case 'slow': {
          extra.signal.addEventListener('abort', () => state.cancelled++);
          await sleep(Number(args.ms ?? 200), undefined, { signal: extra.signal }).catch(() => {});
          return text(`slept ${Number(args.ms ?? 200)} ms`);
        }
        case 'big':
          return text('x'.repeat(Number(args.size ?? 1024)));
        case 'tool_error':
          return { isError: true, content: [{ type: 'text', text: 'repository not found' }] };
        case 'rpc_error':
          throw new McpError(ErrorCode.InvalidParams, 'rpc_error: invalid params');
        default:
          throw new McpError(ErrorCode.InvalidParams, `unknown tool ${name}`);
      }
    } finally {
      state.active--;
    }
  });
  return server;
}

/** `json`: answer with application/json rather than an event stream. */
export async function startSdkMcpServer(options: { json?: boolean } = {}): Promise<SdkMcpServer> {
  const state: SdkMcpServer = {
    url: '',
    requests: [],
    calls: new Map(),
    active: 0,
    peak: 0,
    cancelled: 0,
    sessions: new Map(),
    expireSessions: () => state.sessions.clear(),
    close: async () => {},
  };
  const http: HttpServer = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      body = undefined;
    }
    state.requests.push({ method: req.method ?? '', headers: req.headers, rpc: (body as { method?: string } | undefined)?.method });
    const sessionId = req.headers['mcp-session-id'];
    if (typeof sessionId === 'string') {
      const transport = state.sessions.get(sessionId);
      if (!transport) {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null }));
        return;
      }
      await transport.handleRequest(req, res, body);
      return;
    }
    if (req.method === 'POST' && (body as { method?: string } | undefined)?.method === 'initialize') {
      const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        enableJsonResponse: options.json ?? false,
        onsessioninitialized: (id) => {
          state.sessions.set(id, transport);
        },
      });
      transport.onclose = () => {
        if (transport.sessionId) state.sessions.delete(transport.sessionId);
      };
      await mcpServer(state).connect(transport);
      await transport.handleRequest(req, res, body);
      return;
    }
    res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: 'No session' }, id: null }));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`;
  state.close = async () => {
    await Promise.all([...state.sessions.values()].map((t) => t.close().catch(() => {})));
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  };
  return state;
}
