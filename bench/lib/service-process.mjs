/**
 * The real service as a separate process: `node dist/server.js` with
 * WASMGUARD_PORT=0 (any free port, found through /proc), the default log level
 * (info: a decision log line per request, as a user runs it; issue 20) and
 * a config file. Measures the time from spawn to the first 200 on /readyz.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from './http.mjs';
import { cpuMs, listeningPorts, rssBytes } from './proc.mjs';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SERVER = join(REPO_ROOT, 'dist/server.js');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * The node flags and environment `npm start` gives the service (the image's
 * CMD and ENV have the same, a deploy test checks it): the bench measures the
 * service as it is shipped.
 */
const START = (() => {
  const { start } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).scripts;
  const command = /((?:\b[A-Z_]+=\S+\s+)*)\bnode\s+((?:--\S+\s+)*)dist\/server\.js/.exec(start);
  if (!command) throw new Error(`package.json's start script does not run node dist/server.js: ${start}`);
  const words = (text) => text.split(/\s+/).filter(Boolean);
  return { env: Object.fromEntries(words(command[1]).map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)])), flags: words(command[2]) };
})();
export const SERVICE_NODE_FLAGS = START.flags;
/** The environment variables `npm start` sets for the service (the image's ENV has the same, a deploy test checks it). */
export const SERVICE_ENV = START.env;

/** The environment without any WASMGUARD_* setting of the caller's shell, so only what the bench sets applies. */
function cleanEnv(extra) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('WASMGUARD_')));
  return { ...env, ...extra };
}

/**
 * Starts the service and waits until /readyz answers 200.
 * options: config (path of a config file, optional), env (extra variables), logFile, cpuProfDir, nodeArgs.
 */
export async function startService({ config, env = {}, logFile, cpuProfDir, nodeArgs = [], readyTimeoutMs = 20_000 }) {
  const args = [...SERVICE_NODE_FLAGS, ...nodeArgs];
  if (cpuProfDir) args.push('--cpu-prof', '--cpu-prof-dir', cpuProfDir);
  args.push(SERVER);
  const out = openSync(logFile, 'a');
  const spawnedAt = performance.now();
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: cleanEnv({
      ...SERVICE_ENV,
      WASMGUARD_HOST: '127.0.0.1',
      WASMGUARD_PORT: '0',
      WASMGUARD_GRACE_MS: '3000',
      ...(config ? { WASMGUARD_CONFIG: config } : {}),
      ...env,
    }),
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  let exit;
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve((exit = { code, signal }))));

  const fail = (why) => {
    child.kill('SIGKILL');
    let tail = '';
    try {
      tail = readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n');
    } catch {
      // no log
    }
    return new Error(`service ${why}\n--- ${logFile} (tail) ---\n${tail}`);
  };

  let port;
  let listeningAt;
  const deadline = spawnedAt + readyTimeoutMs;
  for (;;) {
    if (exit) throw fail(`exited before it was ready (code ${exit.code}, signal ${exit.signal})`);
    if (performance.now() > deadline) throw fail(`was not ready within ${readyTimeoutMs} ms`);
    if (port === undefined) {
      port = listeningPorts(child.pid)[0];
      if (port === undefined) {
        // Not too often: /proc reads cost CPU the starting service needs (at most 5 ms late).
        await sleep(5);
        continue;
      }
      listeningAt = performance.now();
    }
    try {
      const res = await request('GET', `http://127.0.0.1:${port}/readyz`, undefined, { timeoutMs: 1000 });
      if (res.status === 200) break;
    } catch {
      // not accepting yet
    }
    await sleep(2);
  }
  const readyAt = performance.now();

  return {
    pid: child.pid,
    port,
    url: `http://127.0.0.1:${port}`,
    logFile,
    listeningMs: listeningAt - spawnedAt,
    readyMs: readyAt - spawnedAt,
    rss: () => rssBytes(child.pid),
    cpuMs: () => cpuMs(child.pid),
    /** SIGTERM (graceful shutdown), SIGKILL if it is still there after `timeoutMs`. */
    async stop(timeoutMs = 10_000) {
      if (exit) return exit;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
}

/**
 * The service's guards as "name started/size" (pools start warm instances and grow while calls wait),
 * and how many worker threads they run: one per started instance.
 */
export async function guardPools(url) {
  const { guards } = await (await fetch(`${url}/v1/guards`)).json();
  const started = (g) => (g.pool ? g.pool.instances.idle + g.pool.instances.busy + g.pool.instances.starting : 0);
  return {
    guards: guards.map((g) => `${g.name} ${started(g)}/${g.pool?.size ?? '?'}`).join(', '),
    workers: guards.reduce((n, g) => n + started(g), 0),
  };
}
