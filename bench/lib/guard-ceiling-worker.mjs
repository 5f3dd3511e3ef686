/** The guard ceiling's worker: parse the body, make the guard's label_response call (its labels parsed), answer. */
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { CompilationCache, GuardInstance } from '../../dist/guard/index.js';
import { constOutputFn, watSourceToWasm } from './wat.mjs';

/** A guard that does no work: label_agent and label_resource answer constants, label_response answers at once with no labels. */
const FREE_GUARD = `(module
  (memory (export "memory") 4)
  ${constOutputFn('label_agent', '{"agent":{"secrecy":[],"integrity":[]},"difc_mode":"filter"}', 1024)}
  ${constOutputFn('label_resource', '{"resource":{"description":"free","secrecy":[],"integrity":[]},"operation":"read"}', 2048)}
  (func (export "label_response") (param i32 i32 i32 i32) (result i32) (i32.const 0)))`;

const bytes = workerData.wasmPath === 'free' ? await watSourceToWasm('free.wat', FREE_GUARD) : readFileSync(workerData.wasmPath);
const compiled = await new CompilationCache().load(bytes, { name: 'ceiling' });
const instance = GuardInstance.create(compiled);
instance.labelAgent(workerData.policy);
parentPort.postMessage({ ready: true });
parentPort.on('message', ({ id, bytes }) => {
  try {
    const body = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
    instance.labelResponse(body.tool, body.result, body.args);
    parentPort.postMessage({ id });
  } catch (err) {
    parentPort.postMessage({ id, error: String(err) });
  }
});
