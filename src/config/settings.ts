import { GUARD_DEFAULTS } from '../guard/defaults.js';
import type { ServerConfig } from './schema.js';

/**
 * Every setting that can come from the environment or the command line, with
 * its names in each place (docs/contract.md §5). Guard-wide settings are
 * defaults for every guard; a guard's own entry in the config file wins.
 */
export interface Setting {
  /** Where it lands: a server field, or a default for every guard. */
  target: { server: keyof ServerConfig } | { guardDefault: 'poolSize' | 'poolWarm' | 'poolIdleMs' | 'timeoutMs' | 'memoryLimitMb' } | { top: 'config' | 'guardsDir' };
  env: string;
  flag: string;
  kind: 'string' | 'integer' | 'boolean';
  help: string;
}

export const SETTINGS: readonly Setting[] = [
  { target: { server: 'host' }, env: 'WASMGUARD_HOST', flag: 'host', kind: 'string', help: 'listen address' },
  { target: { server: 'port' }, env: 'WASMGUARD_PORT', flag: 'port', kind: 'integer', help: 'listen port (0 = any free port)' },
  { target: { server: 'diagnosticsHost' }, env: 'WASMGUARD_DIAGNOSTICS_HOST', flag: 'diagnostics-host', kind: 'string', help: 'diagnostics listen address' },
  {
    target: { server: 'diagnosticsPort' },
    env: 'WASMGUARD_DIAGNOSTICS_PORT',
    flag: 'diagnostics-port',
    kind: 'integer',
    help: 'port of /healthz, /readyz and /metrics alone (off when unset)',
  },
  { target: { top: 'config' }, env: 'WASMGUARD_CONFIG', flag: 'config', kind: 'string', help: 'JSON or YAML config file' },
  { target: { top: 'guardsDir' }, env: 'WASMGUARD_GUARDS_DIR', flag: 'guards-dir', kind: 'string', help: 'load every *.wasm in this folder' },
  { target: { guardDefault: 'poolSize' }, env: 'WASMGUARD_POOL_SIZE', flag: 'pool-size', kind: 'integer', help: 'instances per guard' },
  {
    target: { guardDefault: 'poolWarm' },
    env: 'WASMGUARD_POOL_WARM',
    flag: 'pool-warm',
    kind: 'integer',
    help: 'instances per guard started at once; the rest start while calls wait',
  },
  {
    target: { guardDefault: 'poolIdleMs' },
    env: 'WASMGUARD_POOL_IDLE_MS',
    flag: 'pool-idle-ms',
    kind: 'integer',
    help: 'stop an instance past the warm ones idle this long (0: keep them)',
  },
  { target: { guardDefault: 'timeoutMs' }, env: 'WASMGUARD_CALL_TIMEOUT_MS', flag: 'call-timeout-ms', kind: 'integer', help: 'deadline of one guard call' },
  { target: { guardDefault: 'memoryLimitMb' }, env: 'WASMGUARD_MEMORY_LIMIT_MB', flag: 'memory-limit-mb', kind: 'integer', help: 'linear memory cap per instance' },
  { target: { server: 'defaultMode' }, env: 'WASMGUARD_DEFAULT_MODE', flag: 'default-mode', kind: 'string', help: 'strict, filter or propagate' },
  { target: { server: 'graceMs' }, env: 'WASMGUARD_GRACE_MS', flag: 'grace-ms', kind: 'integer', help: 'shutdown grace period' },
  { target: { server: 'drainMs' }, env: 'WASMGUARD_DRAIN_MS', flag: 'drain-ms', kind: 'integer', help: 'after SIGTERM, keep serving this long before closing' },
  { target: { server: 'requestTimeoutMs' }, env: 'WASMGUARD_REQUEST_TIMEOUT_MS', flag: 'request-timeout-ms', kind: 'integer', help: 'longest time to receive one request' },
  { target: { server: 'connectionTimeoutMs' }, env: 'WASMGUARD_CONNECTION_TIMEOUT_MS', flag: 'connection-timeout-ms', kind: 'integer', help: 'longest silence on a connection' },
  { target: { server: 'keepAliveTimeoutMs' }, env: 'WASMGUARD_KEEP_ALIVE_TIMEOUT_MS', flag: 'keep-alive-timeout-ms', kind: 'integer', help: 'idle keep-alive connection lifetime' },
  { target: { server: 'maxConnections' }, env: 'WASMGUARD_MAX_CONNECTIONS', flag: 'max-connections', kind: 'integer', help: 'open connections at once' },
  { target: { server: 'maxRequestsPerSocket' }, env: 'WASMGUARD_MAX_REQUESTS_PER_SOCKET', flag: 'max-requests-per-socket', kind: 'integer', help: 'requests per connection (0: no limit)' },
  { target: { server: 'logLevel' }, env: 'WASMGUARD_LOG_LEVEL', flag: 'log-level', kind: 'string', help: 'pino log level' },
  { target: { server: 'bodyLimitBytes' }, env: 'WASMGUARD_BODY_LIMIT_BYTES', flag: 'body-limit-bytes', kind: 'integer', help: 'largest request body' },
  {
    target: { server: 'resultBytesInFlight' },
    env: 'WASMGUARD_RESULT_BYTES_IN_FLIGHT',
    flag: 'result-bytes-in-flight',
    kind: 'integer',
    help: 'bytes of tool results checked at once; more wait unread',
  },
  { target: { server: 'maxJsonDepth' }, env: 'WASMGUARD_MAX_JSON_DEPTH', flag: 'max-json-depth', kind: 'integer', help: 'deepest JSON nesting in a request' },
  { target: { server: 'logToolData' }, env: 'WASMGUARD_LOG_TOOL_DATA', flag: 'log-tool-data', kind: 'boolean', help: 'log tool arguments and results' },
  { target: { server: 'sessionStore' }, env: 'WASMGUARD_SESSION_STORE', flag: 'session-store', kind: 'string', help: 'memory or a redis:// URL' },
  { target: { server: 'sessionMax' }, env: 'WASMGUARD_SESSION_MAX', flag: 'session-max', kind: 'integer', help: 'sessions the memory store holds' },
  { target: { server: 'sessionTtlS' }, env: 'WASMGUARD_SESSION_TTL_S', flag: 'session-ttl-s', kind: 'integer', help: 'idle session time to live' },
  { target: { server: 'apiTokensFile' }, env: 'WASMGUARD_API_TOKENS_FILE', flag: 'api-tokens-file', kind: 'string', help: 'bearer tokens, one per line' },
  { target: { server: 'watch' }, env: 'WASMGUARD_WATCH', flag: 'watch', kind: 'boolean', help: 'reload guards when the guards folder or config file changes' },
  { target: { server: 'batchMax' }, env: 'WASMGUARD_BATCH_MAX', flag: 'batch-max', kind: 'integer', help: 'most calls in one batch request' },
];

export const SERVER_DEFAULTS: ServerConfig = {
  // Localhost, not 0.0.0.0 (docs/contract.md §5 is overridden by issue 19): a sidecar without
  // authentication must not be reachable from the network. The image and the chart set 0.0.0.0.
  host: '127.0.0.1',
  port: 8080,
  // Only used when diagnosticsPort is set; all interfaces, so the kubelet and Prometheus reach it
  // while the decision API stays on 127.0.0.1 (sidecar mode).
  diagnosticsHost: '0.0.0.0',
  defaultMode: 'strict',
  // A bit over the 8 MiB guard input limit, so the guard's own limit is what a big result meets.
  bodyLimitBytes: 9 * 1024 * 1024,
  // Two dozen 70 KB results, or two 1,000-item (700 KB) ones: one parsed while the guard labels the other. Each holds
  // about 30 times its bytes of heap while it is checked. 1,000-item results at 32 connections (issue 20): unbounded
  // 479 MB RSS and 35 req/s; 2 MiB 350 MB and 38-41 req/s; 1 MiB 278-295 MB but 31-32 req/s (nothing overlaps).
  resultBytesInFlight: 2 * 1024 * 1024,
  graceMs: 10_000,
  // 0 for a bare process; behind a load balancer set it to how long endpoints take to stop routing here (the Helm chart: 5000).
  drainMs: 0,
  // Generous for a gateway on the same network; what they bound is a client that drips bytes or sits silent.
  requestTimeoutMs: 30_000,
  connectionTimeoutMs: 120_000,
  // Longer than the idle timeout of common gateways' and load balancers' connection pools (60 s), so they close first.
  keepAliveTimeoutMs: 72_000,
  maxConnections: 4096,
  maxRequestsPerSocket: 0,
  logLevel: 'info',
  maxJsonDepth: 128,
  logToolData: false,
  logRedactPaths: [],
  sessionStore: 'memory',
  sessionMax: 100_000,
  sessionTtlS: 3600,
  watch: false,
  batchMax: 100,
};

/**
 * Defaults of the guard-wide settings (the config file's per-guard entries
 * win), from the one table of per-guard defaults; the pool size is chosen
 * from the cores and the container's limits (pool-sizing.ts).
 */
export const GUARD_WIDE_DEFAULTS = {
  poolWarm: GUARD_DEFAULTS.poolWarm,
  poolIdleMs: GUARD_DEFAULTS.poolIdleMs,
  timeoutMs: GUARD_DEFAULTS.timeoutMs,
  memoryLimitMb: GUARD_DEFAULTS.memoryLimitMb,
} as const;
