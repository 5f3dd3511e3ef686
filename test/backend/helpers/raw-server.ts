/**
 * A hand-written HTTP server on 127.0.0.1:0 whose behaviour each test sets,
 * for what a well-behaved MCP SDK server never does (bad JSON, oversize
 * streams, redirects, 404 on a live session…).
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RawRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The parsed body, when it was JSON. */
  json: any;
}

export type RawHandler = (req: RawRequest, res: ServerResponse, raw: IncomingMessage) => void | Promise<void>;

export interface RawServer {
  url: string;
  origin: string;
  requests: RawRequest[];
  handle: RawHandler;
  close(): Promise<void>;
}

export async function startRawServer(handle: RawHandler = (_req, res) => void res.writeHead(500).end()): Promise<RawServer> {
  const state: RawServer = { url: '', origin: '', requests: [], handle, close: async () => {} };
  const http = createServer(async (raw, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of raw) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    let json: unknown;
    try {
      json = body ? JSON.parse(body) : undefined;
    } catch {
      json = undefined;
    }
    const req: RawRequest = { method: raw.method ?? '', path: raw.url ?? '', headers: raw.headers, body, json };
    state.requests.push(req);
    try {
      await state.handle(req, res, raw);
    } catch {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    }
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  state.origin = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  state.url = `${state.origin}/mcp`;
  state.close = async () => {
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  };
  return state;
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers }).end(body);
}

/** Writes SSE events (each a JSON-RPC message) and ends the stream. */
export function sendEvents(res: ServerResponse, messages: unknown[], headers: Record<string, string> = {}): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', ...headers });
  for (const m of messages) res.write(`event: message\ndata: ${JSON.stringify(m)}\n\n`);
  res.end();
}

/**
 * A minimal MCP server: answers initialize (with `sessionId`, if given) and
 * notifications itself, and hands every other request to `onRequest`.
 */
export function mcpHandler(
  onRequest: (req: RawRequest, res: ServerResponse, raw: IncomingMessage) => void | Promise<void>,
  options: { sessionId?: string; protocolVersion?: string } = {},
): RawHandler {
  return (req, res, raw) => {
    const message = req.json as { id?: number; method?: string } | undefined;
    if (req.method === 'DELETE') return void res.writeHead(200).end();
    if (message?.method === 'initialize') {
      const headers: Record<string, string> = options.sessionId ? { 'mcp-session-id': options.sessionId } : {};
      return sendJson(
        res,
        200,
        { jsonrpc: '2.0', id: message.id, result: { protocolVersion: options.protocolVersion ?? '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'raw', version: '1' } } },
        headers,
      );
    }
    if (message?.method?.startsWith('notifications/')) return void res.writeHead(202).end();
    return onRequest(req, res, raw);
  };
}

/** The JSON-RPC result for a request. */
export const rpcResult = (req: RawRequest, result: unknown) => ({ jsonrpc: '2.0', id: (req.json as { id: number }).id, result });
