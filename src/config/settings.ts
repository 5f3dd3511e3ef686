import type { ServerConfig } from './schema.js';

/**
 * Every setting that can come from the environment or the command line, with
 * its names in each place (DESIGN.md section 5). Guard-wide settings are
 * defaults for every guard; a guard's own entry in the config file wins.
 */
export interface Setting {
  /** Where it lands: a server field, or a default for every guard. */
  target: { server: keyof ServerConfig } | { guardDefault: 'poolSize' | 'timeoutMs' | 'memoryLimitMb' } | { top: 'config' | 'guardsDir' };
  env: string;
  flag: string;
  kind: 'string' | 'integer' | 'boolean';
  help: string;
}

export const SETTINGS: readonly Setting[] = [
  { target: { server: 'host' }, env: 'WASMGUARD_HOST', flag: 'host', kind: 'string', help: 'listen address' },
  { target: { server: 'port' }, env: 'WASMGUARD_PORT', flag: 'port', kind: 'integer', help: 'listen port (0 = any free port)' },
  { target: { top: 'config' }, env: 'WASMGUARD_CONFIG', flag: 'config', kind: 'string', help: 'JSON or YAML config file' },
  { target: { top: 'guardsDir' }, env: 'WASMGUARD_GUARDS_DIR', flag: 'guards-dir', kind: 'string', help: 'load every *.wasm in this folder' },
  { target: { guardDefault: 'poolSize' }, env: 'WASMGUARD_POOL_SIZE', flag: 'pool-size', kind: 'integer', help: 'instances per guard' },
  { target: { guardDefault: 'timeoutMs' }, env: 'WASMGUARD_CALL_TIMEOUT_MS', flag: 'call-timeout-ms', kind: 'integer', help: 'deadline of one guard call' },
  { target: { guardDefault: 'memoryLimitMb' }, env: 'WASMGUARD_MEMORY_LIMIT_MB', flag: 'memory-limit-mb', kind: 'integer', help: 'linear memory cap per instance' },
  { target: { server: 'defaultMode' }, env: 'WASMGUARD_DEFAULT_MODE', flag: 'default-mode', kind: 'string', help: 'strict, filter or propagate' },
  { target: { server: 'graceMs' }, env: 'WASMGUARD_GRACE_MS', flag: 'grace-ms', kind: 'integer', help: 'shutdown grace period' },
  { target: { server: 'logLevel' }, env: 'WASMGUARD_LOG_LEVEL', flag: 'log-level', kind: 'string', help: 'pino log level' },
  { target: { server: 'bodyLimitBytes' }, env: 'WASMGUARD_BODY_LIMIT_BYTES', flag: 'body-limit-bytes', kind: 'integer', help: 'largest request body' },
  { target: { server: 'maxJsonDepth' }, env: 'WASMGUARD_MAX_JSON_DEPTH', flag: 'max-json-depth', kind: 'integer', help: 'deepest JSON nesting in a request' },
  { target: { server: 'logToolData' }, env: 'WASMGUARD_LOG_TOOL_DATA', flag: 'log-tool-data', kind: 'boolean', help: 'log tool arguments and results' },
  { target: { server: 'watch' }, env: 'WASMGUARD_WATCH', flag: 'watch', kind: 'boolean', help: 'reload guards when the guards folder or config file changes' },
];

export const SERVER_DEFAULTS: ServerConfig = {
  host: '0.0.0.0',
  port: 8080,
  defaultMode: 'strict',
  // A bit over the 8 MiB guard input limit, so the guard's own limit is what a big result meets.
  bodyLimitBytes: 9 * 1024 * 1024,
  graceMs: 10_000,
  logLevel: 'info',
  maxJsonDepth: 128,
  logToolData: false,
  logRedactPaths: [],
  watch: false,
};
