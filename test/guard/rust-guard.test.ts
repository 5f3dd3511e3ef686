/**
 * The same rules against a real guard: Rust built for wasm32-wasip1 like the
 * gateway's guards (serde_json, policy kept as instance state, WASI imports,
 * alloc/dealloc, neither _start nor _initialize). Its hooks are described in
 * test/fixtures/rust-guard/README.md.
 */
import { readFileSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  CompilationCache,
  GuardBufferLimitError,
  GuardExitError,
  GuardInputTooLargeError,
  GuardLoadError,
  GuardOutputError,
  GuardPoisonedError,
  GuardPolicyRejectedError,
  GuardReportedError,
  GuardTrapError,
  type BackendCaller,
  type CompiledGuard,
  type GuardError,
  type GuardFunction,
  type GuardInstance,
  type InstanceObserver,
} from '../../src/guard/index.js';
import { createWithExports, MiB, recordingLogger, type Level } from '../support/instance.js';

const WASM = new URL('../fixtures/rust-guard/rust_guard.wasm', import.meta.url);
const PUBLIC = { 'allow-only': { repos: 'public', 'min-integrity': 'none' } };
const ACME = { 'allow-only': { repos: ['acme/x', 'acme/y'], 'min-integrity': 'approved' }, difc_mode: 'propagate' };

const cache = new CompilationCache();
let compiled: CompiledGuard;
beforeAll(async () => {
  compiled = await cache.load(readFileSync(WASM), { name: 'rust' });
});
afterEach(() => vi.restoreAllMocks());

interface Stats {
  allocs: number;
  deallocs: number;
  live_allocs: number;
  label_agent_calls: number;
  label_resource_calls: number;
  label_response_calls: number;
  instance_id: string;
  policy_set: boolean;
}

function setup(options: { backend?: BackendCaller; levels?: Level[]; source?: CompiledGuard } = {}) {
  const logger = recordingLogger(options.levels);
  const regrowths: Array<[GuardFunction, string]> = [];
  const backendOutcomes: string[] = [];
  const observer: InstanceObserver = {
    regrowth: (fn, how) => regrowths.push([fn, how]),
    backendCall: (o) => backendOutcomes.push(o),
  };
  const { instance, exports } = createWithExports(options.source ?? compiled, { logger, backend: options.backend, observer });
  const hook = (tool: string, args: unknown = {}) => instance.labelResource(tool, args).resource.description ?? '';
  const stats = (): Stats => JSON.parse(hook('stats')) as Stats;
  return { instance, exports, logger, regrowths, backendOutcomes, hook, stats };
}

function catchError(fn: () => unknown): GuardError {
  try {
    fn();
  } catch (error) {
    return error as GuardError;
  }
  throw new Error('expected the call to throw');
}

describe('Rust wasm32-wasip1 guard: loading', () => {
  it('validates as a library guard with allocator, WASI, backend and log imports', () => {
    expect(compiled.shape).toMatchObject({ hasAllocator: true, hasInitialize: false, usesBackend: true, usesLog: true });
    expect(compiled.shape.wasiImports).toEqual(expect.arrayContaining(['fd_write', 'random_get', 'environ_sizes_get', 'proc_exit']));
    expect(compiled.shape.exports).not.toContain('_start');
  });

  it('is capped although it declares no memory maximum, and refused when its minimum exceeds the limit', async () => {
    const { instance } = setup();
    expect(instance.memoryBytes).toBeLessThan(32 * MiB);
    const error = await cache.load(readFileSync(WASM), { name: 'tiny', limits: { memoryLimitBytes: MiB } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GuardLoadError);
    expect((error as Error).message).toMatch(/minimum of \d+ pages .* over the cap of 16 pages/);
  });

  it('is compiled once for many instances, each with its own state', async () => {
    const again = await cache.load(readFileSync(WASM), { name: 'rust' });
    expect(again.module).toBe(compiled.module);
    const a = setup();
    const b = setup({ source: again });
    expect(a.stats().instance_id).not.toBe(b.stats().instance_id);
  });
});

describe('Rust guard: happy path and state', () => {
  it('labels the agent from the policy, keeps the policy, and labels resources under it', () => {
    const { instance, hook, stats } = setup();
    expect(instance.labelAgent(PUBLIC)).toEqual({
      agent: { secrecy: [], integrity: [] },
      mode: 'filter',
      normalizedPolicy: { 'allow-only': { 'min-integrity': 'none', repos: 'public' } },
    });
    expect(hook('get_issue', { owner: 'octo-org', repo: 'r1' })).toBe(
      'get_issue repo octo-org/r1 under policy {"min-integrity":"none","repos":"public"}',
    );
    expect(instance.labelAgent(ACME)).toEqual({
      agent: { secrecy: ['private:acme/x', 'private:acme/y'], integrity: ['approved:acme'] },
      mode: 'propagate',
      normalizedPolicy: { 'allow-only': { 'min-integrity': 'approved', repos: ['acme/x', 'acme/y'] }, difc_mode: 'propagate' },
    });
    expect(instance.labelResource('get_file', { repo: 'acme/x', private: true })).toEqual({
      resource: {
        description: 'get_file repo acme/x under policy {"min-integrity":"approved","repos":["acme/x","acme/y"]}',
        secrecy: ['private:acme/x'],
        integrity: [],
      },
      operation: 'read',
    });
    const s = stats();
    expect(s).toMatchObject({ label_agent_calls: 2, label_resource_calls: 3, policy_set: true });
    // Seen from inside a call: only that call's input and output buffers are live.
    expect(s.live_allocs).toBe(2);
    expect(stats().deallocs).toBe(s.deallocs + 2);
  });

  it('maps operations, with missing or unknown ones read as write', () => {
    const { instance } = setup();
    expect(instance.labelResource('list_issues', {}).operation).toBe('read');
    expect(instance.labelResource('create_issue', {}).operation).toBe('write');
    expect(instance.labelResource('frobnicate', {}).operation).toBe('read-write');
    expect(instance.labelResource('get_x', { test_operation: 'bogus' }).operation).toBe('write');
    expect(instance.labelResource('get_x', { test_operation: null }).operation).toBe('write');
    expect(instance.labelResource('get_x', { test_labels: { secrecy: ['s'], integrity: ['i'] } }).resource).toMatchObject({
      secrecy: ['s'],
      integrity: ['i'],
    });
  });

  it('returns the three label_response forms', () => {
    const { instance } = setup();
    instance.labelAgent(ACME);
    expect(instance.labelResponse('list_issues', { items: [{ author_association: 'OWNER' }, { private: true, repo: 'acme/z' }] }, {})).toEqual({
      kind: 'paths',
      labeledPaths: [
        { path: '/items/0', labels: { description: 'item 0', secrecy: [], integrity: ['approved:acme'] } },
        { path: '/items/1', labels: { description: 'item 1', secrecy: ['private:acme/z'], integrity: [] } },
      ],
      itemsPath: '/items',
    });
    expect(instance.labelResponse('list_x', [{}], {})).toMatchObject({ kind: 'paths', itemsPath: '', labeledPaths: [{ path: '/0' }] });
    expect(instance.labelResponse('get_x', { title: 'single' }, {})).toEqual({ kind: 'none' });
    expect(instance.labelResponse('legacy_items', { items: [{ n: 1 }] }, {})).toEqual({
      kind: 'items',
      items: [{ data: { n: 1 }, labels: { description: 'item 0', secrecy: [], integrity: [] } }],
    });
    const mcp = { content: [{ type: 'text', text: JSON.stringify({ items: [{ author_association: 'MEMBER' }] }) }] };
    expect(instance.labelResponse('search_issues', mcp, {})).toMatchObject({ kind: 'paths', labeledPaths: [{ path: '/items/0' }] });
  });

  it('reports rejected policies with the guard message and keeps the previous policy', () => {
    const { instance, hook } = setup();
    instance.labelAgent(PUBLIC);
    for (const [policy, message] of [
      [{ nothing: 1 }, 'policy must contain allow-only'],
      [{ 'allow-only': { repos: 5 } }, 'allow-only.repos must be "public", "all" or an array of repo names'],
      [{ 'allow-only': {}, difc_mode: 'lenient' }, 'difc_mode must be strict, filter or propagate'],
    ] as const) {
      const error = catchError(() => instance.labelAgent(policy));
      expect(error).toBeInstanceOf(GuardPolicyRejectedError);
      expect(error.message).toBe(`guard rust rejected the policy: ${message}`);
    }
    expect(hook('get_x')).toContain('under policy {"min-integrity":"none","repos":"public"}');
  });

  it('uses WASI as real guards do: empty environment, fixed args, working random_get from the first call', () => {
    const { hook } = setup();
    expect(JSON.parse(hook('env'))).toMatchObject({ env_count: 0, env_set: false, home_set: false, args_count: 1, random_rc: 0, random_nonzero: true });
  });

  it('sends stdout and stderr to the logger', () => {
    const { hook, logger } = setup();
    expect(hook('print', { text: 'hi there' })).toBe('printed hi there');
    expect(logger.records).toContainEqual({ level: 'debug', obj: { guard: 'rust', stream: 'stdout' }, msg: 'rust_guard stdout: hi there' });
    expect(logger.records).toContainEqual({ level: 'warn', obj: { guard: 'rust', stream: 'stderr' }, msg: 'rust_guard stderr: hi there' });
  });

  it('logs its per-call debug line through host_log', () => {
    const { hook, logger } = setup();
    hook('get_x');
    expect(logger.records).toContainEqual({ level: 'debug', obj: { guard: 'rust', guardLevel: 0 }, msg: 'rust_guard: label_resource tool=get_x' });
  });

  it('sleeps through poll_oneoff', () => {
    const { hook } = setup();
    const started = performance.now();
    expect(hook('sleep', { ms: 20 })).toBe('slept 20 ms');
    expect(performance.now() - started).toBeGreaterThanOrEqual(15);
  });
});

describe('Rust guard: call protocol errors', () => {
  it('reports guard_error as a guard error code and frees the buffers', () => {
    const { hook, stats } = setup();
    const before = stats();
    const error = catchError(() => hook('guard_error'));
    expect(error).toBeInstanceOf(GuardReportedError);
    expect(error).toMatchObject({ returnCode: -7, fn: 'label_resource' });
    const after = stats();
    expect(after.live_allocs).toBe(2);
    expect(after.deallocs - before.deallocs).toBe(4); // guard_error's two buffers + the first stats call's two
  });

  it('reports bad_json as malformed output naming the function and frees the buffers', () => {
    const { hook, stats } = setup();
    const error = catchError(() => hook('bad_json'));
    expect(error).toBeInstanceOf(GuardOutputError);
    expect(error.message).toContain('label_resource output: not valid JSON');
    expect(stats().live_allocs).toBe(2);
  });

  it('regrows for big output with the hint, and refuses output over the ceiling', () => {
    const { instance, regrowths, stats } = setup();
    const out = instance.labelResource('big_output', { size: 5 * MiB });
    expect(out.resource.description).toHaveLength(5 * MiB - 78 + 'xxx'.length - 3);
    expect(regrowths).toEqual([['label_resource', 'hinted']]);
    const error = catchError(() => instance.labelResource('big_output', { size: 16 * MiB + 1 }));
    expect(error).toBeInstanceOf(GuardBufferLimitError);
    expect(error.message).toContain(`${16 * MiB + 1}-byte output buffer (its hint)`);
    expect(stats().live_allocs).toBe(2);
    expect(instance.memoryBytes).toBeLessThanOrEqual(32 * MiB);
  });

  it('refuses an oversize input before the guard sees it', () => {
    const { instance, stats } = setup();
    const before = stats().label_resource_calls;
    expect(() => instance.labelResource('get_x', { blob: 'x'.repeat(8 * MiB) })).toThrow(GuardInputTooLargeError);
    expect(stats().label_resource_calls).toBe(before + 1);
  });

  it('meters a log flood and does not decode lines whose level is off', () => {
    const loud = setup();
    expect(loud.hook('log_flood', { count: 1000, level: 2 })).toBe('logged 1000 lines');
    expect(loud.logger.at('warn').filter((r) => String(r.msg).startsWith('rust_guard log_flood'))).toHaveLength(99); // plus the per-call debug line
    const decode = vi.spyOn(TextDecoder.prototype, 'decode');
    const quiet = setup({ levels: ['warn', 'error'] });
    quiet.instance.invoke('label_resource', new TextEncoder().encode('{"tool_name":"log_flood","tool_args":{"count":500,"level":1}}'));
    expect(quiet.logger.records).toEqual([]);
    expect(decode).not.toHaveBeenCalled();
  });

  it('truncates long log lines', () => {
    const { hook, logger } = setup();
    hook('log_flood', { count: 1, level: 3, size: 10_000 });
    const line = logger.at('error')[0]!;
    expect(line.msg).toHaveLength(4096);
    expect(line.obj.truncatedFrom).toBe(10_000);
  });
});

describe('Rust guard: call_backend', () => {
  const recording = (reply: (tool: string, args: string) => string | undefined) => {
    const calls: Array<[string, string]> = [];
    const backend: BackendCaller = {
      call(tool, args) {
        calls.push([tool, args]);
        const json = reply(tool, args);
        return json === undefined ? { ok: false } : { ok: true, json };
      },
    };
    return { backend, calls };
  };

  it('gets the backend result', () => {
    const { backend, calls } = recording(() => '{"title":"hello"}');
    const { hook } = setup({ backend });
    expect(JSON.parse(hook('backend', { tool: 'get_issue', args: { number: 1 } }))).toEqual({
      hinted: null,
      rc: 17,
      rcs: [17],
      result: { title: 'hello' },
    });
    expect(calls).toEqual([['get_issue', '{"number":1}']]);
  });

  it('answers -2 with a size hint for a result over 64 KiB, and serves the retry without calling the backend again', () => {
    const big = JSON.stringify({ body: 'y'.repeat(100_000) });
    const { backend, calls } = recording(() => big);
    const { hook, backendOutcomes } = setup({ backend });
    const out = JSON.parse(hook('backend', { tool: 'get_file' })) as { hinted: number; rcs: number[]; result: unknown };
    expect(out.hinted).toBe(big.length);
    expect(out.rcs).toEqual([-2, big.length]);
    expect(out.result).toEqual(JSON.parse(big));
    expect(calls).toHaveLength(1);
    expect(backendOutcomes).toEqual(['too_large', 'ok']);
  });

  it('returns -1 on backend failure', () => {
    const { backend } = recording(() => undefined);
    const { hook } = setup({ backend });
    expect(JSON.parse(hook('backend', { tool: 'x' }))).toMatchObject({ rc: -1, result: null });
  });

  it('returns -1 on the 51st call and resets the count for the next invocation', () => {
    const { backend, calls } = recording(() => '{}');
    const { hook } = setup({ backend });
    const out = JSON.parse(hook('backend', { tool: 'x', times: 51 })) as { rcs: number[] };
    expect(out.rcs).toEqual([...Array(50).fill(2), -1]);
    expect(calls).toHaveLength(50);
    expect(JSON.parse(hook('backend', { tool: 'x', times: 1 }))).toMatchObject({ rcs: [2] });
  });
});

describe('Rust guard: traps, exits and poisoning', () => {
  function expectPoisoned(instance: GuardInstance, logger: ReturnType<typeof recordingLogger>, original: GuardError) {
    const logged = logger.records.length;
    for (const call of [() => instance.labelResource('stats', {}), () => instance.labelAgent(PUBLIC), () => instance.labelResponse('x', {}, {})]) {
      const later = catchError(call);
      expect(later).toBeInstanceOf(GuardPoisonedError);
      expect(later.message).toContain(original.message);
      expect((later as GuardPoisonedError).original).toEqual(original.toData());
    }
    // The guard was not entered again: it logs a debug line on every call.
    expect(logger.records.length).toBe(logged);
  }

  it.each([
    ['trap_unreachable', 'unreachable'],
    ['panic', 'unreachable'],
    ['trap_oob', 'out_of_bounds'],
    ['trap_stack', 'stack_overflow'],
    ['trap_div0', 'divide_by_zero'],
    ['memory_bomb', 'memory'],
  ])('%s traps as %s and poisons the instance', (tool, kind) => {
    const { instance, logger } = setup();
    instance.labelAgent(PUBLIC);
    const error = catchError(() => instance.labelResource(tool, {}));
    expect(error).toBeInstanceOf(GuardTrapError);
    expect(error).toMatchObject({ kind, fn: 'label_resource', guard: 'rust' });
    expect(instance.memoryBytes).toBeLessThanOrEqual(32 * MiB);
    // Rust writes these to its unbuffered stderr in many pieces; they arrive as one record each.
    const stderr = logger.at('warn').map((r) => r.msg);
    if (tool === 'panic') expect(stderr).toContainEqual(expect.stringMatching(/^thread '<unnamed>' panicked at 'rust_guard: panic test hook', src\/lib.rs:\d+:\d+$/));
    if (tool === 'memory_bomb') expect(stderr).toEqual(['memory allocation of 1048576 bytes failed']);
    expectPoisoned(instance, logger, error);
  });

  it('exit_3 is a trap carrying the exit code; exit_0 is an exit; both retire the instance', () => {
    const three = setup();
    const trap = catchError(() => three.instance.labelResource('exit_3', {}));
    expect(trap).toBeInstanceOf(GuardTrapError);
    expect(trap).toMatchObject({ kind: 'exit', exitCode: 3 });
    expectPoisoned(three.instance, three.logger, trap);

    const zero = setup();
    const exit = catchError(() => zero.instance.labelResource('exit_0', {}));
    expect(exit).toBeInstanceOf(GuardExitError);
    expect(exit).toMatchObject({ exitCode: 0 });
    expectPoisoned(zero.instance, zero.logger, exit);
  });

  it('traps in label_response and label_agent too', () => {
    const a = setup();
    expect(catchError(() => a.instance.labelResponse('response_trap_div0', { items: [] }, {}))).toMatchObject({
      kind: 'divide_by_zero',
      fn: 'label_response',
    });
    const b = setup();
    expect(catchError(() => b.instance.labelAgent({ ...PUBLIC, 'test-hook': 'exit_3' }))).toMatchObject({ kind: 'exit', exitCode: 3, fn: 'label_agent' });
    expect(b.instance.poisoned).toMatchObject({ name: 'GuardTrapError' });
  });

  it('a fresh instance from the cached module serves normally after another one trapped', () => {
    const broken = setup();
    catchError(() => broken.instance.labelResource('trap_unreachable', {}));
    const fresh = setup();
    expect(fresh.stats()).toMatchObject({ label_resource_calls: 1, live_allocs: 2 });
  });
});
