#!/usr/bin/env node
/**
 * The ceiling of the response rows: the echo floor (a bare Fastify route that
 * parses the body and sends it back) whose route first has the guard's
 * label_response made in a worker thread, on the service's own GuardInstance.
 * A worker parses the request body, makes the call (the ABI's input JSON in,
 * the guard's labels parsed out) and answers; nothing else: no DIFC check,
 * no filtering, no decision log, no schema, no metrics. The service makes the
 * same call on the same GuardInstance class and does all of that besides, so
 * this row bounds what it can reach against the echo floor with this guard
 * on this machine. Diagnostic only; run as its own process by bench/run.mjs.
 *
 * With `free` for the guard, the guard does no work at all (it answers at
 * once, with no labels): what is left is the worker hand-over, the body's
 * parse and the ABI's input, a ceiling that no guard can raise.
 *
 * Arguments: guard .wasm path (or `free`), policy JSON, workers (the service's default pool size).
 */
import { Worker } from 'node:worker_threads';
import Fastify from 'fastify';
import { listenAndReport } from './child.mjs';

const [wasmPath, policyJson, workerCount = '2'] = process.argv.slice(2);
const workers = [];
for (let i = 0; i < Number(workerCount); i++) {
  const worker = new Worker(new URL('./guard-ceiling-worker.mjs', import.meta.url), { workerData: { wasmPath, policy: JSON.parse(policyJson) } });
  await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  workers.push(worker);
}
const waiting = new Map();
for (const worker of workers) {
  worker.on('message', ({ id, error }) => {
    const settle = waiting.get(id);
    waiting.delete(id);
    settle(error);
  });
}
let calls = 0;
const labelInWorker = (bytes) =>
  new Promise((resolve, reject) => {
    const id = ++calls;
    waiting.set(id, (error) => (error ? reject(new Error(error)) : resolve()));
    workers[id % workers.length].postMessage({ id, bytes });
  });

const app = Fastify({ logger: false });
// Keeps the body's bytes for the worker, as the service does; parses them like Fastify's own parser.
app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, bytes, done) => {
  try {
    request.raw.bodyBytes = bytes;
    done(null, JSON.parse(bytes.toString('utf8')));
  } catch (err) {
    err.statusCode = 400;
    done(err);
  }
});
app.post('/echo', async (request) => {
  await labelInWorker(request.raw.bodyBytes);
  return request.body;
});
await listenAndReport(app);
