/**
 * node:wasi prints "ExperimentalWarning: WASI is an experimental feature" when
 * it is loaded; the host drops that one warning and no other. Checked in a
 * process of its own on its main thread, where Node prints warnings at once
 * (a guard worker blocked in its channel would hold the warning back and hide
 * a regression), with the built module the service runs.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isWasiExperimentalWarning } from '../../src/guard/host/wasi.js';

const BUILT_WASI = new URL('../../dist/guard/host/wasi.js', import.meta.url).href;

function runNode(script: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--input-type=module', '-e', script], { cwd: fileURLToPath(new URL('../..', import.meta.url)) }, (error, _stdout, stderr) =>
      resolve({ code: error ? (error.code as number) : 0, stderr }),
    );
  });
}

describe('the WASI ExperimentalWarning', () => {
  it('matches only the warning node:wasi emits', () => {
    expect(isWasiExperimentalWarning('WASI is an experimental feature and might change at any time', 'ExperimentalWarning')).toBe(true);
    const asError = Object.assign(new Error('WASI is an experimental feature and might change at any time'), { name: 'ExperimentalWarning' });
    expect(isWasiExperimentalWarning(asError, undefined)).toBe(true);
    expect(isWasiExperimentalWarning('WASI is an experimental feature', { type: 'ExperimentalWarning' })).toBe(true);
    expect(isWasiExperimentalWarning('VM Modules is an experimental feature', 'ExperimentalWarning')).toBe(false);
    expect(isWasiExperimentalWarning('WASI is an experimental feature', 'DeprecationWarning')).toBe(false);
    expect(isWasiExperimentalWarning('WASI is an experimental feature', undefined)).toBe(false);
  });

  it('is not printed when the host builds WASI imports from node:wasi, and other warnings still are', async () => {
    // clock_time_get is not answered by the host itself: building the imports loads node:wasi.
    const script = `
      const { createWasi } = await import(${JSON.stringify(BUILT_WASI)});
      const logger = { debug() {}, info() {}, warn() {}, error() {}, isLevelEnabled: () => false };
      const { imports } = createWasi({ guard: 'g', logger, memory: () => new WebAssembly.Memory({ initial: 1 }), names: ['clock_time_get'] });
      if (typeof imports.clock_time_get !== 'function') throw new Error('node:wasi was not used');
      process.emitWarning('something else is experimental', 'ExperimentalWarning');
    `;
    const { code, stderr } = await runNode(script);
    expect(code, stderr).toBe(0);
    expect(stderr).not.toContain('WASI is an experimental feature');
    expect(stderr).toContain('ExperimentalWarning: something else is experimental');
  });

  it('would be printed without the host: node:wasi still emits it on this Node', async () => {
    const { stderr } = await runNode(`import { createRequire } from 'node:module'; createRequire(import.meta.url)('node:wasi');`);
    expect(stderr).toContain('WASI is an experimental feature');
  });
});
