/** The guard ceiling's worker: parse the body, make the guard's label_response call, count the labelled items. */
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { CompilationCache, GuardInstance } from '../../dist/guard/index.js';

const compiled = await new CompilationCache().load(readFileSync(workerData.wasmPath), { name: 'ceiling' });
const instance = GuardInstance.create(compiled);
instance.labelAgent(workerData.policy);
parentPort.postMessage({ ready: true });
parentPort.on('message', ({ id, bytes }) => {
  try {
    const body = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
    const labelling = instance.labelResponse(body.tool, body.result, body.args);
    parentPort.postMessage({ id, items: labelling.kind === 'paths' ? labelling.labeledPaths.length : 0 });
  } catch (err) {
    parentPort.postMessage({ id, error: String(err) });
  }
});
