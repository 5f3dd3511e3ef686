/** Compiles a WAT file to wasm bytes with wabt (a dev dependency, as in the tests). */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import wabtInit from 'wabt';

let wabt;

export async function watToWasm(path) {
  return watSourceToWasm(basename(path), readFileSync(path, 'utf8'));
}

/** Compiles WAT text (inline benchmark guards) to wasm bytes. */
export async function watSourceToWasm(name, source) {
  wabt ??= await wabtInit();
  const parsed = wabt.parseWat(name, source, { bulk_memory: true, mutable_globals: true });
  try {
    parsed.resolveNames();
    parsed.validate();
    return new Uint8Array(parsed.toBinary({}).buffer);
  } finally {
    parsed.destroy();
  }
}

/** Median wall time of one label_resource call of a guard without imports, in this thread (calibration, in ms). */
export function inThreadCallMs(bytes, calls = 50) {
  const { exports } = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
  const input = Buffer.from('{"tool_name":"spin","tool_args":{}}');
  const times = [];
  for (let i = 0; i < calls + 5; i++) {
    const inPtr = exports.alloc(input.length);
    new Uint8Array(exports.memory.buffer, inPtr, input.length).set(input);
    const outPtr = exports.alloc(4096);
    const t = performance.now();
    exports.label_resource(inPtr, input.length, outPtr, 4096);
    if (i >= 5) times.push(performance.now() - t);
    exports.dealloc(outPtr, 4096);
    exports.dealloc(inPtr, input.length);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const hex = (text) => [...Buffer.from(text)].map((b) => `\\${b.toString(16).padStart(2, '0')}`).join('');

/**
 * A label function that copies a constant JSON answer to out_ptr, with the
 * -2 protocol and a size hint when out_cap is too small; `work` is WAT run
 * before the copy (e.g. a call to a spin loop).
 */
export function constOutputFn(name, text, at, work = '') {
  const n = Buffer.byteLength(text);
  return `
  (data (i32.const ${at}) "${hex(text)}")
  (func (export "${name}") (param $in i32) (param $inlen i32) (param $out i32) (param $cap i32) (result i32)
    (if (i32.lt_u (local.get $cap) (i32.const ${n}))
      (then (i32.store (local.get $out) (i32.const ${n})) (return (i32.const -2))))
    ${work}
    (memory.copy (local.get $out) (i32.const ${at}) (i32.const ${n}))
    (i32.const ${n}))`;
}

/**
 * A guard that does no work: label_agent and label_resource answer constants (no tags), label_response
 * answers at once with no labels. The response rows run it in a ceiling and in the service.
 */
export const FREE_GUARD_WAT = `(module
  (memory (export "memory") 4)
  ${constOutputFn('label_agent', '{"agent":{"secrecy":[],"integrity":[]},"difc_mode":"filter"}', 1024)}
  ${constOutputFn('label_resource', '{"resource":{"description":"free","secrecy":[],"integrity":[]},"operation":"read"}', 2048)}
  (func (export "label_response") (param i32 i32 i32 i32) (result i32) (i32.const 0)))`;
