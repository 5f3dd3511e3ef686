/**
 * Starts one of the bench's own servers (floor, naive baseline) as a separate
 * process, so that it has its own event loop, and learns its port over IPC.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { cpuMs, rssBytes } from './proc.mjs';

export async function startChild(script, args, { logFile, env = {}, nodeArgs = [], timeoutMs = 15_000 }) {
  const out = openSync(logFile, 'a');
  const child = spawn(process.execPath, [...nodeArgs, script, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', out, out, 'ipc'],
  });
  closeSync(out);
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not report its port within ${timeoutMs} ms (log: ${logFile})`)), timeoutMs);
    child.once('message', (m) => {
      clearTimeout(timer);
      resolve(m.port);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with code ${code} before listening (log: ${logFile})`));
    });
  });
  child.channel?.unref();
  return {
    pid: child.pid,
    port,
    url: `http://127.0.0.1:${port}`,
    rss: () => rssBytes(child.pid),
    cpuMs: () => cpuMs(child.pid),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(timer);
    },
  };
}

/** For the child side: listen on 127.0.0.1, any port, and tell the parent which. */
export async function listenAndReport(app) {
  await app.listen({ host: '127.0.0.1', port: 0 });
  process.send?.({ port: app.server.address().port });
  const close = () => app.close().then(() => process.exit(0));
  process.once('SIGTERM', close);
  process.once('SIGINT', close);
}
