/**
 * Configuration (docs/contract.md §5): precedence CLI > environment > file >
 * default, JSON and YAML files, the guards directory, paths relative to the
 * config file, and every validation problem reported at once with its origin.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { BUNDLED_GUARDS_DIR, loadConfig } from '../../src/config/load.js';
import { SERVER_DEFAULTS } from '../../src/config/settings.js';
import { GuardLoadError } from '../../src/guard/index.js';
import { createService } from '../../src/service/service.js';
import { RUST_GUARD } from '../support/server.js';

let root: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'wasmguard-config-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

let counter = 0;
/** A fresh directory under the temp root with the given files (text, or a copy of the Rust guard for `*.wasm` set to true). */
function dir(files: Record<string, string | true> = {}): string {
  const path = join(root, `case-${++counter}`);
  mkdirSync(path, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(path, name, '..'), { recursive: true });
    if (content === true) copyFileSync(RUST_GUARD, join(path, name));
    else writeFileSync(join(path, name), content);
  }
  return path;
}

/** The problems of the ConfigError that loading throws. */
function problems(load: () => unknown): string[] {
  try {
    load();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe('WG_ERR_CONFIG');
    // The message lists every problem.
    for (const p of (error as ConfigError).problems) expect((error as Error).message).toContain(p);
    return (error as ConfigError).problems;
  }
  throw new Error('loadConfig did not throw');
}

describe('defaults', () => {
  it('with nothing set: port 8080 on 127.0.0.1, strict, memory sessions, the bundled sample guards by file name', () => {
    const config = loadConfig({ env: {}, argv: [], cwd: dir() });
    expect(config.server).toEqual(SERVER_DEFAULTS);
    // Localhost by default (issue 19): without authentication the service must not be reachable from the network.
    expect(config.server).toMatchObject({ sessionStore: 'memory', sessionMax: 100_000, sessionTtlS: 3600 });
    expect(config.server.apiTokensFile).toBeUndefined();
    expect(config.server).toMatchObject({ host: '127.0.0.1', port: 8080, defaultMode: 'strict', graceMs: 10_000, logLevel: 'info' });
    // A bit over the 8 MiB guard input limit.
    expect(config.server.bodyLimitBytes).toBeGreaterThan(8 * 1024 * 1024);
    expect(config.guards.map((g) => [g.name, g.path])).toEqual([
      ['github', join(BUNDLED_GUARDS_DIR, 'github.wasm')],
      ['static', join(BUNDLED_GUARDS_DIR, 'static.wasm')],
    ]);
    for (const guard of config.guards) {
      expect(guard).toMatchObject({ poolWarm: 1, poolIdleMs: 60_000, timeoutMs: 1000, memoryLimitMb: 32 });
      // Unset: chosen from the container's CPU and memory (test/config/pool-sizing.test.ts).
      expect(guard.poolSize).toBe(config.poolSizing!.size);
    }
    expect(config.backends).toEqual({});
    expect(config.configFile).toBeUndefined();
  });
});

describe('precedence: CLI flag > environment > config file > default', () => {
  const cwd = () =>
    dir({
      'wasmguard.json': JSON.stringify({
        server: { port: 1111, defaultMode: 'filter', host: '10.0.0.1' },
        guards: { g: { path: 'g.wasm' }, own: { path: 'g.wasm', poolSize: 7, timeoutMs: 77 } },
      }),
      'g.wasm': true,
    });

  it('server settings', () => {
    const base = cwd();
    const env = { WASMGUARD_CONFIG: 'wasmguard.json', WASMGUARD_PORT: '2222', WASMGUARD_DEFAULT_MODE: 'propagate' };
    const argv = ['--port', '3333'];
    expect(loadConfig({ env, argv, cwd: base }).server).toMatchObject({ port: 3333, defaultMode: 'propagate', host: '10.0.0.1' });
    expect(loadConfig({ env, argv: [], cwd: base }).server).toMatchObject({ port: 2222, defaultMode: 'propagate' });
    expect(loadConfig({ env: { WASMGUARD_CONFIG: 'wasmguard.json' }, argv: [], cwd: base }).server).toMatchObject({
      port: 1111,
      defaultMode: 'filter',
    });
    expect(loadConfig({ env: {}, argv: [], cwd: base }).server).toMatchObject({ port: 8080, defaultMode: 'strict', host: '127.0.0.1' });
    // The config file itself can come from a flag, which wins over the variable.
    expect(loadConfig({ env: { WASMGUARD_CONFIG: 'nope.json' }, argv: ['--config', 'wasmguard.json'], cwd: base }).server.port).toBe(1111);
    // An empty variable counts as unset.
    expect(loadConfig({ env: { WASMGUARD_PORT: '' }, argv: [], cwd: base }).server.port).toBe(8080);
  });

  it("guard-wide defaults: flag > variable > built-in; a guard's own file setting wins over both", () => {
    const base = cwd();
    const env = { WASMGUARD_CONFIG: 'wasmguard.json', WASMGUARD_POOL_SIZE: '3', WASMGUARD_POOL_WARM: '2', WASMGUARD_POOL_IDLE_MS: '0', WASMGUARD_CALL_TIMEOUT_MS: '250', WASMGUARD_MEMORY_LIMIT_MB: '64' };
    const byName = (argv: string[], e: Record<string, string> = env) => Object.fromEntries(loadConfig({ env: e, argv, cwd: base }).guards.map((g) => [g.name, g]));
    expect(byName([])).toMatchObject({
      g: { poolSize: 3, poolWarm: 2, poolIdleMs: 0, timeoutMs: 250, memoryLimitMb: 64 },
      own: { poolSize: 7, timeoutMs: 77, memoryLimitMb: 64 },
    });
    expect(byName(['--pool-size', '5', '--call-timeout-ms', '900', '--pool-idle-ms', '5000'])).toMatchObject({
      g: { poolSize: 5, poolIdleMs: 5000, timeoutMs: 900, memoryLimitMb: 64 },
      own: { poolSize: 7, timeoutMs: 77 },
    });
    expect(byName([], { WASMGUARD_CONFIG: 'wasmguard.json' })).toMatchObject({ g: { timeoutMs: 1000, memoryLimitMb: 32 } });
  });

  it('every scalar setting has a variable and a flag (redaction paths are file-only)', () => {
    const config = loadConfig({
      env: {
        WASMGUARD_HOST: '0.0.0.0',
        WASMGUARD_GRACE_MS: '500',
        WASMGUARD_SESSION_STORE: 'redis://10.0.0.5:6379/2',
        WASMGUARD_SESSION_MAX: '50',
        WASMGUARD_SESSION_TTL_S: '120',
        WASMGUARD_API_TOKENS_FILE: '/run/secrets/tokens',
        WASMGUARD_LOG_LEVEL: 'warn',
        WASMGUARD_BODY_LIMIT_BYTES: '2048',
        WASMGUARD_MAX_JSON_DEPTH: '32',
        WASMGUARD_LOG_TOOL_DATA: 'yes',
        WASMGUARD_DIAGNOSTICS_HOST: '10.0.0.2',
        WASMGUARD_DRAIN_MS: '100',
        WASMGUARD_REQUEST_TIMEOUT_MS: '4000',
        WASMGUARD_CONNECTION_TIMEOUT_MS: '5000',
        WASMGUARD_KEEP_ALIVE_TIMEOUT_MS: '6000',
        WASMGUARD_MAX_CONNECTIONS: '70',
        WASMGUARD_BATCH_MAX: '7',
        WASMGUARD_RESULT_BYTES_IN_FLIGHT: '65536',
      },
      argv: ['--grace-ms', '600', '--log-tool-data', 'false', '--diagnostics-port', '9090', '--drain-ms', '200', '--max-requests-per-socket', '9', '--batch-max', '12'],
      cwd: dir(),
    });
    expect(config.server).toEqual({
      host: '0.0.0.0',
      port: 8080,
      defaultMode: 'strict',
      bodyLimitBytes: 2048,
      resultBytesInFlight: 65536,
      graceMs: 600,
      logLevel: 'warn',
      maxJsonDepth: 32,
      logToolData: false,
      logRedactPaths: [],
      diagnosticsHost: '10.0.0.2',
      diagnosticsPort: 9090,
      sessionStore: 'redis://10.0.0.5:6379/2',
      sessionMax: 50,
      sessionTtlS: 120,
      apiTokensFile: '/run/secrets/tokens',
      drainMs: 200,
      requestTimeoutMs: 4000,
      connectionTimeoutMs: 5000,
      keepAliveTimeoutMs: 6000,
      maxConnections: 70,
      maxRequestsPerSocket: 9,
      watch: false,
      batchMax: 12,
    });
    // A store that is neither "memory" nor a Redis URL is a configuration error naming the variable.
    expect(() => loadConfig({ env: { WASMGUARD_SESSION_STORE: 'postgres://x' }, argv: [], cwd: dir() })).toThrow(/sessionStore.*WASMGUARD_SESSION_STORE/);
  });

  it('refuses a drain window that does not fit in the grace period', () => {
    expect(() => loadConfig({ env: { WASMGUARD_DRAIN_MS: '5000', WASMGUARD_GRACE_MS: '5000' }, cwd: dir() })).toThrow(
      'server.drainMs (5000) must be less than server.graceMs (5000): the drain is part of the grace period',
    );
  });
});

describe('config files', () => {
  const settings = {
    server: { port: 9000, defaultMode: 'filter', bodyLimitBytes: 10485760 },
    guards: {
      github: {
        path: 'guards/gh.wasm',
        policy: { 'allow-only': { repos: 'public', 'min-integrity': 'none' } },
        mode: 'propagate',
        poolSize: 2,
        poolWarm: 2,
        poolIdleMs: 30000,
        timeoutMs: 1500,
        memoryLimitMb: 48,
        maxQueue: 10,
        queueTimeoutMs: 200,
        backend: 'github-mcp',
      },
    },
    backends: {
      'github-mcp': {
        type: 'mcp',
        url: 'http://127.0.0.1:3000/mcp',
        headers: { authorization: 'env:GITHUB_MCP_TOKEN' },
        timeoutMs: 2000,
        maxResponseBytes: 4194304,
        tools: ['search_repositories'],
      },
    },
  };
  const yaml = `# the same settings in YAML
server:
  port: 9000
  defaultMode: filter
  bodyLimitBytes: 10485760
guards:
  github:
    path: guards/gh.wasm
    policy:
      allow-only: { repos: public, min-integrity: none }
    mode: propagate
    poolSize: 2
    poolWarm: 2
    poolIdleMs: 30000
    timeoutMs: 1500
    memoryLimitMb: 48
    maxQueue: 10
    queueTimeoutMs: 200
    backend: github-mcp
backends:
  github-mcp:
    type: mcp
    url: http://127.0.0.1:3000/mcp
    headers:
      authorization: env:GITHUB_MCP_TOKEN
    timeoutMs: 2000
    maxResponseBytes: 4194304
    tools: [search_repositories]
`;

  it.each([
    ['wasmguard.json', JSON.stringify(settings)],
    ['wasmguard.yaml', yaml],
    ['wasmguard.yml', yaml],
  ])('%s gives every setting of the file', (name, text) => {
    const base = dir({ [name]: text, 'guards/gh.wasm': true });
    const config = loadConfig({ env: { WASMGUARD_CONFIG: name }, argv: [], cwd: base });
    expect(config.configFile).toBe(join(base, name));
    expect(config.server).toEqual({ ...SERVER_DEFAULTS, port: 9000, defaultMode: 'filter', bodyLimitBytes: 10485760 });
    expect(config.guards).toEqual([{ name: 'github', ...settings.guards.github, path: join(base, 'guards/gh.wasm') }]);
    expect(config.backends).toEqual(settings.backends);
  });

  it('an empty file is an empty configuration', () => {
    const base = dir({ 'empty.yaml': '' });
    const config = loadConfig({ env: { WASMGUARD_CONFIG: 'empty.yaml' }, argv: [], cwd: base });
    expect(config.server).toEqual(SERVER_DEFAULTS);
    expect(config.guards.map((g) => g.name)).toEqual(['github', 'static']);
  });

  it('resolves paths in the file against the file, and the file against the working directory', () => {
    const base = dir({
      'etc/wasmguard/config.yaml': 'guardsDir: ../../wasm\nguards:\n  extra:\n    path: ./extra/x.wasm\n',
      'etc/wasmguard/extra/x.wasm': true,
      'wasm/a.wasm': true,
    });
    const elsewhere = dir();
    const config = loadConfig({ env: { WASMGUARD_CONFIG: join(base, 'etc/wasmguard/config.yaml') }, argv: [], cwd: elsewhere });
    expect(config.guards.map((g) => [g.name, g.path])).toEqual([
      ['a', join(base, 'wasm/a.wasm')],
      ['extra', join(base, 'etc/wasmguard/extra/x.wasm')],
    ]);
    // The same file named relative to the working directory.
    const relative = loadConfig({ env: {}, argv: ['--config', 'etc/wasmguard/config.yaml'], cwd: base });
    expect(relative.guards).toEqual(config.guards);
    // WASMGUARD_GUARDS_DIR is relative to the working directory, not to the file.
    const fromEnv = loadConfig({ env: { WASMGUARD_GUARDS_DIR: 'wasm' }, argv: [], cwd: base });
    expect(fromEnv.guards.map((g) => [g.name, g.path])).toEqual([['a', join(base, 'wasm/a.wasm')]]);
  });
});

describe('guards directory', () => {
  it('loads every *.wasm by file name, ignoring other files, sorted', () => {
    const guards = dir({ 'zeta.wasm': true, 'alpha.wasm': true, 'README.md': '# not a guard', 'beta.wasm.bak': 'x', 'sub/nested.wasm': true });
    const config = loadConfig({ env: { WASMGUARD_GUARDS_DIR: guards }, argv: [], cwd: dir() });
    expect(config.guards.map((g) => [g.name, g.path])).toEqual([
      ['alpha', join(guards, 'alpha.wasm')],
      ['zeta', join(guards, 'zeta.wasm')],
    ]);
  });

  it('merges with guards named in the file; the file entry wins for the same name', () => {
    const base = dir({
      'wasm/one.wasm': true,
      'wasm/two.wasm': true,
      'other.wasm': true,
      'config.json': JSON.stringify({ guardsDir: 'wasm', guards: { two: { path: 'other.wasm', mode: 'filter' }, three: { path: 'other.wasm' } } }),
    });
    const config = loadConfig({ env: {}, argv: ['--config', 'config.json'], cwd: base });
    expect(config.guards.map((g) => [g.name, g.path, g.mode])).toEqual([
      ['one', join(base, 'wasm/one.wasm'), undefined],
      ['two', join(base, 'other.wasm'), 'filter'],
      ['three', join(base, 'other.wasm'), undefined],
    ]);
  });

  it('guards named in the file replace the bundled samples', () => {
    const base = dir({ 'x.wasm': true, 'c.json': JSON.stringify({ guards: { x: { path: 'x.wasm' } } }) });
    expect(loadConfig({ env: { WASMGUARD_CONFIG: 'c.json' }, argv: [], cwd: base }).guards.map((g) => g.name)).toEqual(['x']);
  });
});

describe('validation: every problem at once, naming the setting and where it came from', () => {
  it('bad port', () => {
    expect(problems(() => loadConfig({ env: { WASMGUARD_PORT: 'eighty' }, argv: [], cwd: dir() }))).toEqual([
      'WASMGUARD_PORT must be a non-negative integer, got "eighty"',
    ]);
    expect(problems(() => loadConfig({ env: {}, argv: ['--port', '65536'], cwd: dir() }))).toEqual(['server.port must be <= 65535 (from --port)']);
    expect(problems(() => loadConfig({ env: { WASMGUARD_PORT: '-1' }, argv: [], cwd: dir() }))).toEqual([
      'WASMGUARD_PORT must be a non-negative integer, got "-1"',
    ]);
    const base = dir({ 'c.json': '{"server": {"port": "8080"}}' });
    expect(problems(() => loadConfig({ env: { WASMGUARD_CONFIG: 'c.json' }, argv: [], cwd: base }))).toEqual(['config.server.port must be integer']);
  });

  it('unknown mode', () => {
    expect(problems(() => loadConfig({ env: { WASMGUARD_DEFAULT_MODE: 'lenient' }, argv: [], cwd: dir() }))).toEqual([
      'server.defaultMode must be one of "strict", "filter", "propagate" (from WASMGUARD_DEFAULT_MODE)',
    ]);
    const base = dir({ 'g.wasm': true, 'c.yaml': 'guards:\n  g:\n    path: g.wasm\n    mode: lenient\n' });
    expect(problems(() => loadConfig({ env: { WASMGUARD_CONFIG: 'c.yaml' }, argv: [], cwd: base }))).toEqual([
      'config.guards.g.mode must be one of "strict", "filter", "propagate"',
    ]);
  });

  it('unknown log level', () => {
    expect(problems(() => loadConfig({ env: { WASMGUARD_LOG_LEVEL: 'loud' }, argv: [], cwd: dir() }))).toEqual([
      'server.logLevel must be one of "fatal", "error", "warn", "info", "debug", "trace", "silent" (from WASMGUARD_LOG_LEVEL)',
    ]);
  });

  it('unknown fields, at every level', () => {
    const base = dir({
      'g.wasm': true,
      'c.json': JSON.stringify({
        sever: {},
        server: { prot: 1 },
        guards: { g: { path: 'g.wasm', timeout: 5 } },
        backends: { b: { type: 'http', url: 'http://x', retries: 3 } },
      }),
    });
    expect(problems(() => loadConfig({ env: { WASMGUARD_CONFIG: 'c.json' }, argv: [], cwd: base })).sort()).toEqual(
      [
        'config has unknown setting "sever"',
        'config.server has unknown setting "prot"',
        'config.guards.g has unknown setting "timeout"',
        'config.backends.b has unknown setting "retries"',
      ].sort(),
    );
  });

  it('unknown command line flag', () => {
    expect(problems(() => loadConfig({ env: {}, argv: ['--prot', '80'], cwd: dir() }))).toEqual([expect.stringMatching(/^command line: .*--prot/)]);
  });

  it('bad sha256', () => {
    const base = dir({ 'g.wasm': true, 'c.json': JSON.stringify({ guards: { g: { path: 'g.wasm', sha256: 'abc123' } } }) });
    expect(problems(() => loadConfig({ env: { WASMGUARD_CONFIG: 'c.json' }, argv: [], cwd: base }))).toEqual([
      'config.guards.g.sha256 must match pattern "^[0-9a-fA-F]{64}$"',
    ]);
  });

  it('per-guard limits: unknown names, bad values, a first output buffer over the largest', () => {
    const config = (limits: unknown) => dir({ 'g.wasm': true, 'c.json': JSON.stringify({ guards: { g: { path: 'g.wasm', limits } } }) });
    const load = (base: string) => () => loadConfig({ env: { WASMGUARD_CONFIG: 'c.json' }, argv: [], cwd: base });
    expect(problems(load(config({ maxInputKb: 4 })))).toEqual(['config.guards.g.limits has unknown setting "maxInputKb"']);
    expect(problems(load(config({ maxBackendCalls: -1 })))).toEqual(['config.guards.g.limits.maxBackendCalls must be >= 0']);
    expect(problems(load(config({ initialOutputBytes: 32 * 1024 * 1024 })))).toEqual([
      'guards.g.limits.initialOutputBytes (33554432) is over maxOutputBytes (16777216)',
    ]);
    const [guard] = loadConfig({ env: { WASMGUARD_CONFIG: 'c.json' }, argv: [], cwd: config({ initialOutputBytes: 65536 }) }).guards;
    expect(guard!.limits).toEqual({ initialOutputBytes: 65536 });
  });

  it('missing guard file', () => {
    const base = dir({ 'c.json': JSON.stringify({ guards: { g: { path: 'missing.wasm' } } }) });
    expect(problems(() => loadConfig({ env: { WASMGUARD_CONFIG: 'c.json' }, argv: [], cwd: base }))).toEqual([
      `guards.g.path: ${join(base, 'missing.wasm')} does not exist`,
    ]);
  });

  it('unknown backend reference', () => {
    const base = dir({
      'g.wasm': true,
      'c.json': JSON.stringify({ guards: { g: { path: 'g.wasm', backend: 'github-mpc' } }, backends: { 'github-mcp': { type: 'mcp', url: 'http://127.0.0.1:3000/mcp' } } }),
    });
    expect(problems(() => loadConfig({ env: { WASMGUARD_CONFIG: 'c.json' }, argv: [], cwd: base }))).toEqual([
      'guards.g.backend names unknown backend "github-mpc"',
    ]);
  });

  it('toolBackends naming an unknown backend, and an empty trustedBots list (the gateway requires a non-empty one)', () => {
    const base = dir({
      'g.wasm': true,
      'c.json': JSON.stringify({
        guards: { g: { path: 'g.wasm', backend: 'github-mcp', toolBackends: { get_collaborator_permission: 'github-rst' }, trustedBots: [] } },
        backends: { 'github-mcp': { type: 'mcp', url: 'http://127.0.0.1:3000/mcp' } },
      }),
    });
    expect(problems(() => loadConfig({ env: { WASMGUARD_CONFIG: 'c.json' }, argv: [], cwd: base }))).toEqual([
      'config.guards.g.trustedBots must NOT have fewer than 1 items',
    ]);
    const fixed = dir({
      'g.wasm': true,
      'c.json': JSON.stringify({
        guards: { g: { path: 'g.wasm', toolBackends: { get_collaborator_permission: 'github-rst' }, trustedBots: ['helper-bot'] } },
        backends: { 'github-rest': { type: 'http', url: 'http://127.0.0.1:3000/tools' } },
      }),
    });
    expect(problems(() => loadConfig({ env: { WASMGUARD_CONFIG: 'c.json' }, argv: [], cwd: fixed }))).toEqual([
      'guards.g.toolBackends.get_collaborator_permission names unknown backend "github-rst"',
    ]);
  });

  it('nonexistent guards directory', () => {
    const base = dir();
    expect(problems(() => loadConfig({ env: { WASMGUARD_GUARDS_DIR: 'nope' }, argv: [], cwd: base }))).toEqual([
      `guards directory ${join(base, 'nope')} does not exist`,
    ]);
    // A file is not a directory.
    const file = dir({ 'a.wasm': true });
    expect(problems(() => loadConfig({ env: { WASMGUARD_GUARDS_DIR: join(file, 'a.wasm') }, argv: [], cwd: base }))).toEqual([
      `guards directory ${join(file, 'a.wasm')} does not exist`,
    ]);
  });

  it('a guards directory without guards', () => {
    const empty = dir({ 'notes.txt': 'x' });
    expect(problems(() => loadConfig({ env: { WASMGUARD_GUARDS_DIR: empty }, argv: [], cwd: dir() }))).toEqual([
      `no guards configured and no *.wasm in ${empty}`,
    ]);
  });

  it('config file missing or unparsable', () => {
    const base = dir({ 'bad.json': '{"server": ', 'bad.yaml': 'server: [1, 2\n' });
    expect(problems(() => loadConfig({ env: { WASMGUARD_CONFIG: 'none.json' }, argv: [], cwd: base }))).toEqual([
      `config file ${join(base, 'none.json')} cannot be read: ENOENT`,
    ]);
    expect(problems(() => loadConfig({ env: { WASMGUARD_CONFIG: 'bad.json' }, argv: [], cwd: base }))).toEqual([
      expect.stringMatching(new RegExp(`^config file ${join(base, 'bad.json')} is not valid JSON: `)),
    ]);
    expect(problems(() => loadConfig({ env: { WASMGUARD_CONFIG: 'bad.yaml' }, argv: [], cwd: base }))).toEqual([
      expect.stringMatching(new RegExp(`^config file ${join(base, 'bad.yaml')} is not valid YAML: `)),
    ]);
  });

  it('guard-wide defaults out of range', () => {
    expect(
      problems(() =>
        loadConfig({ env: { WASMGUARD_POOL_SIZE: '0', WASMGUARD_CALL_TIMEOUT_MS: '0' }, argv: ['--memory-limit-mb', '8192'], cwd: dir() }),
      ),
    ).toEqual(['WASMGUARD_POOL_SIZE must be >= 1', 'WASMGUARD_CALL_TIMEOUT_MS must be >= 1', '--memory-limit-mb must be <= 4096']);
  });

  it('a bad boolean', () => {
    expect(problems(() => loadConfig({ env: { WASMGUARD_LOG_TOOL_DATA: 'maybe' }, argv: [], cwd: dir() }))).toEqual([
      'WASMGUARD_LOG_TOOL_DATA must be true or false, got "maybe"',
    ]);
  });

  it('reports every problem of a configuration together', () => {
    const base = dir({
      'c.yaml': [
        'server:',
        '  port: 99999',
        '  defaultMode: lenient',
        'guards:',
        '  a: { path: a.wasm, backend: nowhere }',
        '  b: { path: b.wasm }',
      ].join('\n'),
    });
    // The file is invalid: its guards are not looked at until the schema problems are fixed.
    expect(problems(() => loadConfig({ env: { WASMGUARD_CONFIG: 'c.yaml', WASMGUARD_GRACE_MS: 'soon' }, argv: [], cwd: base })).sort()).toEqual(
      [
        'WASMGUARD_GRACE_MS must be a non-negative integer, got "soon"',
        'config.server.port must be <= 65535',
        'config.server.defaultMode must be one of "strict", "filter", "propagate"',
      ].sort(),
    );
    const valid = dir({ 'c.yaml': 'guards:\n  a: { path: a.wasm, backend: nowhere }\n  b: { path: b.wasm }\n' });
    expect(problems(() => loadConfig({ env: { WASMGUARD_CONFIG: 'c.yaml', WASMGUARD_PORT: '70000' }, argv: [], cwd: valid })).sort()).toEqual(
      [
        'server.port must be <= 65535 (from WASMGUARD_PORT)',
        'guards.a.backend names unknown backend "nowhere"',
        `guards.a.path: ${join(valid, 'a.wasm')} does not exist`,
        `guards.b.path: ${join(valid, 'b.wasm')} does not exist`,
      ].sort(),
    );
  });
});

describe('sha256 pinning (through createService)', () => {
  const digest = createHash('sha256').update(readFileSync(RUST_GUARD)).digest('hex');
  const load = (sha256: string) => {
    const base = dir({ 'g.wasm': true, 'c.json': JSON.stringify({ server: { logLevel: 'silent' }, guards: { g: { path: 'g.wasm', sha256, poolSize: 1 } } }) });
    return loadConfig({ env: { WASMGUARD_CONFIG: 'c.json' }, argv: [], cwd: base });
  };

  it('refuses a guard whose file does not match, naming both digests', async () => {
    const wrong = 'ab'.repeat(32);
    const error = await createService(load(wrong), { logger: pino({ level: 'silent' }) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GuardLoadError);
    expect((error as Error).message).toBe(`guard g: module SHA-256 is ${digest}, but the configuration requires ${wrong}`);
  });

  it('loads a guard whose file matches (in any letter case)', async () => {
    const service = await createService(load(digest.toUpperCase()), { logger: pino({ level: 'silent' }) });
    try {
      expect(service.registry.get('g')!.compiled.digest).toBe(digest);
    } finally {
      await service.close();
    }
  });
});
