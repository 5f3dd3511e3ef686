import { ConfigError } from '../config/errors.js';
import type { ResolvedGuard } from '../config/load.js';
import type { BackendConfig } from '../config/schema.js';
import type { GuardLogger } from '../guard/index.js';
import type { BackendHandler } from '../pool/index.js';
import { redactor, resolveHeaders } from './headers.js';
import { HttpBackend } from './http-backend.js';
import { ManagedBackend, type BackendMetrics } from './managed.js';
import { McpBackend } from './mcp-backend.js';
import { BackendTransport } from './transport.js';

export type { Backend, BackendOutcome } from './backend.js';
export { BackendCallError, ResponseTooLargeError } from './backend.js';
export { HttpBackend } from './http-backend.js';
export { ManagedBackend, type BackendMetrics } from './managed.js';
export { McpBackend } from './mcp-backend.js';
export { Semaphore } from './semaphore.js';
export { BackendTransport } from './transport.js';

/** Settings a backend entry may leave out. */
export const BACKEND_DEFAULTS = {
  timeoutMs: 2000,
  maxResponseBytes: 4 * 1024 * 1024,
  maxConcurrent: 8,
} as const;

export interface BackendsOptions {
  logger: GuardLogger;
  metrics?: BackendMetrics;
  /** Where `env:NAME` header values are read; default process.env. */
  env?: NodeJS.ProcessEnv;
}

export interface Backends {
  /** The handler for a guard's call_backend, or undefined when the guard names no backend (every call gets -1). */
  handlerFor(guard: ResolvedGuard): BackendHandler | undefined;
  get(name: string): ManagedBackend | undefined;
  /** Closes every backend (sessions ended, connections closed). Idempotent. */
  close(): Promise<void>;
}

/** The URL as it may be logged: no credentials, no query string (either may hold a token). */
function loggableUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

/**
 * Builds every configured backend. Problems (a header whose environment
 * variable is unset, an unreadable secret file, credentials in a URL…) are
 * reported together as a ConfigError naming backend and setting, never a
 * secret value. Nothing is contacted here: an MCP session starts on the
 * first call, so a backend that is down does not stop the service starting.
 */
export function createBackends(configs: Record<string, BackendConfig>, options: BackendsOptions): Backends {
  const env = options.env ?? process.env;
  const problems: string[] = [];
  const prepared: Array<{ name: string; config: BackendConfig; url: URL; headers: Record<string, string>; secrets: string[] }> = [];
  for (const [name, config] of Object.entries(configs)) {
    let url: URL | undefined;
    try {
      url = new URL(config.url);
    } catch {
      problems.push(`backends.${name}.url is not a valid URL`);
    }
    if (url && url.protocol !== 'http:' && url.protocol !== 'https:') problems.push(`backends.${name}.url must be http or https`);
    if (url && (url.username || url.password)) problems.push(`backends.${name}.url must not hold credentials; put them in a header (env: or file:)`);
    const { headers, secrets, problems: headerProblems } = resolveHeaders(name, config.headers, env);
    problems.push(...headerProblems);
    if (url) prepared.push({ name, config, url, headers, secrets });
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const backends = new Map<string, ManagedBackend>();
  for (const { name, config, url, headers, secrets } of prepared) {
    const timeoutMs = config.timeoutMs ?? BACKEND_DEFAULTS.timeoutMs;
    const maxResponseBytes = config.maxResponseBytes ?? BACKEND_DEFAULTS.maxResponseBytes;
    const maxConcurrent = config.maxConcurrent ?? BACKEND_DEFAULTS.maxConcurrent;
    const redact = redactor(secrets);
    // One connection more than calls, for the session's own messages (cancellation, session end).
    const transport = new BackendTransport({ url: url.href, headers, connections: maxConcurrent + 1, maxResponseBytes });
    const backend = config.type === 'mcp' ? new McpBackend({ transport, timeoutMs, redact }) : new HttpBackend(transport);
    backends.set(
      name,
      new ManagedBackend({ name, backend, timeoutMs, maxConcurrent, tools: config.tools, metrics: options.metrics, logger: options.logger, redact }),
    );
    const summary = {
      backend: name,
      type: config.type,
      url: loggableUrl(url),
      timeoutMs,
      maxResponseBytes,
      maxConcurrent,
      headers: Object.keys(headers),
      tools: config.tools ?? 'any',
    };
    options.logger.info(summary, 'backend configured');
    if (!config.tools) options.logger.warn({ backend: name }, 'backend has no tools allowlist: guards may call any tool it offers');
  }

  let closing: Promise<void> | undefined;
  return {
    handlerFor(guard) {
      const named = (backendName: string, setting: string) => {
        const backend = backends.get(backendName);
        if (!backend) throw new ConfigError([`guards.${guard.name}.${setting} names unknown backend "${backendName}"`]);
        return backend.handlerFor(guard.name);
      };
      const main = guard.backend ? named(guard.backend, 'backend') : undefined;
      const perTool = new Map(Object.entries(guard.toolBackends ?? {}).map(([tool, name]) => [tool, named(name, `toolBackends.${tool}`)]));
      if (perTool.size === 0) return main;
      // A tool the compatible gateway answers outside its MCP backend (get_collaborator_permission,
      // from the GitHub REST API) can be served by another backend; every other tool goes to `backend`.
      return (tool, argsJson, signal) => {
        const handler = perTool.get(tool) ?? main;
        return handler ? handler(tool, argsJson, signal) : Promise.resolve(undefined);
      };
    },
    get: (name) => backends.get(name),
    close: () => (closing ??= Promise.all([...backends.values()].map((b) => b.close())).then(() => {})),
  };
}
