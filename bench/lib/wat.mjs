/** Compiles a WAT file to wasm bytes with wabt (a dev dependency, as in the tests). */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import wabtInit from 'wabt';

let wabt;

export async function watToWasm(path) {
  wabt ??= await wabtInit();
  const parsed = wabt.parseWat(basename(path), readFileSync(path, 'utf8'), { bulk_memory: true });
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
