/**
 * A redis-server for the sessions scenario: a free port on 127.0.0.1,
 * persistence off, stopped with the bench. Needs the Debian package
 * redis-server (.ci/run installs it).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createConnection, createServer } from 'node:net';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function hasRedisServer() {
  return spawnSync('sh', ['-c', 'command -v redis-server']).status === 0;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function ping(port) {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.setTimeout(500, () => (socket.destroy(), resolve(false)));
    socket.once('error', () => resolve(false));
    socket.once('data', (d) => (socket.end(), resolve(d.toString().startsWith('+PONG'))));
    socket.write('*1\r\n$4\r\nPING\r\n');
  });
}

export async function startRedis() {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  for (let i = 0; i < 100 && !(await ping(port)); i++) await sleep(50);
  if (!(await ping(port))) throw new Error(`redis-server did not answer on port ${port}`);
  return {
    pid: child.pid,
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await gone;
    },
  };
}
