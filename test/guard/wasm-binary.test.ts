import { describe, expect, it } from 'vitest';
import { capMemory, formatFuncType, parseModule, WasmFormatError } from '../../src/guard/wasm-binary.js';
import { wat } from '../support/wat.js';

const SAMPLE = `(module
  (type $label (func (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (import "env" "call_backend" (func $cb (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "env" "host_log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 3 40)
  (global (export "counter") (mut i32) (i32.const 0))
  (func (export "label_agent") (type $label) (i32.const 0))
  (func (export "alloc") (param i32) (result i32) (i32.const 0))
  (func (export "dealloc") (param i32 i32))
  (func (export "wide") (param i64 f32 f64) (result i64 i32) (i64.const 0) (i32.const 0))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "size") (result i32) (memory.size))
)`;

/** A module with a 64-bit memory, built by hand (wabt here is not built with memory64). */
const MEMORY64 = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 5, 3, 1, 0x04, 1]);

describe('parseModule', () => {
  it('reads imports with their signatures, exports with theirs, and memories', async () => {
    const info = parseModule(await wat(SAMPLE));
    expect(info.imports).toEqual([
      { module: 'wasi_snapshot_preview1', name: 'random_get', kind: 'function', type: { params: ['i32', 'i32'], results: ['i32'] } },
      { module: 'env', name: 'call_backend', kind: 'function', type: { params: ['i32', 'i32', 'i32', 'i32', 'i32', 'i32'], results: ['i32'] } },
      { module: 'env', name: 'host_log', kind: 'function', type: { params: ['i32', 'i32', 'i32'], results: [] } },
    ]);
    const byName = Object.fromEntries(info.exports.map((e) => [e.name, e]));
    expect(byName.memory).toEqual({ name: 'memory', kind: 'memory' });
    expect(byName.counter).toEqual({ name: 'counter', kind: 'global' });
    // Function indices count imports first: the export must map to the defined function's type.
    expect(byName.label_agent!.type).toEqual({ params: ['i32', 'i32', 'i32', 'i32'], results: ['i32'] });
    expect(byName.alloc!.type).toEqual({ params: ['i32'], results: ['i32'] });
    expect(byName.dealloc!.type).toEqual({ params: ['i32', 'i32'], results: [] });
    expect(byName.wide!.type).toEqual({ params: ['i64', 'f32', 'f64'], results: ['i64', 'i32'] });
    expect(info.memories).toEqual([{ minPages: 3, maxPages: 40, shared: false, memory64: false }]);
  });

  it('reads a memory without maximum and a 64-bit memory', async () => {
    expect(parseModule(await wat('(module (memory 1))')).memories).toEqual([
      { minPages: 1, maxPages: undefined, shared: false, memory64: false },
    ]);
    expect(parseModule(MEMORY64).memories[0]).toMatchObject({ minPages: 1, memory64: true });
  });

  it('refuses bytes that are not a core WebAssembly module', () => {
    expect(() => parseModule(new TextEncoder().encode('#!/bin/sh\necho hi'))).toThrow(/bad magic number/);
    expect(() => parseModule(new Uint8Array([0, 0x61, 0x73]))).toThrow(WasmFormatError);
    // A component (layer 1) has version 0x0d.
    expect(() => parseModule(new Uint8Array([0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0]))).toThrow(/component/);
  });

  it('refuses a truncated module', async () => {
    const bytes = await wat(SAMPLE);
    expect(() => parseModule(bytes.subarray(0, bytes.length - 5))).toThrow(/runs past the end/);
  });
});

describe('capMemory', () => {
  const grower = async (memory: string) =>
    wat(`(module (memory (export "memory") ${memory})
      (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
      (func (export "size") (result i32) (memory.size)))`);

  async function instantiate(bytes: Uint8Array) {
    const { instance } = await WebAssembly.instantiate(bytes as Uint8Array<ArrayBuffer>);
    return instance.exports as { grow(n: number): number; size(): number };
  }

  it('gives a module without a declared maximum the cap as maximum; growth past it returns -1 inside the module', async () => {
    const capped = capMemory(await grower('1'), 4);
    expect(parseModule(capped).memories).toEqual([{ minPages: 1, maxPages: 4, shared: false, memory64: false }]);
    const m = await instantiate(capped);
    expect(m.grow(3)).toBe(1);
    expect(m.grow(1)).toBe(-1);
    expect(m.size()).toBe(4);
  });

  it('lowers a larger declared maximum to the cap and keeps a smaller one', async () => {
    expect(parseModule(capMemory(await grower('1 65536'), 512)).memories[0]!.maxPages).toBe(512);
    expect(parseModule(capMemory(await grower('1 10'), 512)).memories[0]!.maxPages).toBe(10);
  });

  it('keeps the rest of the module intact when the section changes size (multi-byte LEB128)', async () => {
    const original = await wat(SAMPLE.replace('(memory (export "memory") 3 40)', '(memory (export "memory") 3)'));
    const capped = capMemory(original, 65536);
    expect(capped.length).not.toBe(original.length);
    expect(WebAssembly.validate(capped as Uint8Array<ArrayBuffer>)).toBe(true);
    const info = parseModule(capped);
    expect(info.memories[0]).toEqual({ minPages: 3, maxPages: 65536, shared: false, memory64: false });
    expect(info.exports.map((e) => e.name)).toEqual(parseModule(original).exports.map((e) => e.name));
    const big = capMemory(await grower('2'), 65536);
    expect(parseModule(big).memories[0]!.maxPages).toBe(65536);
    expect(WebAssembly.validate(big as Uint8Array<ArrayBuffer>)).toBe(true);
  });

  it('refuses a module whose minimum is over the cap, naming pages and cap', async () => {
    const bytes = await grower('600');
    expect(() => capMemory(bytes, 512)).toThrow(WasmFormatError);
    expect(() => capMemory(bytes, 512)).toThrow(/minimum of 600 pages \(38400 KiB\), over the cap of 512 pages/);
    expect(() => capMemory(bytes, 600)).not.toThrow();
  });

  it('refuses 64-bit memories and returns a module without memory unchanged', async () => {
    expect(() => capMemory(MEMORY64, 512)).toThrow(/64-bit memories are not supported/);
    const noMemory = await wat('(module (func (export "f")))');
    expect(capMemory(noMemory, 512)).toBe(noMemory);
  });
});

describe('formatFuncType', () => {
  it('prints signatures as guard authors write them', () => {
    expect(formatFuncType({ params: ['i32', 'i32', 'i32', 'i32'], results: ['i32'] })).toBe('(i32,i32,i32,i32)->i32');
    expect(formatFuncType({ params: ['i32', 'i32'], results: [] })).toBe('(i32,i32)->()');
    expect(formatFuncType({ params: [], results: ['i64', 'i32'] })).toBe('()->(i64,i32)');
    expect(formatFuncType(undefined)).toBe('unknown');
  });
});
