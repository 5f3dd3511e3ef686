/**
 * The log sink never stalls request handling: the shipped process, its
 * stdout a pipe that is never read after startup, keeps answering 1,000
 * decisions (each writes a decision log line), and /metrics counts what the
 * full buffer dropped.
 */
import { Pool } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { SAMPLE_GUARDS_DIR } from '../support/fixtures.js';
import { startServerProcess, type ServerProcess } from '../support/process.js';

let server: ServerProcess | undefined;
afterEach(() => {
  server?.child.kill('SIGKILL');
  server = undefined;
});

describe('a log pipe nobody reads', () => {
  it('does not stop the service answering 1,000 decisions', async () => {
    server = await startServerProcess({ WASMGUARD_GUARDS_DIR: SAMPLE_GUARDS_DIR, WASMGUARD_LOG_TOOL_DATA: 'true' }, { stopReadingStdout: true });
    const pool = new Pool(server.url, { connections: 8 });
    // A large argument makes each decision line big (tool data logged): the 64 KiB pipe fills within the first few dozen.
    const body = JSON.stringify({ guard: 'static', tool: 'list_issues', args: { note: 'x'.repeat(4096) } });
    const statuses: Record<number, number> = {};
    try {
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          for (let i = 0; i < 125; i++) {
            const res = await pool.request({ method: 'POST', path: '/v1/evaluate', headers: { 'content-type': 'application/json' }, body, headersTimeout: 10_000 });
            await res.body.text();
            statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
          }
        }),
      );
      expect(statuses).toEqual({ 200: 1000 });
      const metrics = await (await pool.request({ method: 'GET', path: '/metrics' })).body.text();
      expect(metrics).toMatch(/^wasmguard_log_lines_dropped_total \d+$/m);
    } finally {
      await pool.close();
    }
  });
});
