/**
 * The real service, listening on 127.0.0.1 on a free port, for integration
 * tests over HTTP: real guards in real worker pools, real Fastify.
 */
import { join } from 'node:path';
import { pino } from 'pino';
import type { ResolvedConfig, ResolvedGuard } from '../../src/config/load.js';
import type { ServerConfig } from '../../src/config/schema.js';
import { SERVER_DEFAULTS } from '../../src/config/settings.js';
import { createService, type Service, type ServiceOptions } from '../../src/service/service.js';
import { SAMPLE_GUARDS_DIR } from './fixtures.js';

export { RUST_GUARD } from './fixtures.js';
export const GITHUB_GUARD = join(SAMPLE_GUARDS_DIR, 'github.wasm');
export const STATIC_GUARD = join(SAMPLE_GUARDS_DIR, 'static.wasm');

/** A guard entry: name and path, every other setting optional (defaults as loadConfig gives them). */
export type TestGuard = Partial<ResolvedGuard> & { name: string; path: string };

export interface StartOptions {
  guards: TestGuard[];
  server?: Partial<ServerConfig>;
  backendFor?: ServiceOptions['backendFor'];
  /** What a reload reads as the configuration (hot reload tests). */
  readConfig?: ServiceOptions['readConfig'];
  /** Load shedding limits; by default far above any stall a busy test machine causes (see startService). */
  pressure?: ServiceOptions['pressure'];
}

export interface TestService {
  /** Base URL, e.g. http://127.0.0.1:40123 */
  url: string;
  service: Service;
  config: ResolvedConfig;
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Reply>;
  get(path: string): Promise<Reply>;
  /** Polls GET /v1/guards until `test` holds for the named guard's description (no wall-clock assertion: it just waits). */
  waitForGuard(name: string, test: (guard: GuardDescription) => boolean): Promise<GuardDescription>;
  close(): Promise<void>;
}

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed JSON body (undefined when the body is not JSON). */
  body: any;
}

export interface GuardDescription {
  name: string;
  pool: { size: number; healthy: boolean; instances: Record<'starting' | 'idle' | 'busy' | 'poisoned', number>; queueLength: number };
  [field: string]: unknown;
}

/** A ResolvedConfig as loadConfig would build it, from test guards and server overrides. */
export function testConfig(options: StartOptions): ResolvedConfig {
  return {
    server: { ...SERVER_DEFAULTS, host: '127.0.0.1', port: 0, logLevel: 'silent', ...options.server },
    guards: options.guards.map((g) => ({ poolSize: 1, timeoutMs: 5000, memoryLimitMb: 32, ...g })),
    backends: {},
  };
}

async function toReply(response: Response): Promise<Reply> {
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, headers: response.headers, text, body };
}

/**
 * The service sheds decision traffic once its event loop stalls for 1 s. A test process sharing two
 * cores with a neighbour that drives a child server under load stalls that long without anything
 * being wrong, and its requests would get 503s; only the load-shedding tests want the real limit.
 */
export const TEST_PRESSURE: NonNullable<ServiceOptions['pressure']> = { maxEventLoopDelayMs: 60_000 };

export async function startService(options: StartOptions): Promise<TestService> {
  const config = testConfig(options);
  const pressure = options.pressure ?? TEST_PRESSURE;
  const service = await createService(config, {
    logger: pino({ level: 'silent' }),
    backendFor: options.backendFor,
    readConfig: options.readConfig,
    pressure,
  });
  let url: string;
  try {
    url = await service.app.listen({ host: '127.0.0.1', port: 0 });
  } catch (error) {
    await service.close();
    throw error;
  }
  const post = async (path: string, body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
    toReply(await fetch(url + path, { method: 'POST', headers, body: typeof body === 'string' ? body : body instanceof Uint8Array ? new Blob([body as Uint8Array<ArrayBuffer>]) : JSON.stringify(body) }));
  const get = async (path: string) => toReply(await fetch(url + path));
  return {
    url,
    service,
    config,
    post,
    get,
    async waitForGuard(name, test) {
      for (;;) {
        const { body } = await get('/v1/guards');
        const guard = (body.guards as GuardDescription[]).find((g) => g.name === name);
        if (!guard) throw new Error(`guard ${name} is not loaded`);
        if (test(guard)) return guard;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    close: () => service.close(),
  };
}

/** Asserts the error reply shape of docs/contract.md §4 and returns the error. */
export function errorOf(reply: Reply): { code: string; message: string } {
  const body = reply.body as { error?: { code?: unknown; message?: unknown }; decision?: unknown } | undefined;
  if (!body || body.decision !== 'deny' || typeof body.error?.code !== 'string' || typeof body.error.message !== 'string') {
    throw new Error(`not an error reply (status ${reply.status}): ${reply.text.slice(0, 500)}`);
  }
  if (Object.keys(body).sort().join() !== 'decision,error' || Object.keys(body.error).sort().join() !== 'code,message') {
    throw new Error(`error reply has extra fields: ${reply.text.slice(0, 500)}`);
  }
  return body.error as { code: string; message: string };
}
