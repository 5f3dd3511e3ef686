import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { commandOf, parseDockerfile } from '../deploy/dockerfile.js';
import { SERVER_ENTRY } from './fixtures.js';

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  /** Every JSON log line so far (empty when stdout is not read). */
  logs: Array<Record<string, unknown>>;
  /** stderr so far. */
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface ProcessOptions {
  /** Node flags put before the image's own (e.g. `--import` of a probe). */
  nodeArgs?: string[];
  /** Stop reading stdout once the service listens: from then on its log pipe fills and is never drained. */
  stopReadingStdout?: boolean;
  timeoutMs?: number;
}

const DOCKERFILE = fileURLToPath(new URL('../../Dockerfile', import.meta.url));

/**
 * The node flags the image runs the service with (ENTRYPOINT node, CMD
 * `<flags> dist/server.js`), read from the Dockerfile, so the tests run the
 * process exactly as it ships.
 */
export function imageNodeFlags(): string[] {
  const { stages } = parseDockerfile(readFileSync(DOCKERFILE, 'utf8'));
  const last = (keyword: string) => stages.at(-1)!.instructions.filter((i) => i.keyword === keyword).at(-1);
  const entrypoint = last('ENTRYPOINT');
  const cmd = last('CMD');
  if (!cmd) throw new Error('the Dockerfile has no CMD');
  const argv = [...(entrypoint ? commandOf(entrypoint.rest).argv : []), ...commandOf(cmd.rest).argv];
  if (!/(^|\/)node$/.test(argv[0] ?? '') || argv.at(-1) !== 'dist/server.js') {
    throw new Error(`the image does not run "node <flags> dist/server.js": ${argv.join(' ')}`);
  }
  return argv.slice(1, -1);
}

/**
 * Starts the built service (dist/server.js) as its own process, with the node
 * flags of the image's CMD, and waits for its "listening" log line.
 */
export async function startServerProcess(env: Record<string, string>, options: ProcessOptions | number = {}): Promise<ServerProcess> {
  const { nodeArgs = [], timeoutMs = 15_000, stopReadingStdout = false } = typeof options === 'number' ? { timeoutMs: options } : options;
  const stdio: StdioOptions = ['ignore', 'pipe', 'pipe'];
  const child = spawn(process.execPath, [...nodeArgs, ...imageNodeFlags(), SERVER_ENTRY], {
    env: { ...process.env, WASMGUARD_HOST: '127.0.0.1', WASMGUARD_PORT: '0', ...env },
    stdio,
  });
  const logs: Array<Record<string, unknown>> = [];
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs);
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        if (entry.msg === 'wasmguard listening') {
          clearTimeout(timer);
          if (stopReadingStdout) {
            lines.close();
            child.stdout!.pause();
          }
          resolve(entry.address as string);
        }
      } catch {
        // not a log line
      }
    });
    void exited.then(({ code }) => reject(new Error(`server exited with code ${code} before listening; stderr: ${stderr}`)));
  });
  return { child, url, logs, stderr: () => stderr, exited };
}
