import type { Dispatcher, Pool } from 'undici';
import { BackendCallError, ResponseTooLargeError } from './backend.js';

/**
 * The HTTP client of one backend: an undici connection pool bound to the
 * origin of the configured URL, so no other address can ever be reached.
 * Redirects are not followed (a 3xx is an error), compressed bodies are
 * refused, and a declared Content-Length past the limit is refused before
 * any of the body is read.
 */
export interface TransportOptions {
  url: string;
  /** Configured headers (names lower-cased); sent with every request. */
  headers: Record<string, string>;
  /** Connections kept to the backend. */
  connections: number;
  maxResponseBytes: number;
}

export interface TransportResponse {
  status: number;
  /** A response header, lower-case name; the first value when repeated. */
  header(name: string): string | undefined;
  /** The media type of Content-Type without parameters, lower-cased ("" when absent). */
  mediaType: string;
  body: Dispatcher.ResponseData['body'];
}

/**
 * undici is loaded when the first backend is built, not with the service: a
 * configuration without backends (the default) would carry about 5 MB of idle
 * memory for it.
 */
let undici: Promise<typeof import('undici')> | undefined;
const loadUndici = () => (undici ??= import('undici'));

export class BackendTransport {
  readonly #pool: Promise<Pool>;
  readonly #path: string;
  readonly #headers: Record<string, string>;
  readonly #maxResponseBytes: number;

  constructor(options: TransportOptions) {
    const url = new URL(options.url);
    this.#pool = loadUndici().then(({ Pool }) => new Pool(url.origin, { connections: options.connections }));
    // Failing to load is reported by the first request, which awaits the same promise.
    this.#pool.catch(() => {});
    this.#path = `${url.pathname}${url.search}`;
    this.#headers = options.headers;
    this.#maxResponseBytes = options.maxResponseBytes;
  }

  get maxResponseBytes(): number {
    return this.#maxResponseBytes;
  }

  async request(method: 'POST' | 'DELETE', headers: Record<string, string>, body: string | undefined, signal: AbortSignal): Promise<TransportResponse> {
    const response = await (await this.#pool).request({
      method,
      path: this.#path,
      headers: { ...this.#headers, ...headers },
      body,
      signal,
    });
    const header = (name: string) => {
      const value = response.headers[name];
      return Array.isArray(value) ? value[0] : value;
    };
    const encoding = header('content-encoding')?.trim().toLowerCase();
    if (encoding && encoding !== 'identity') {
      dropBody(response.body);
      throw new BackendCallError('error', `compressed response (content-encoding ${encoding.slice(0, 40)}) refused`, { status: response.statusCode });
    }
    const declared = Number(header('content-length'));
    if (Number.isFinite(declared) && declared > this.#maxResponseBytes) {
      dropBody(response.body);
      throw new ResponseTooLargeError(this.#maxResponseBytes, declared);
    }
    const mediaType = (header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    return { status: response.statusCode, header, mediaType, body: response.body };
  }

  /** Closes every connection; requests still running fail. */
  async close(): Promise<void> {
    await (await this.#pool).destroy();
  }
}

/** Closes a body without reading it (the connection is dropped). */
export function dropBody(body: Dispatcher.ResponseData['body']): void {
  // undici reports a body destroyed before its end as an 'error' event: expected here.
  body.on('error', () => {});
  body.destroy();
}

/** Throws away a body that is not needed, reading at most a little of it so the connection can be reused. */
export async function discard(body: Dispatcher.ResponseData['body'], signal: AbortSignal): Promise<void> {
  try {
    await body.dump({ limit: 16 * 1024, signal });
  } catch {
    dropBody(body);
  }
}
