import { beforeAll, describe, expect, it } from 'vitest';
import {
  CompilationCache,
  GuardBufferLimitError,
  GuardInputTooLargeError,
  GuardOutputError,
  GuardPolicyRejectedError,
  GuardReportedError,
  inputJson,
  type CompiledGuard,
  type GuardFunction,
  type GuardLimits,
  type InstanceObserver,
} from '../../src/guard/index.js';
import { guardModule, RESOURCE_JSON } from '../support/guards.js';
import { createWithExports, g, MiB, recordingLogger, type TestExports } from '../support/instance.js';
import { MODE, probeGuard } from '../support/probe.js';
import { wat } from '../support/wat.js';

const cache = new CompilationCache();
const encoder = new TextEncoder();
const decoder = new TextDecoder();

const RESOURCE = {
  resource: { description: 'repo octo/x', secrecy: ['private:octo/x'], integrity: ['approved:octo'] },
  operation: 'read',
};

async function load(source: string, limits?: Partial<GuardLimits>, name = 'probe'): Promise<CompiledGuard> {
  return cache.load(await wat(source), { name, limits });
}

function recordingObserver() {
  const regrowths: Array<[GuardFunction, string]> = [];
  const observer: InstanceObserver = { regrowth: (fn, how) => regrowths.push([fn, how]) };
  return { observer, regrowths };
}

let withAlloc: CompiledGuard;
let direct: CompiledGuard;
beforeAll(async () => {
  withAlloc = await load(probeGuard());
  direct = await load(probeGuard({ allocator: false }), undefined, 'direct');
});

function probe(compiled = withAlloc, observer?: InstanceObserver) {
  const { instance, exports } = createWithExports(compiled, { observer });
  return { instance, exports, calls: () => g(exports, 'calls') };
}

/** live_allocs must be back to 0 after every call that did not trap. */
function expectAllFreed(exports: TestExports, deallocs: number) {
  expect(g(exports, 'live_allocs')).toBe(0);
  expect(g(exports, 'deallocs')).toBe(deallocs);
}

describe('call protocol with alloc/dealloc', () => {
  it('labels a resource through the guard allocator and frees both buffers', () => {
    const { instance, exports, calls } = probe();
    expect(instance.labelResource('get_repo', { owner: 'octo' })).toEqual(RESOURCE);
    expect(calls()).toBe(1);
    expect(g(exports, 'last_cap')).toBe(4 * MiB);
    expect(g(exports, 'last_in_len')).toBe(inputJson({ fn: 'label_resource', tool: 'get_repo', args: { owner: 'octo' } }).length);
    // Both buffers came from alloc (the bump heap starts at 64 KiB).
    expect(g(exports, 'last_in')).toBeGreaterThanOrEqual(65536);
    expect(g(exports, 'last_out')).toBeGreaterThanOrEqual(g(exports, 'last_in') + g(exports, 'last_in_len'));
    expectAllFreed(exports, 2);
  });

  it('writes the input JSON exactly and returns the output bytes (echo)', () => {
    const { instance, exports } = probe();
    g(exports, 'mode', MODE.echo);
    const input = encoder.encode(JSON.stringify({ tool_name: 'ünïcode ✓', tool_args: { n: 1 } }));
    expect(instance.invoke('label_resource', input)).toEqual(input);
    expectAllFreed(exports, 2);
  });

  it('keeps guard state between calls', () => {
    const { instance, calls } = probe();
    for (let i = 0; i < 5; i++) instance.labelResource('t', {});
    expect(calls()).toBe(5);
  });

  it('copies the output out of linear memory before freeing it', () => {
    const { instance, exports } = probe();
    g(exports, 'mode', MODE.echo);
    g(exports, 'scribble', 1); // dealloc overwrites what it frees
    const first = encoder.encode('{"tool_name":"first"}');
    const out = instance.invoke('label_resource', first);
    expect(decoder.decode(out)).toBe('{"tool_name":"first"}');
    // The next call reuses the same addresses; the first result must not change.
    instance.invoke('label_resource', encoder.encode('{"tool_name":"other"}'));
    new Uint8Array(exports.memory.buffer).fill(0x41);
    expect(decoder.decode(out)).toBe('{"tool_name":"first"}');
    expect(out.buffer).not.toBe(exports.memory.buffer);
  });

  it('regrows the output buffer to the hinted size on -2', () => {
    const { observer, regrowths } = recordingObserver();
    const { instance, exports, calls } = probe(withAlloc, observer);
    g(exports, 'need', 5 * MiB);
    g(exports, 'hint', 5 * MiB);
    expect(instance.labelResource('t', {})).toEqual(RESOURCE);
    expect(calls()).toBe(2);
    expect(g(exports, 'last_cap')).toBe(5 * MiB);
    expect(regrowths).toEqual([['label_resource', 'hinted']]);
    expectAllFreed(exports, 3); // input + two output buffers
  });

  it('doubles the output buffer on -2 without a hint', () => {
    const { observer, regrowths } = recordingObserver();
    const { instance, exports, calls } = probe(withAlloc, observer);
    g(exports, 'need', 5 * MiB);
    g(exports, 'hint', 0);
    expect(instance.labelResource('t', {})).toEqual(RESOURCE);
    expect(calls()).toBe(2);
    expect(g(exports, 'last_cap')).toBe(8 * MiB);
    expect(regrowths).toEqual([['label_resource', 'doubled']]);
    expectAllFreed(exports, 3);
  });

  it('doubles when the hint is not larger than the buffer it had', () => {
    const { observer, regrowths } = recordingObserver();
    const { instance, exports } = probe(withAlloc, observer);
    g(exports, 'need', 5 * MiB);
    g(exports, 'hint', 100);
    instance.labelResource('t', {});
    expect(g(exports, 'last_cap')).toBe(8 * MiB);
    expect(regrowths).toEqual([['label_resource', 'doubled']]);
  });

  it('grows to exactly the 16 MiB ceiling', () => {
    const { instance, exports } = probe();
    g(exports, 'need', 16 * MiB);
    g(exports, 'hint', 16 * MiB);
    expect(instance.labelResource('t', {})).toEqual(RESOURCE);
    expect(g(exports, 'last_cap')).toBe(16 * MiB);
    expectAllFreed(exports, 3);
  });

  it('refuses a hinted output over the 16 MiB ceiling, frees the buffers and stays usable', () => {
    const { observer, regrowths } = recordingObserver();
    const { instance, exports, calls } = probe(withAlloc, observer);
    g(exports, 'need', 16 * MiB + 1);
    g(exports, 'hint', 16 * MiB + 1);
    const error = (() => {
      try {
        instance.labelResource('t', {});
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(GuardBufferLimitError);
    expect((error as GuardBufferLimitError).message).toContain(`${16 * MiB + 1}-byte output buffer (its hint)`);
    expect((error as GuardBufferLimitError).message).toContain(`limit of ${16 * MiB} bytes`);
    expect((error as GuardBufferLimitError).fn).toBe('label_resource');
    expect(calls()).toBe(1);
    expect(regrowths).toEqual([]);
    expectAllFreed(exports, 2);
    expect(instance.poisoned).toBeUndefined();
    g(exports, 'need', 0);
    expect(instance.labelResource('t', {})).toEqual(RESOURCE);
  });

  it('stops doubling at the ceiling (4, 8, 16 MiB, then refuses)', () => {
    const { observer, regrowths } = recordingObserver();
    const { instance, exports, calls } = probe(withAlloc, observer);
    g(exports, 'need', 32 * MiB);
    expect(() => instance.labelResource('t', {})).toThrow(/33554432-byte output buffer \(doubled\), over the limit of 16777216/);
    expect(calls()).toBe(3);
    expect(g(exports, 'last_cap')).toBe(16 * MiB);
    expect(regrowths).toEqual([
      ['label_resource', 'doubled'],
      ['label_resource', 'doubled'],
    ]);
    expectAllFreed(exports, 4);
  });

  it('gives up after 3 attempts even below the ceiling', () => {
    const { instance, exports, calls } = probe();
    g(exports, 'mode', MODE.alwaysTooSmall); // hints 8 bytes more every time
    expect(() => instance.labelResource('t', {})).toThrow(GuardBufferLimitError);
    expect(() => instance.labelResource('t', {})).toThrow(/after 3 attempts \(last size 4194320 bytes\)/);
    expect(calls()).toBe(6);
    expectAllFreed(exports, 8);
    expect(instance.poisoned).toBeUndefined();
  });

  it('honours configured output limits', async () => {
    const compiled = await load(probeGuard(), { initialOutputBytes: 1024, maxOutputBytes: 8192, maxOutputAttempts: 5 });
    const { instance, exports, calls } = probe(compiled);
    expect(instance.labelResource('t', {})).toEqual(RESOURCE);
    expect(g(exports, 'last_cap')).toBe(1024);
    g(exports, 'mode', MODE.alwaysTooSmall);
    expect(() => instance.labelResource('t', {})).toThrow(/after 5 attempts/);
    expect(calls()).toBe(6);
    g(exports, 'mode', MODE.resource);
    g(exports, 'need', 8193); // 1024, 2048, 4096, 8192, then 16384 is over the ceiling
    expect(() => instance.labelResource('t', {})).toThrow(/16384-byte output buffer \(doubled\), over the limit of 8192 bytes/);
    expect(calls()).toBe(10);
  });

  it('turns another negative code into GuardReportedError, frees the buffers and stays usable', () => {
    const { instance, exports } = probe();
    g(exports, 'mode', MODE.returnCode);
    for (const rc of [-1, -7, -2147483648]) {
      g(exports, 'rc', rc);
      let error: unknown;
      try {
        instance.labelResource('t', {});
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(GuardReportedError);
      expect(error).toMatchObject({ returnCode: rc, fn: 'label_resource', guard: 'probe', code: 'WG_ERR_GUARD_REPORTED' });
      expect((error as Error).message).toContain(`returned error code ${rc}`);
    }
    expectAllFreed(exports, 6);
    expect(instance.poisoned).toBeUndefined();
    g(exports, 'mode', MODE.resource);
    expect(instance.labelResource('t', {})).toEqual(RESOURCE);
  });

  it('refuses a length larger than the output buffer', () => {
    const { instance, exports } = probe();
    g(exports, 'mode', MODE.returnCode);
    g(exports, 'rc', 4 * MiB + 1);
    expect(() => instance.labelResource('t', {})).toThrow(GuardOutputError);
    expect(() => instance.labelResource('t', {})).toThrow(/returned length 4194305, larger than its 4194304-byte output buffer/);
    expectAllFreed(exports, 4);
  });

  it('frees the buffers when the output is malformed', () => {
    const { instance, exports } = probe();
    g(exports, 'mode', MODE.notJson);
    expect(() => instance.labelResource('t', {})).toThrow(GuardOutputError);
    expect(() => instance.labelResource('t', {})).toThrow(/label_resource output: not valid JSON/);
    expectAllFreed(exports, 4);
  });

  it('refuses an input over 8 MiB before calling the guard', () => {
    const { instance, exports, calls } = probe();
    const big = new Uint8Array(8 * MiB + 1).fill(0x20);
    let error: unknown;
    try {
      instance.invoke('label_resource', big);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(GuardInputTooLargeError);
    expect(error).toMatchObject({ size: 8 * MiB + 1, limit: 8 * MiB, fn: 'label_resource', code: 'WG_ERR_INPUT_TOO_LARGE' });
    expect(() => instance.labelResource('t', { blob: 'x'.repeat(8 * MiB) })).toThrow(GuardInputTooLargeError);
    // Not entered, nothing allocated.
    expect(calls()).toBe(0);
    expectAllFreed(exports, 0);
    expect(instance.poisoned).toBeUndefined();
  });

  it('accepts an input of exactly the configured limit and refuses one byte more', async () => {
    const { instance, exports, calls } = probe(await load(probeGuard(), { maxInputBytes: 64 }));
    g(exports, 'mode', MODE.echo);
    expect(instance.invoke('label_resource', new Uint8Array(64).fill(0x61)).length).toBe(64);
    expect(() => instance.invoke('label_resource', new Uint8Array(65))).toThrow(/65 bytes, over the guard input limit of 64 bytes/);
    expect(calls()).toBe(1);
  });

  it('reports an allocator that returns null or an out-of-bounds pointer, freeing what it did allocate', () => {
    const { instance, exports, calls } = probe();
    g(exports, 'alloc_limit', 10);
    expect(() => instance.labelResource('t', {})).toThrow(/alloc\(\d+\) for the label_resource input buffer returned null/);
    expect(calls()).toBe(0);
    g(exports, 'alloc_limit', MiB);
    expect(() => instance.labelResource('t', {})).toThrow(/alloc\(4194304\) for the label_resource output buffer returned null/);
    expect(calls()).toBe(0);
    expectAllFreed(exports, 1); // the input buffer
    g(exports, 'alloc_limit', 0x7fffffff);
    g(exports, 'alloc_bogus', 1);
    expect(() => instance.labelResource('t', {})).toThrow(/returned out-of-bounds pointer 2147483632/);
    expect(instance.poisoned).toBeUndefined();
  });

  it('treats a negative label_agent return as a policy rejection', async () => {
    const compiled = await load(probeGuard({ agent: '(func (export "label_agent") (param i32 i32 i32 i32) (result i32) (i32.const -3))' }));
    const { instance, exports } = probe(compiled);
    let error: unknown;
    try {
      instance.labelAgent({ 'allow-only': {} });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(GuardPolicyRejectedError);
    expect((error as Error).message).toContain('label_agent returned -3');
    expect(error).toMatchObject({ fn: 'label_agent', guard: 'probe' });
    expectAllFreed(exports, 2);
    expect(instance.poisoned).toBeUndefined();
  });
});

describe('call protocol without alloc/dealloc (direct memory)', () => {
  it('places input then output at the end of memory and reuses the region', () => {
    const { instance, exports, calls } = probe(direct);
    const initial = exports.memory.buffer.byteLength;
    expect(instance.labelResource('get_repo', { a: 1 })).toEqual(RESOURCE);
    const inLen = g(exports, 'last_in_len');
    expect(g(exports, 'last_in')).toBe(initial);
    expect(g(exports, 'last_out')).toBe(initial + ((inLen + 7) & ~7));
    expect(g(exports, 'last_out') + g(exports, 'last_cap')).toBeLessThanOrEqual(exports.memory.buffer.byteLength);
    expect(g(exports, 'last_cap')).toBe(4 * MiB);
    const grown = instance.memoryBytes;
    for (let i = 0; i < 3; i++) expect(instance.labelResource('get_repo', { a: 1 })).toEqual(RESOURCE);
    expect(instance.memoryBytes).toBe(grown);
    expect(calls()).toBe(4);
  });

  it('warns once per guard that buffers may overlap the guard heap', async () => {
    const compiled = await load(probeGuard({ allocator: false, extra: '(global (export "unique_for_warning") i32 (i32.const 7))' }));
    const logger = recordingLogger();
    const a = createWithExports(compiled, { logger }).instance;
    a.labelResource('t', {});
    a.labelResource('t', {});
    createWithExports(compiled, { logger }).instance.labelResource('t', {});
    const warnings = logger.at('warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.msg).toContain('no alloc/dealloc');
    expect(warnings[0]!.obj).toMatchObject({ guard: 'probe' });
  });

  it('echoes input exactly and copies the output out', () => {
    const { instance, exports } = probe(direct);
    g(exports, 'mode', MODE.echo);
    const out = instance.invoke('label_resource', encoder.encode('{"tool_name":"first"}'));
    instance.invoke('label_resource', encoder.encode('{"tool_name":"other"}'));
    expect(decoder.decode(out)).toBe('{"tool_name":"first"}');
  });

  it('regrows with a hint and by doubling', () => {
    const { observer, regrowths } = recordingObserver();
    const { instance, exports } = probe(direct, observer);
    g(exports, 'need', 5 * MiB);
    g(exports, 'hint', 5 * MiB);
    expect(instance.labelResource('t', {})).toEqual(RESOURCE);
    expect(g(exports, 'last_cap')).toBe(5 * MiB);
    g(exports, 'need', 6 * MiB);
    g(exports, 'hint', 0);
    expect(instance.labelResource('t', {})).toEqual(RESOURCE);
    expect(g(exports, 'last_cap')).toBe(8 * MiB);
    expect(regrowths).toEqual([
      ['label_resource', 'hinted'],
      ['label_resource', 'doubled'],
    ]);
    expect(instance.memoryBytes).toBeLessThanOrEqual(32 * MiB);
  });

  it('reports a buffer limit, not a trap, when memory cannot grow for the buffers', async () => {
    const compiled = await load(probeGuard({ allocator: false }), { memoryLimitBytes: 2 * MiB }, 'tight');
    const { instance, calls } = probe(compiled);
    expect(() => instance.labelResource('t', {})).toThrow(GuardBufferLimitError);
    expect(() => instance.labelResource('t', {})).toThrow(/cannot grow memory .* within the memory limit of 2097152 bytes/);
    expect(calls()).toBe(0);
    expect(instance.poisoned).toBeUndefined();
  });

  it('refuses oversize input before calling', async () => {
    const { instance, calls } = probe(await load(probeGuard({ allocator: false }), { maxInputBytes: 10 }));
    expect(() => instance.invoke('label_resource', new Uint8Array(11))).toThrow(GuardInputTooLargeError);
    expect(calls()).toBe(0);
  });
});

describe('the three label functions', () => {
  it('run on the constant test guard with and without allocator', async () => {
    for (const allocator of [true, false]) {
      const compiled = await load(guardModule({ allocator }));
      const { instance } = createWithExports(compiled);
      expect(instance.labelAgent({ 'allow-only': { repos: 'public' } })).toEqual({
        agent: { secrecy: ['private:octo/x'], integrity: [] },
        mode: 'filter',
        normalizedPolicy: { 'allow-only': {} },
      });
      expect(instance.labelResource('get_x', {})).toEqual(RESOURCE);
      expect(instance.labelResponse('get_x', { items: [] }, {})).toEqual({ kind: 'none' });
      expect(decoder.decode(instance.invoke('label_resource', encoder.encode('{}')))).toBe(RESOURCE_JSON);
    }
  });
});
