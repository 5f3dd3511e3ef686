import { deadline, raceAbort } from './abort.js';
import { BackendCallError, type Backend } from './backend.js';
import { limitBytes, readLimited } from './limited-body.js';
import { SseParser } from './sse.js';
import { discard, dropBody, type BackendTransport, type TransportResponse } from './transport.js';

/**
 * An MCP server over Streamable HTTP, as a client that only calls tools:
 * `initialize` once (then `notifications/initialized`), then `tools/call`
 * with `{name, arguments}`; the guard gets the call's `result`. The
 * Mcp-Session-Id the server assigns is sent on every later request, with
 * MCP-Protocol-Version; a 404 on a request carrying the session means the
 * session is gone, and the client initializes again (once per call). Replies
 * come as application/json or as a text/event-stream, read incrementally and
 * bounded by maxResponseBytes either way.
 */

/** The version this client asks for; the server may answer with any version in SUPPORTED_VERSIONS. */
export const PROTOCOL_VERSION = '2025-11-25';
export const SUPPORTED_VERSIONS = ['2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05'];
const CLIENT_INFO = { name: 'wasmguard', version: '0.1.0' };
/** Bound on the best-effort messages that are not part of a guard's call (cancellation, session end). */
const COURTESY_TIMEOUT_MS = 1000;

interface Session {
  /** Absent when the server runs without sessions. */
  id: string | undefined;
  protocolVersion: string;
}

interface RpcResponse {
  id: number;
  result?: unknown;
  error?: { code?: unknown; message?: unknown };
}

/** The server forgot our session (HTTP 404 to a request that carried it). */
class SessionExpired extends Error {}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function parseJson(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(utf8.decode(bytes));
  } catch {
    throw new BackendCallError('error', `${what} is not UTF-8 JSON`);
  }
}

/** The response to request `id` in a message or a batch, if there is one. */
function responseTo(message: unknown, id: number): RpcResponse | undefined {
  const candidates = Array.isArray(message) ? message : [message];
  for (const m of candidates) {
    if (typeof m === 'object' && m !== null && (m as { id?: unknown }).id === id && ('result' in m || 'error' in m)) return m as RpcResponse;
  }
  return undefined;
}

const clip = (text: string, max = 200) => (text.length > max ? `${text.slice(0, max)}…` : text);

export interface McpBackendOptions {
  transport: BackendTransport;
  /** Bound on initialization, which serves every call waiting for it rather than one guard call. */
  timeoutMs: number;
  /** Hides configured header values in server text before it reaches an error message. */
  redact: (text: string) => string;
}

export class McpBackend implements Backend {
  readonly #transport: BackendTransport;
  readonly #timeoutMs: number;
  readonly #redact: (text: string) => string;
  readonly #closing = new AbortController();
  #session: Promise<Session> | undefined;
  #established: Session | undefined;
  #nextId = 0;

  constructor(options: McpBackendOptions) {
    this.#transport = options.transport;
    this.#timeoutMs = options.timeoutMs;
    this.#redact = options.redact;
  }

  async call(tool: string, argsJson: string, signal: AbortSignal): Promise<string> {
    let args: unknown;
    try {
      args = JSON.parse(argsJson);
    } catch {
      args = undefined;
    }
    if (typeof args !== 'object' || args === null || Array.isArray(args)) {
      throw new BackendCallError('error', 'tool arguments must be a JSON object');
    }
    for (let attempt = 1; ; attempt++) {
      if (this.#closing.signal.aborted) throw new BackendCallError('error', 'the backend is closed');
      const session = await raceAbort(this.#currentSession(), signal);
      try {
        const { result } = await this.#rpc(session, 'tools/call', { name: tool, arguments: args }, signal);
        return this.#toolResult(result);
      } catch (error) {
        if (!(error instanceof SessionExpired)) throw error;
        if (attempt > 1) throw new BackendCallError('error', 'HTTP 404 again right after initializing a new session', { status: 404 });
        if (this.#established === session) {
          this.#session = undefined;
          this.#established = undefined;
        }
      }
    }
  }

  /** Shared by concurrent calls; a failed initialization is forgotten so the next call tries again. */
  #currentSession(): Promise<Session> {
    if (!this.#session) {
      const pending = this.#initialize();
      this.#session = pending;
      pending.then(
        (session) => {
          if (this.#session === pending) this.#established = session;
        },
        () => {
          if (this.#session === pending) this.#session = undefined;
        },
      );
    }
    return this.#session;
  }

  async #initialize(): Promise<Session> {
    const limit = deadline([this.#closing.signal], this.#timeoutMs);
    try {
      const { result, response } = await this.#rpc(
        undefined,
        'initialize',
        { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: CLIENT_INFO },
        limit.signal,
      );
      const version = (result as { protocolVersion?: unknown } | null)?.protocolVersion;
      if (typeof version !== 'string' || !SUPPORTED_VERSIONS.includes(version)) {
        throw new BackendCallError('error', `the server answered initialize with unsupported protocol version ${clip(JSON.stringify(version) ?? 'none', 40)}`);
      }
      const id = response.header('mcp-session-id');
      if (id !== undefined && !/^[\x21-\x7e]{1,1024}$/.test(id)) {
        throw new BackendCallError('error', 'the server assigned an Mcp-Session-Id that is not visible ASCII');
      }
      const session: Session = { id, protocolVersion: version };
      await this.#notify(session, 'notifications/initialized', limit.signal);
      return session;
    } catch (error) {
      if (limit.timedOut()) throw new BackendCallError('timeout', `initialize did not finish within ${this.#timeoutMs} ms`);
      throw error;
    } finally {
      limit.dispose();
    }
  }

  #headers(session: Session | undefined): Record<string, string> {
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    if (session?.id) headers['mcp-session-id'] = session.id;
    if (session) headers['mcp-protocol-version'] = session.protocolVersion;
    return headers;
  }

  /** One JSON-RPC request and its response (`result`, or a thrown error). */
  async #rpc(session: Session | undefined, method: string, params: unknown, signal: AbortSignal): Promise<{ result: unknown; response: TransportResponse }> {
    const id = ++this.#nextId;
    const body = JSON.stringify({ jsonrpc: '2.0', id, method, params });
    try {
      const response = await this.#transport.request('POST', this.#headers(session), body, signal);
      this.#checkStatus(response, session, method);
      let message: RpcResponse | undefined;
      if (response.mediaType === 'application/json') {
        message = responseTo(parseJson(await readLimited(response.body, this.#transport.maxResponseBytes), 'the reply'), id);
      } else if (response.mediaType === 'text/event-stream') {
        message = await this.#fromEventStream(response, id);
      } else {
        dropBody(response.body);
        throw new BackendCallError('error', `unexpected content type ${clip(response.mediaType || '(none)', 60)}`, { status: response.status, method });
      }
      if (!message) throw new BackendCallError('error', `the reply holds no response to ${method}`, { status: response.status, method });
      if (message.error !== undefined) {
        const { code, message: text } = message.error ?? {};
        throw new BackendCallError('error', `JSON-RPC error ${typeof code === 'number' ? code : '?'} from ${method}`, {
          method,
          rpcCode: typeof code === 'number' ? code : undefined,
          rpcMessage: typeof text === 'string' ? this.#redact(clip(text)) : undefined,
        });
      }
      return { result: message.result, response };
    } catch (error) {
      // The spec asks a client that gives up on a request to say so; initialize is never cancelled.
      if (signal.aborted && session && !this.#closing.signal.aborted) this.#cancel(session, id);
      throw error;
    }
  }

  #checkStatus(response: TransportResponse, session: Session | undefined, method: string): void {
    if (response.status >= 200 && response.status <= 299) return;
    dropBody(response.body);
    if (response.status === 404 && session?.id) throw new SessionExpired();
    throw new BackendCallError('error', `HTTP ${response.status} from ${method}`, { status: response.status, method });
  }

  /** Reads events until the response to `id` arrives (the stream is then closed), counting every byte. */
  async #fromEventStream(response: TransportResponse, id: number): Promise<RpcResponse | undefined> {
    const parser = new SseParser();
    const find = (events: ReturnType<SseParser['push']>) => {
      for (const event of events) {
        // Other event types, server requests and notifications are not ours to handle.
        if (event.event !== undefined && event.event !== 'message') continue;
        const found = responseTo(parseJson(Buffer.from(event.data), 'an event of the reply stream'), id);
        if (found) return found;
      }
      return undefined;
    };
    for await (const chunk of limitBytes(response.body, this.#transport.maxResponseBytes)) {
      const found = find(parser.push(chunk));
      if (found) return found;
    }
    return find(parser.end());
  }

  async #notify(session: Session, method: string, signal: AbortSignal, params?: unknown): Promise<void> {
    const body = JSON.stringify(params === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params });
    const response = await this.#transport.request('POST', this.#headers(session), body, signal);
    this.#checkStatus(response, session, method);
    await discard(response.body, signal);
  }

  #toolResult(result: unknown): string {
    if (typeof result !== 'object' || result === null || Array.isArray(result)) {
      throw new BackendCallError('error', 'the tools/call result is not an object');
    }
    if ((result as { isError?: unknown }).isError === true) {
      const content = (result as { content?: unknown }).content;
      const text = Array.isArray(content) ? content.find((c): c is { text: string } => typeof (c as { text?: unknown })?.text === 'string')?.text : undefined;
      throw new BackendCallError('error', 'the tool reported an error (isError)', text === undefined ? {} : { toolError: this.#redact(clip(text)) });
    }
    return JSON.stringify(result);
  }

  /** Best effort, in the background: tells the server the request was abandoned. */
  #cancel(session: Session, requestId: number): void {
    const signal = AbortSignal.timeout(COURTESY_TIMEOUT_MS);
    this.#notify(session, 'notifications/cancelled', signal, { requestId, reason: 'the guard call timed out' }).catch(() => {});
  }

  async close(): Promise<void> {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort(new BackendCallError('error', 'the backend is closed'));
    const session = this.#established;
    if (session?.id) {
      // The spec asks clients that are done with a session to end it.
      try {
        const response = await this.#transport.request('DELETE', this.#headers(session), undefined, AbortSignal.timeout(COURTESY_TIMEOUT_MS));
        dropBody(response.body);
      } catch {
        // The server may be gone already; nothing to do.
      }
    }
    await this.#transport.close();
  }
}
