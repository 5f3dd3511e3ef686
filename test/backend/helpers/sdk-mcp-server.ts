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

/**
 * What the GitHub tools answer: the two a github guard calls through
 * call_backend. Replies have the shapes the GitHub MCP server and the
 * compatible gateway give (search results as MCP text; the collaborator
 * permission as the REST body in an MCP text block, as the gateway wraps it).
 */
export interface GithubFixture {
  /** "owner/repo" → private? Repositories not listed are not found (an empty search). */
  repos: Record<string, boolean>;
  /** "owner/repo:login" → permission (admin, maintain, write, triage, read, none). */
  permissions: Record<string, string>;
}

function githubTool(github: GithubFixture, name: string, args: Record<string, unknown>): CallToolResult | undefined {
  if (name === 'search_repositories') {
    const wanted = /^repo:(\S+)$/.exec(String(args.query ?? '').trim())?.[1]?.toLowerCase();
    const items = Object.entries(github.repos)
      .filter(([fullName]) => fullName.toLowerCase() === wanted)
      .map(([fullName, isPrivate]) => ({ full_name: fullName, name: fullName.split('/')[1], private: isPrivate, visibility: isPrivate ? 'private' : 'public' }));
    return text(JSON.stringify({ total_count: items.length, incomplete_results: false, items }));
  }
  if (name === 'get_collaborator_permission') {
    const key = `${String(args.owner)}/${String(args.repo)}:${String(args.username)}`;
    const permission = github.permissions[key] ?? 'none';
    return text(JSON.stringify({ permission, role_name: permission, user: { login: String(args.username) } }));
  }
  return undefined;
}

function mcpServer(state: SdkMcpServer, github?: GithubFixture): Server {
  const server = new Server({ name: 'backend-test', version: '1.0.0' }, { capabilities: { tools: {} } });
  const names = ['get_repository', 'slow', 'big', 'tool_error', 'rpc_error', ...(github ? ['search_repositories', 'get_collaborator_permission'] : [])];
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: names.map((name) => ({ name, inputSchema: { type: 'object' as const } })),
  }));
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const { name } = request.params;
    const args = (request.params.arguments ?? {}) as Record<string, unknown>;
    state.calls.set(name, (state.calls.get(name) ?? 0) + 1);
    state.active++;
    state.peak = Math.max(state.peak, state.active);
    try {
      const answer = github ? githubTool(github, name, args) : undefined;
      if (answer) return answer;
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

/** `json`: answer with application/json rather than an event stream. `github`: also serve the GitHub tools a github guard calls. */
export async function startSdkMcpServer(options: { json?: boolean; github?: GithubFixture } = {}): Promise<SdkMcpServer> {
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
      await mcpServer(state, options.github).connect(transport);
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
