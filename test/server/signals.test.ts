/**
 * Which signals the shipped process reacts to, checked on `node <image flags>
 * dist/server.js` itself: no JS listener for a synchronous fault signal ever
 * (V8's wasm trap handler needs SIGSEGV to itself), only SIGTERM and SIGINT
 * shut the service down; SIGHUP reloads and SIGUSR2 is logged and ignored.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SAMPLE_GUARDS_DIR } from '../support/fixtures.js';
import { startServerProcess, type ServerProcess } from '../support/process.js';
import { probeReport, SIGNAL_PROBE } from '../support/signals.js';

let server: ServerProcess | undefined;
afterEach(() => {
  server?.child.kill('SIGKILL');
  server = undefined;
});

const healthy = async (url: string) => (await fetch(`${url}/readyz`)).status;

describe('signals of the shipped process', () => {
  it('never has a listener for SIGSEGV, SIGBUS, SIGFPE or SIGILL, and SIGINT shuts it down with exit 0', async () => {
    server = await startServerProcess({ WASMGUARD_GUARDS_DIR: SAMPLE_GUARDS_DIR }, { nodeArgs: ['--import', SIGNAL_PROBE] });
    expect(await healthy(server.url)).toBe(200);
    server.child.kill('SIGINT');
    expect(await server.exited).toEqual({ code: 0, signal: null });
    expect(probeReport(server)).toEqual({ added: [], now: [] });
    expect(server.logs.find((l) => l.msg === 'shutdown: started')?.signal).toBe('SIGINT');
  });

  it('reloads on SIGHUP, logs and ignores SIGUSR2, then still shuts down on SIGTERM', async () => {
    server = await startServerProcess({ WASMGUARD_GUARDS_DIR: SAMPLE_GUARDS_DIR });
    const s = server;
    s.child.kill('SIGHUP');
    await expect.poll(() => s.logs.some((l) => l.msg === 'reload requested by signal'), { timeout: 5000 }).toBe(true);
    expect(await healthy(s.url)).toBe(200);
    s.child.kill('SIGUSR2');
    await expect.poll(() => s.logs.some((l) => l.signal === 'SIGUSR2' && String(l.msg).includes('ignored')), { timeout: 5000 }).toBe(true);
    expect(await healthy(s.url)).toBe(200);
    expect(s.logs.map((l) => l.msg)).not.toContain('shutdown: started');
    s.child.kill('SIGTERM');
    expect(await s.exited).toEqual({ code: 0, signal: null });
  });
});
