import { describe, expect, it } from 'vitest';
import { CompilationCache, GuardLoadError } from '../../src/guard/index.js';
import { validateGuard } from '../../src/guard/validate.js';
import { ALLOCATOR } from '../support/guards.js';
import { wat } from '../support/wat.js';

const LABEL = '(param i32 i32 i32 i32) (result i32) (i32.const 0)';
const labelFns = (except: string[] = []) =>
  ['label_agent', 'label_resource', 'label_response']
    .filter((fn) => !except.includes(fn))
    .map((fn) => `(func (export "${fn}") ${LABEL})`)
    .join('\n');

const cache = new CompilationCache();

async function load(body: string, name = 'g') {
  return cache.load(await wat(`(module ${body})`), { name });
}

async function loadError(body: string, name = 'g'): Promise<GuardLoadError> {
  const error = await load(body, name).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GuardLoadError);
  const loadErr = error as GuardLoadError;
  expect(loadErr.code).toBe('WG_ERR_GUARD_LOAD');
  expect(loadErr.guard).toBe(name);
  expect(loadErr.message).toContain(`guard ${name}:`);
  return loadErr;
}

describe('load-time validation', () => {
  it('accepts a complete guard and describes its shape', async () => {
    const compiled = await load(`
      (import "env" "call_backend" (func (param i32 i32 i32 i32 i32 i32) (result i32)))
      (import "env" "host_log" (func (param i32 i32 i32)))
      (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      ${ALLOCATOR}
      (func (export "_initialize"))
      ${labelFns()}`);
    expect(compiled.shape).toMatchObject({
      hasAllocator: true,
      hasInitialize: true,
      wasiImports: ['fd_write'],
      usesBackend: true,
      usesLog: true,
    });
    expect(compiled.shape.exports).toEqual(expect.arrayContaining(['memory', 'alloc', 'dealloc', 'label_agent', '_initialize']));
  });

  it('accepts a minimal guard without allocator, imports or _initialize', async () => {
    const compiled = await load(`(memory (export "memory") 1) ${labelFns()}`);
    expect(compiled.shape).toMatchObject({ hasAllocator: false, hasInitialize: false, wasiImports: [], usesBackend: false, usesLog: false });
  });

  it('names a missing label function', async () => {
    const error = await loadError(`(memory (export "memory") 1) ${labelFns(['label_response'])}`);
    expect(error.message).toMatch(/missing required export label_response$/);
  });

  it('names every missing label function', async () => {
    const error = await loadError(`(memory (export "memory") 1) ${labelFns(['label_agent', 'label_resource'])}`);
    expect(error.message).toContain('missing required exports label_agent, label_resource');
  });

  it('does not take a global named like a label function for the function', async () => {
    const error = await loadError(`(memory (export "memory") 1) ${labelFns(['label_agent'])} (global (export "label_agent") i32 (i32.const 0))`);
    expect(error.message).toContain('missing required export label_agent');
  });

  it('says a _start-only module was built as a command, not a library', async () => {
    const error = await loadError(`(memory (export "memory") 1) (func (export "_start"))`);
    expect(error.message).toContain('built as a command');
    expect(error.message).toContain('not as a library');
    expect(error.message).toContain('_start');
  });

  it('accepts a module exporting _start next to the label functions (it is never run)', async () => {
    await expect(load(`(memory (export "memory") 1) (func (export "_start") unreachable) ${labelFns()}`)).resolves.toBeTruthy();
  });

  it.each([
    ['label_agent', '(param i32 i32) (result i32) (i32.const 0)', '(i32,i32)->i32'],
    ['label_resource', '(param i32 i32 i32 i32)', '(i32,i32,i32,i32)->()'],
    ['label_response', '(param i32 i32 i32 i64) (result i32) (i32.const 0)', '(i32,i32,i32,i64)->i32'],
    ['label_agent', '(param i32 i32 i32 i32) (result i64) (i64.const 0)', '(i32,i32,i32,i32)->i64'],
  ])('names %s and both signatures when its signature is wrong (%s)', async (fn, sig, printed) => {
    const error = await loadError(`(memory (export "memory") 1) ${labelFns([fn])} (func (export "${fn}") ${sig})`);
    expect(error.message).toContain(`export ${fn} has signature ${printed}, expected (i32,i32,i32,i32)->i32`);
  });

  it('requires the memory export', async () => {
    const error = await loadError(`(memory 1) ${labelFns()}`);
    expect(error.message).toContain('missing required export memory');
    const renamed = await loadError(`(memory (export "mem") 1) ${labelFns()}`);
    expect(renamed.message).toContain('missing required export memory');
  });

  it('requires alloc and dealloc as a pair', async () => {
    const allocOnly = await loadError(`(memory (export "memory") 1) ${labelFns()} (func (export "alloc") (param i32) (result i32) (i32.const 0))`);
    expect(allocOnly.message).toContain('exports alloc without dealloc: export both or neither');
    const deallocOnly = await loadError(`(memory (export "memory") 1) ${labelFns()} (func (export "dealloc") (param i32 i32))`);
    expect(deallocOnly.message).toContain('exports dealloc without alloc');
  });

  it('names alloc / dealloc and both signatures when they are wrong', async () => {
    const badAlloc = await loadError(`(memory (export "memory") 1) ${labelFns()}
      (func (export "alloc") (param i64) (result i64) (i64.const 0)) (func (export "dealloc") (param i32 i32))`);
    expect(badAlloc.message).toContain('export alloc has signature (i64)->i64, expected (i32)->i32');
    const badDealloc = await loadError(`(memory (export "memory") 1) ${labelFns()}
      (func (export "alloc") (param i32) (result i32) (i32.const 0)) (func (export "dealloc") (param i32))`);
    expect(badDealloc.message).toContain('export dealloc has signature (i32)->(), expected (i32,i32)->()');
  });

  it('requires _initialize, when exported, to take and return nothing', async () => {
    const error = await loadError(`(memory (export "memory") 1) ${labelFns()} (func (export "_initialize") (param i32))`);
    expect(error.message).toContain('_initialize must be a function with no parameters and no results');
  });

  const MEMORY = '(memory (export "memory") 1)';
  it.each([
    ['env.abort', `(import "env" "abort" (func (param i32 i32 i32 i32))) ${MEMORY}`, 'env.abort (function)'],
    ['env.memory', '(import "env" "memory" (memory 1)) (export "memory" (memory 0))', 'env.memory (memory)'],
    ['wasi_unstable.fd_write', `(import "wasi_unstable" "fd_write" (func (param i32 i32 i32 i32) (result i32))) ${MEMORY}`, 'wasi_unstable.fd_write (function)'],
    ['host.call_backend', `(import "host" "call_backend" (func (param i32 i32 i32 i32 i32 i32) (result i32))) ${MEMORY}`, 'host.call_backend (function)'],
  ])('refuses the unknown import %s, naming it', async (_, body, named) => {
    const error = await loadError(`${body} ${labelFns()}`);
    expect(error.message).toContain(`imports ${named}, which the host does not provide`);
    expect(error.message).toContain('env.call_backend, env.host_log and wasi_snapshot_preview1.*');
  });

  it('names a host import with the wrong signature and both signatures', async () => {
    const backend = await loadError(`(import "env" "call_backend" (func (param i32 i32 i32 i32) (result i32))) (memory (export "memory") 1) ${labelFns()}`);
    expect(backend.message).toContain('import env.call_backend has signature (i32,i32,i32,i32)->i32, expected (i32,i32,i32,i32,i32,i32)->i32');
    const log = await loadError(`(import "env" "host_log" (func (param i32 i32 i32) (result i32))) (memory (export "memory") 1) ${labelFns()}`);
    expect(log.message).toContain('import env.host_log has signature (i32,i32,i32)->i32, expected (i32,i32,i32)->()');
    const global = await loadError(`(import "env" "host_log" (global i32)) (memory (export "memory") 1) ${labelFns()}`);
    expect(global.message).toContain('import env.host_log has signature unknown, expected (i32,i32,i32)->()');
  });

  it('accepts any WASI preview1 function but not a WASI global', async () => {
    await expect(
      load(`(import "wasi_snapshot_preview1" "sock_accept" (func (param i32 i32 i32) (result i32))) (memory (export "memory") 1) ${labelFns()}`),
    ).resolves.toBeTruthy();
    const error = await loadError(`(import "wasi_snapshot_preview1" "weird" (global i32)) (memory (export "memory") 1) ${labelFns()}`);
    expect(error.message).toContain('import wasi_snapshot_preview1.weird must be a function');
  });

  it('refuses shared memories', () => {
    const info = {
      imports: [],
      memories: [{ minPages: 1, maxPages: 2, shared: true, memory64: false }],
      exports: [
        { name: 'memory', kind: 'memory' as const },
        ...['label_agent', 'label_resource', 'label_response'].map((name) => ({
          name,
          kind: 'function' as const,
          type: { params: ['i32' as const, 'i32' as const, 'i32' as const, 'i32' as const], results: ['i32' as const] },
        })),
      ],
    };
    expect(() => validateGuard(info, 'g')).toThrow(/shared memories are not supported/);
  });

  it('refuses bytes that are not WebAssembly, and code that does not compile', async () => {
    const notWasm = await cache.load(new TextEncoder().encode('not wasm at all'), { name: 'junk' }).catch((e: unknown) => e);
    expect(notWasm).toBeInstanceOf(GuardLoadError);
    expect((notWasm as Error).message).toBe('guard junk: not a WebAssembly module (bad magic number)');

    // Exports and imports are fine, but a function body is invalid: the engine refuses it.
    const bytes = await wat(`(module (memory (export "memory") 1) ${labelFns()}
      (func $marker (result i32) (i32.const 123456)))`);
    const marker = [0x41, 0xc0, 0xc4, 0x07, 0x0b]; // i32.const 123456; end
    const at = bytes.findIndex((_, i) => marker.every((b, j) => bytes[i + j] === b));
    expect(at).toBeGreaterThan(0);
    const broken = bytes.slice();
    broken[at] = 0x42; // i64.const: result type no longer matches
    const error = await cache.load(broken, { name: 'broken' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GuardLoadError);
    expect((error as Error).message).toContain('guard broken: WebAssembly compilation failed');
  });
});
