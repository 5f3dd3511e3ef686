import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Ajv, type ErrorObject } from 'ajv';
import { Type } from 'typebox';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_LIMITS } from '../guard/limits.js';
import { ConfigError } from './errors.js';
import { choosePoolSize, readContainerLimits, type PoolSizing } from './pool-sizing.js';
import { ConfigFileSchema, GuardConfigSchema, ServerConfigSchema, type BackendConfig, type ConfigFile, type GuardConfig, type ServerConfig } from './schema.js';
import { GUARD_WIDE_DEFAULTS, SERVER_DEFAULTS, SETTINGS, type Setting } from './settings.js';

export interface ResolvedGuard extends Omit<GuardConfig, 'path'> {
  name: string;
  /** Absolute path of the .wasm file. */
  path: string;
  poolSize?: number;
  /** Unset: every instance starts with the pool (the loader sets the default, 1). */
  poolWarm?: number;
  /** Unset: instances the pool grew stay (the loader sets the default, a minute). */
  poolIdleMs?: number;
  timeoutMs: number;
  memoryLimitMb: number;
}

export interface ResolvedConfig {
  server: ServerConfig;
  guards: ResolvedGuard[];
  backends: Record<string, BackendConfig>;
  /** The config file read, if any. */
  configFile?: string;
  /** How the default pool size was chosen, when some guard sets none. */
  poolSizing?: PoolSizing;
  /** The guards folder read, if any. */
  guardsDir?: string;
}

/** The sample guards shipped in the repository's guards/ folder, built by `npm run build:guards`. */
export const BUNDLED_GUARDS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../guards');

const ajv = new Ajv({ allErrors: true, strict: false });
const validateFile = ajv.compile(ConfigFileSchema);
const validateServer = ajv.compile(ServerConfigSchema);
const validateGuardDefaults = ajv.compile(Type.Pick(GuardConfigSchema, ['poolSize', 'poolWarm', 'poolIdleMs', 'timeoutMs', 'memoryLimitMb']));

function describeAjv(errors: ErrorObject[] | null | undefined, root: string): string[] {
  return (errors ?? []).map((e) => {
    const path = `${root}${e.instancePath.replaceAll('/', '.')}`;
    if (e.keyword === 'additionalProperties') return `${path} has unknown setting "${(e.params as { additionalProperty: string }).additionalProperty}"`;
    if (e.keyword === 'required') return `${path} is missing "${(e.params as { missingProperty: string }).missingProperty}"`;
    if (e.keyword === 'enum') {
      return `${path} must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    }
    if (e.keyword === 'anyOf') return `${path} must be one of the allowed values`;
    return `${path} ${e.message ?? 'is invalid'}`;
  });
}

function parseValue(setting: Setting, raw: string, origin: string, problems: string[]): string | number | boolean | undefined {
  if (setting.kind === 'string') return raw;
  if (setting.kind === 'boolean') {
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    problems.push(`${origin} must be true or false, got ${JSON.stringify(raw)}`);
    return undefined;
  }
  if (!/^\d+$/.test(raw.trim())) {
    problems.push(`${origin} must be a non-negative integer, got ${JSON.stringify(raw)}`);
    return undefined;
  }
  return Number(raw);
}

/** Reads CLI flags and environment variables; the flag wins. */
function readOverrides(argv: string[], env: NodeJS.ProcessEnv, problems: string[]) {
  let flags: Record<string, string | boolean | undefined> = {};
  try {
    flags = parseArgs({
      args: argv,
      options: Object.fromEntries(SETTINGS.map((s) => [s.flag, { type: 'string' as const }])),
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    problems.push(`command line: ${(error as Error).message}`);
  }
  const values = new Map<Setting, { value: string | number | boolean; origin: string }>();
  for (const setting of SETTINGS) {
    const flag = flags[setting.flag];
    const [raw, origin] =
      typeof flag === 'string' ? [flag, `--${setting.flag}`] : env[setting.env] !== undefined && env[setting.env] !== '' ? [env[setting.env]!, setting.env] : [undefined, ''];
    if (raw === undefined) continue;
    const value = parseValue(setting, raw, origin, problems);
    if (value !== undefined) values.set(setting, { value, origin });
  }
  return values;
}

function readConfigFile(path: string, problems: string[]): ConfigFile | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    problems.push(`config file ${path} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    return undefined;
  }
  let data: unknown;
  try {
    data = /\.ya?ml$/i.test(path) ? parseYaml(text) : JSON.parse(text);
  } catch (error) {
    problems.push(`config file ${path} is not valid ${/\.ya?ml$/i.test(path) ? 'YAML' : 'JSON'}: ${(error as Error).message}`);
    return undefined;
  }
  data ??= {};
  if (!validateFile(data)) {
    problems.push(...describeAjv(validateFile.errors, 'config'));
    return undefined;
  }
  return data as ConfigFile;
}

function guardsInDir(dir: string, problems: string[]): Array<{ name: string; path: string }> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    problems.push(`guards directory ${dir} does not exist`);
    return [];
  }
  return readdirSync(dir)
    .filter((f) => extname(f) === '.wasm')
    .sort()
    .map((f) => ({ name: basename(f, '.wasm'), path: resolve(dir, f) }));
}

/**
 * Builds the service configuration from flags, environment, config file and
 * defaults (in that order of precedence), and reports every problem at once.
 */
export function loadConfig(
  options: { argv?: string[]; env?: NodeJS.ProcessEnv; cwd?: string; cores?: number } = {},
): ResolvedConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const problems: string[] = [];
  const overrides = readOverrides(options.argv ?? [], env, problems);
  const top = (name: 'config' | 'guardsDir') =>
    [...overrides].find(([s]) => 'top' in s.target && s.target.top === name)?.[1].value as string | undefined;

  const configPath = top('config') && resolve(cwd, top('config')!);
  const file = configPath ? readConfigFile(configPath, problems) : {};
  const fileDir = configPath ? dirname(configPath) : cwd;

  const server: Record<string, unknown> = { ...SERVER_DEFAULTS, ...(file?.server ?? {}) };
  const guardDefaults: Record<string, number> = { ...GUARD_WIDE_DEFAULTS };
  for (const [setting, { value }] of overrides) {
    if ('server' in setting.target) server[setting.target.server] = value;
    else if ('guardDefault' in setting.target) guardDefaults[setting.target.guardDefault] = value as number;
  }
  // Guard-wide defaults from the environment or flags get the same bounds as a guard's own settings.
  if (!validateGuardDefaults(guardDefaults)) {
    for (const e of validateGuardDefaults.errors ?? []) {
      const field = e.instancePath.slice(1);
      const origin = [...overrides].find(([s]) => 'guardDefault' in s.target && s.target.guardDefault === field)?.[1].origin;
      problems.push(`${origin ?? `guard default ${field}`} ${e.message ?? 'is invalid'}`);
    }
  }
  if (!validateServer(server)) {
    const origins = new Map([...overrides].filter(([s]) => 'server' in s.target).map(([s, o]) => [(s.target as { server: string }).server, o.origin]));
    problems.push(
      ...describeAjv(validateServer.errors, 'server').map((p) => {
        const field = /^server\.(\w+)/.exec(p)?.[1];
        const origin = field && origins.get(field);
        return origin ? `${p} (from ${origin})` : p;
      }),
    );
  }

  if (server.diagnosticsPort !== undefined && server.diagnosticsPort !== 0 && server.diagnosticsPort === server.port) {
    problems.push(`server.diagnosticsPort (${String(server.diagnosticsPort)}) must differ from server.port`);
  }

  // The drain is part of the grace period: past the grace the process is ended with exit 1.
  if (typeof server.drainMs === 'number' && typeof server.graceMs === 'number' && server.drainMs > 0 && server.drainMs >= server.graceMs) {
    problems.push(`server.drainMs (${server.drainMs}) must be less than server.graceMs (${server.graceMs}): the drain is part of the grace period`);
  }

  const backends = file?.backends ?? {};
  const guardsDirSetting = top('guardsDir') ?? (file?.guardsDir && resolve(fileDir, file.guardsDir));
  const fileGuards = file?.guards ?? {};
  // The bundled samples are the default only when nothing else names a guard.
  const dir = guardsDirSetting ? resolve(cwd, guardsDirSetting) : Object.keys(fileGuards).length === 0 ? BUNDLED_GUARDS_DIR : undefined;
  const entries = new Map<string, GuardConfig>();
  if (dir) for (const { name, path } of guardsInDir(dir, problems)) entries.set(name, { path });
  for (const [name, guard] of Object.entries(fileGuards)) entries.set(name, { ...guard, path: resolve(fileDir, guard.path) });

  const guards: ResolvedGuard[] = [];
  for (const [name, guard] of entries) {
    if (guard.backend && !backends[guard.backend]) problems.push(`guards.${name}.backend names unknown backend "${guard.backend}"`);
    for (const [tool, backend] of Object.entries(guard.toolBackends ?? {})) {
      if (!backends[backend]) problems.push(`guards.${name}.toolBackends.${tool} names unknown backend "${backend}"`);
    }
    const { initialOutputBytes, maxOutputBytes } = { ...DEFAULT_LIMITS, ...guard.limits };
    if (initialOutputBytes > maxOutputBytes) {
      problems.push(`guards.${name}.limits.initialOutputBytes (${initialOutputBytes}) is over maxOutputBytes (${maxOutputBytes})`);
    }
    if (!existsSync(guard.path)) problems.push(`guards.${name}.path: ${guard.path} does not exist`);
    guards.push({
      ...guard,
      name,
      poolSize: guard.poolSize ?? guardDefaults.poolSize,
      poolWarm: guard.poolWarm ?? guardDefaults.poolWarm,
      poolIdleMs: guard.poolIdleMs ?? guardDefaults.poolIdleMs,
      timeoutMs: guard.timeoutMs ?? guardDefaults.timeoutMs!,
      memoryLimitMb: guard.memoryLimitMb ?? guardDefaults.memoryLimitMb!,
    });
  }
  if (guards.length === 0 && problems.length === 0) problems.push(`no guards configured${dir ? ` and no *.wasm in ${dir}` : ''}`);
  if (problems.length > 0) throw new ConfigError(problems);
  // WASMGUARD_CGROUP_ROOT: where the cgroup files are read (tests, or a cgroupfs mounted elsewhere).
  const poolSizing = guards.some((g) => g.poolSize === undefined)
    ? choosePoolSize(guards, readContainerLimits(env.WASMGUARD_CGROUP_ROOT || undefined), options.cores)
    : undefined;
  for (const guard of guards) guard.poolSize ??= poolSizing?.size;
  return {
    server: server as ServerConfig,
    guards,
    backends,
    ...(configPath ? { configFile: configPath } : {}),
    ...(poolSizing ? { poolSizing } : {}),
    ...(dir ? { guardsDir: dir } : {}),
  };
}
