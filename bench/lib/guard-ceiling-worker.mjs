/** The guard ceiling's worker: parse the body, make the guard's label_response call (its labels parsed), answer. */
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { CompilationCache, GuardInstance } from '../../dist/guard/index.js';
import { FREE_GUARD_WAT, watSourceToWasm } from './wat.mjs';

const bytes = workerData.wasmPath === 'free' ? await watSourceToWasm('free.wat', FREE_GUARD_WAT) : readFileSync(workerData.wasmPath);
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
