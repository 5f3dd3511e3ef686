/**
 * A real redis-server for the tests, started on a free port of 127.0.0.1
 * with persistence off, and stopped (or stopped and restarted on the same
 * port, to test outages) by the test itself.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, createConnection } from 'node:net';

export interface RedisServer {
  port: number;
  url: string;
  /** Stops the server (SIGKILL: an outage, not a clean shutdown) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
  /** Runs one command through redis-cli-free RESP over a raw socket (PING, FLUSHALL, TTL key...). */
  command(...args: string[]): Promise<string>;
}

/** Whether redis-server is installed; `.ci/run` installs it (Debian package redis-server). */
export function redisServerPath(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

/**
 * Whether the Redis tests run. In CI a missing redis-server is a failure, never a silent skip;
 * elsewhere the tests are skipped with the reason printed.
 */
export function redisAvailableOrSkip(): boolean {
  if (redisServerPath()) return true;
  if (process.env.CI) throw new Error('redis-server is not installed: .ci/run installs it (apt-get install redis-server); Redis tests cannot run');
  console.warn('SKIPPED: Redis session store tests need redis-server (apt-get install redis-server)');
  return false;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function encode(args: string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

async function rawCommand(port: number, args: string[], timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`redis ${args[0]} timed out`));
    }, timeoutMs);
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('data', (chunk) => {
      data += chunk.toString();
      if (data.endsWith('\r\n')) {
        clearTimeout(timer);
        socket.end();
        resolve(data.trim());
      }
    });
    socket.write(encode(args));
  });
}

export async function startRedis(): Promise<RedisServer> {
  const path = redisServerPath();
  if (!path) throw new Error('redis-server is not installed');
  const port = await freePort();
  let child: ChildProcess | undefined;
  let output = '';

  const start = async () => {
    output = '';
    child = spawn(path, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        if ((await rawCommand(port, ['PING'], 500)) === '+PONG') return;
      } catch {
        // not up yet
      }
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`redis-server did not start on port ${port}: ${output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const stop = async () => {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGKILL');
    await exited;
  };
  await start();
  return { port, url: `redis://127.0.0.1:${port}`, stop, start, command: (...args) => rawCommand(port, args) };
}
