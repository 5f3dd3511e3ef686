import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyPluginCallback, onRequestHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import type { Logger } from 'pino';
import { isApiRoute } from '../api-routes.js';
import { httpError, sendError } from '../errors.js';

/** Longest token accepted in a header: a hostile client must not make the server hash megabytes. */
const MAX_TOKEN_LENGTH = 4096;

/** One token per line; blank lines and lines starting with # are skipped; surrounding spaces trimmed. */
export function parseTokens(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

const digest = (token: string) => createHash('sha256').update(token, 'utf8').digest();

/**
 * The bearer tokens of WASMGUARD_API_TOKENS_FILE, kept as SHA-256 digests.
 * A presented token is hashed and compared with every digest with
 * crypto.timingSafeEqual, without stopping at a match, so the time taken
 * says nothing about which bytes or which token matched; hashing first makes
 * the compared lengths equal whatever the client sends.
 */
export class ApiTokens {
  #digests: Buffer[] = [];

  constructor(
    readonly path: string,
    readonly logger: Pick<Logger, 'info' | 'warn' | 'error'>,
  ) {
    this.#load();
  }

  get count(): number {
    return this.#digests.length;
  }

  /** Re-reads the file (SIGHUP). On failure the tokens in force stay in force. */
  reload(): boolean {
    try {
      this.#load();
      return true;
    } catch (error) {
      this.logger.error({ err: (error as Error).message, path: this.path }, 'api tokens: reload failed; the previous tokens stay in force');
      return false;
    }
  }

  #load(): void {
    const tokens = parseTokens(readFileSync(this.path, 'utf8'));
    this.#digests = tokens.map(digest);
    if (tokens.length === 0) this.logger.warn({ path: this.path }, 'api tokens: the file holds no token; every /v1 request is refused');
    else this.logger.info({ path: this.path, tokens: tokens.length }, 'api tokens loaded');
  }

  /** Whether an Authorization header value carries a known bearer token. */
  accepts(header: string | undefined): boolean {
    if (header === undefined || header.length > MAX_TOKEN_LENGTH + 7) return false;
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
    if (!match) return false;
    const presented = digest(match[1]!);
    let ok = false;
    for (const known of this.#digests) ok = timingSafeEqual(presented, known) || ok;
    return ok;
  }
}

/**
 * Refuses /v1 and /access/v1 requests without a valid token: 401
 * WG_ERR_UNAUTHENTICATED with WWW-Authenticate. The hook is attached to each
 * route by its pattern as the route is added (call this before adding
 * routes), so no spelling of a URL that reaches a protected route, percent
 * escapes included, can skip it, and open routes pay nothing.
 */
function useBearerAuth(app: FastifyInstance, tokens: ApiTokens): void {
  const check: onRequestHookHandler = (request, reply, done) => {
    if (tokens.accepts(request.headers.authorization)) {
      done();
      return;
    }
    const missing = request.headers.authorization === undefined;
    void sendError(
      reply.header('www-authenticate', missing ? 'Bearer realm="wasmguard"' : 'Bearer realm="wasmguard", error="invalid_token"'),
      httpError(
        'WG_ERR_UNAUTHENTICATED',
        missing ? 'this route needs "Authorization: Bearer <token>" (the service runs with WASMGUARD_API_TOKENS_FILE)' : 'the bearer token is not valid',
      ),
    );
  };
  app.addHook('onRoute', (route) => {
    if (!isApiRoute(route.url)) return;
    route.onRequest = [check, ...(route.onRequest === undefined ? [] : [route.onRequest].flat())];
  });
}

export interface BearerAuthOptions {
  tokens: ApiTokens;
}

/** useBearerAuth as a plugin at the app's root; register it before the routes. */
const bearerAuthPlugin: FastifyPluginCallback<BearerAuthOptions> = (app, { tokens }, done) => {
  useBearerAuth(app, tokens);
  done();
};

export const bearerAuth = fp(bearerAuthPlugin, { name: 'wasmguard-bearer-auth', fastify: '5.x' });
