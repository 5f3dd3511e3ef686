/**
 * McpBackend against a hand-written server, for replies a well-behaved SDK
 * server never sends: bad JSON, streams that end early, oversize streams,
 * redirects, odd content types, protocol versions.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BackendConfig } from '../../src/config/schema.js';
import { testBackends, type TestBackends } from './helpers/backends.js';
import { mcpHandler, rpcResult, sendEvents, sendJson, startRawServer, type RawServer } from './helpers/raw-server.js';

let server: RawServer;
let t: TestBackends;
beforeEach(async () => {
  server = await startRawServer();
});
afterEach(async () => {
  await t?.backends.close();
  await server.close();
});

const open = (config: Partial<BackendConfig> = {}, env: NodeJS.ProcessEnv = {}) => {
  t = testBackends({ mcp: { type: 'mcp', url: server.url, ...config } }, env);
  return t;
};
const toolCalls = () => server.requests.filter((r) => r.json?.method === 'tools/call');
const ok = { content: [{ type: 'text', text: '{"private":false}' }] };

describe('MCP backend: protocol details', () => {
  it('sends the session id the server assigned, and MCP-Protocol-Version, on every request after initialize', async () => {
    server.handle = mcpHandler((req, res) => sendJson(res, 200, rpcResult(req, ok)), { sessionId: 'sess-1' });
    open();
    expect(JSON.parse((await t.call('mcp', 'get_repository', { owner: 'o', repo: 'r' }))!)).toEqual(ok);
    const [init, initialized, call] = server.requests;
    expect(init!.json).toMatchObject({ jsonrpc: '2.0', method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'wasmguard' } } });
    expect(init!.headers['mcp-session-id']).toBeUndefined();
    expect(init!.headers['mcp-protocol-version']).toBeUndefined();
    expect(initialized!.json).toEqual({ jsonrpc: '2.0', method: 'notifications/initialized' });
    expect(call!.json).toMatchObject({ jsonrpc: '2.0', method: 'tools/call', params: { name: 'get_repository', arguments: { owner: 'o', repo: 'r' } } });
    for (const r of [initialized!, call!]) {
      expect(r.headers['mcp-session-id']).toBe('sess-1');
      expect(r.headers['mcp-protocol-version']).toBe('2025-06-18');
    }
    expect(server.requests.every((r) => r.path === '/mcp' && r.method === 'POST')).toBe(true);
  });

  it('works with a server without sessions; a 404 then is an error, not a re-initialization loop', async () => {
    let n = 0;
    server.handle = mcpHandler((req, res) => (n++ === 0 ? sendJson(res, 200, rpcResult(req, ok)) : void res.writeHead(404).end()));
    open();
    expect(await t.call('mcp', 'get_repository')).toBeDefined();
    expect(server.requests[2]!.headers['mcp-session-id']).toBeUndefined();
    expect(await t.call('mcp', 'get_repository')).toBeUndefined();
    expect(server.requests.filter((r) => r.json?.method === 'initialize')).toHaveLength(1);
    expect(await t.outcomes('mcp')).toEqual({ ok: 1, error: 1 });
  });

  it('a session that keeps answering 404 gives -1 after one re-initialization', async () => {
    let session = 0;
    server.handle = (req, res) => {
      if (req.json?.method === 'initialize') session++;
      return mcpHandler((_r, rs) => void rs.writeHead(404).end(), { sessionId: `s${session}` })(req, res, undefined as never);
    };
    open();
    expect(await t.call('mcp', 'get_repository')).toBeUndefined();
    expect(server.requests.map((r) => r.json?.method)).toEqual(['initialize', 'notifications/initialized', 'tools/call', 'initialize', 'notifications/initialized', 'tools/call']);
  });

  it('finds the response in an event stream after notifications and server requests, and in a JSON batch', async () => {
    let n = 0;
    server.handle = mcpHandler((req, res) => {
      if (n++ === 0) {
        sendEvents(res, [
          { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 1, progress: 1 } },
          { jsonrpc: '2.0', id: 'srv-1', method: 'ping' },
          { jsonrpc: '2.0', id: 9999, result: { wrong: 'id' } },
          rpcResult(req, ok),
        ]);
      } else {
        sendJson(res, 200, [{ jsonrpc: '2.0', method: 'notifications/message', params: {} }, rpcResult(req, { n: 2 })]);
      }
    });
    open();
    expect(JSON.parse((await t.call('mcp', 'a'))!)).toEqual(ok);
    expect(JSON.parse((await t.call('mcp', 'b'))!)).toEqual({ n: 2 });
  });

  it('an unsupported protocol version in the initialize answer is an error', async () => {
    server.handle = mcpHandler((req, res) => sendJson(res, 200, rpcResult(req, ok)), { protocolVersion: '1999-01-01' });
    open();
    expect(await t.call('mcp', 'get_repository')).toBeUndefined();
    expect(toolCalls()).toHaveLength(0);
    expect(t.lines.find((l) => l.obj.outcome === 'error')?.obj.reason).toMatch(/unsupported protocol version "1999-01-01"/);
  });

  it('initialization that failed is tried again by the next call', async () => {
    let fail = true;
    server.handle = (req, res) => (fail && req.json?.method === 'initialize' ? void res.writeHead(503).end() : mcpHandler((r, s) => sendJson(s, 200, rpcResult(r, ok)))(req, res, undefined as never));
    open();
    expect(await t.call('mcp', 'x')).toBeUndefined();
    fail = false;
    expect(await t.call('mcp', 'x')).toBeDefined();
  });

  it('arguments that are not a JSON object give -1 without contacting the server', async () => {
    server.handle = mcpHandler((req, res) => sendJson(res, 200, rpcResult(req, ok)));
    open();
    const h = t.handler('mcp');
    expect(await h('x', '[1,2]', AbortSignal.timeout(1000))).toBeUndefined();
    expect(await h('x', 'not json', AbortSignal.timeout(1000))).toBeUndefined();
    expect(server.requests).toHaveLength(0);
  });
});

describe('MCP backend: failures give -1 and are counted', () => {
  const cases: Array<[string, Parameters<typeof mcpHandler>[0], RegExp]> = [
    ['HTTP 500', (_req, res) => void res.writeHead(500).end('oops'), /HTTP 500 from tools\/call/],
    ['a body that is not JSON', (_req, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end('{"jsonrpc":'), /not UTF-8 JSON/],
    ['an event that is not JSON', (_req, res) => void res.writeHead(200, { 'content-type': 'text/event-stream' }).end('data: {oops\n\n'), /event of the reply stream is not UTF-8 JSON/],
    ['an event stream that ends without the response', (req, res) => sendEvents(res, [{ jsonrpc: '2.0', method: 'notifications/progress', params: {} }]), /holds no response to tools\/call/],
    ['a JSON reply answering another id', (_req, res) => sendJson(res, 200, { jsonrpc: '2.0', id: 12345, result: ok }), /holds no response/],
    ['a JSON-RPC error in an event stream', (req, res) => sendEvents(res, [{ jsonrpc: '2.0', id: req.json.id, error: { code: -32000, message: 'rate limited' } }]), /JSON-RPC error -32000/],
    ['202 to a request', (_req, res) => void res.writeHead(202).end(), /unexpected content type \(none\)/],
    ['an HTML page', (_req, res) => void res.writeHead(200, { 'content-type': 'text/html' }).end('<html>'), /unexpected content type text\/html/],
    ['a result that is not an object', (req, res) => sendJson(res, 200, rpcResult(req, 'text')), /result is not an object/],
    ['a gzip-encoded reply', (_req, res) => void res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' }).end('xx'), /compressed response/],
  ];
  it.each(cases)('%s', async (_name, onRequest, reason) => {
    server.handle = mcpHandler(onRequest, { sessionId: 's' });
    open({ timeoutMs: 3000 });
    const started = performance.now();
    expect(await t.call('mcp', 'get_repository')).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(1000); // an error is reported at once, not at the timeout
    expect(await t.outcomes('mcp')).toEqual({ error: 1 });
    expect(String(t.lines.find((l) => l.obj.outcome === 'error')?.obj.reason)).toMatch(reason);
  });

  it('a server that is not listening', async () => {
    await server.close();
    open();
    expect(await t.call('mcp', 'get_repository')).toBeUndefined();
    expect(await t.outcomes('mcp')).toEqual({ error: 1 });
    expect(t.lines.find((l) => l.obj.outcome === 'error')?.obj.code).toBe('ECONNREFUSED');
  });

  it('a redirect is not followed: only the configured URL is contacted', async () => {
    const elsewhere = await startRawServer(mcpHandler((req, res) => sendJson(res, 200, rpcResult(req, ok))));
    try {
      server.handle = (_req, res) => void res.writeHead(307, { location: elsewhere.url }).end();
      open();
      expect(await t.call('mcp', 'get_repository')).toBeUndefined();
      expect(elsewhere.requests).toHaveLength(0);
      expect(t.lines.find((l) => l.obj.outcome === 'error')?.obj.reason).toBe('HTTP 307 from initialize');
    } finally {
      await elsewhere.close();
    }
  });

  it('server text that echoes a configured secret is redacted before it is logged', async () => {
    server.handle = mcpHandler((req, res) =>
      sendJson(res, 200, { jsonrpc: '2.0', id: req.json.id, error: { code: -32000, message: `bad token ${String(req.headers.authorization)}` } }),
    );
    open({ headers: { authorization: 'env:TOKEN' } }, { TOKEN: 'Bearer abcdefgh12345678' });
    expect(await t.call('mcp', 'get_repository')).toBeUndefined();
    const text = JSON.stringify(t.lines);
    expect(text).not.toContain('abcdefgh12345678');
    expect(text).toContain('bad token [redacted]');
  });
});

describe('MCP backend: response size is bounded while streaming', () => {
  /** Streams `total` bytes of one huge JSON value, in 64 KiB writes that wait for the socket; records how far it got. */
  function streamHuge(contentType: string, total: number) {
    const progress = { written: 0, closed: false };
    const onRequest: Parameters<typeof mcpHandler>[0] = async (req, res, raw) => {
      res.writeHead(200, { 'content-type': contentType });
      raw.socket.on('close', () => (progress.closed = true));
      const head = contentType === 'text/event-stream' ? `data: {"jsonrpc":"2.0","id":${req.json.id},"result":{"text":"` : `{"jsonrpc":"2.0","id":${req.json.id},"result":{"text":"`;
      res.write(head);
      const chunk = 'x'.repeat(64 * 1024);
      while (progress.written < total && !progress.closed) {
        progress.written += chunk.length;
        if (!res.write(chunk)) {
          await new Promise<void>((resolve) => {
            const done = () => {
              res.off('drain', done).off('close', done);
              resolve();
            };
            res.on('drain', done).on('close', done);
          });
        }
      }
      res.end('"}}\n\n');
    };
    return { progress, onRequest };
  }

  it.each(['application/json', 'text/event-stream'])('%s without Content-Length: cut past maxResponseBytes, the connection is dropped', async (type) => {
    const { progress, onRequest } = streamHuge(type, 256 * 1024 * 1024);
    server.handle = mcpHandler(onRequest);
    open({ maxResponseBytes: 256 * 1024, timeoutMs: 10_000 });
    const started = performance.now();
    expect(await t.call('mcp', 'big')).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(3000);
    expect(await t.outcomes('mcp')).toEqual({ too_large: 1 });
    await expect.poll(() => progress.closed, { timeout: 2000 }).toBe(true);
    // What the server managed to write before the client hung up: the limit plus socket buffers, not 256 MiB.
    expect(progress.written).toBeLessThan(16 * 1024 * 1024);
  });

  it('a declared Content-Length past the limit is refused before the body is read', async () => {
    server.handle = mcpHandler((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(1024 * 1024 * 1024) });
      res.write('{"jsonrpc":"2.0"'); // and then nothing: only the header can tell
    });
    open({ maxResponseBytes: 1024, timeoutMs: 5000 });
    const started = performance.now();
    expect(await t.call('mcp', 'big')).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(1000);
    expect(await t.outcomes('mcp')).toEqual({ too_large: 1 });
    expect(t.lines.find((l) => l.obj.outcome === 'too_large')?.obj).toMatchObject({ limit: 1024, seen: 1024 * 1024 * 1024 });
  });
});
