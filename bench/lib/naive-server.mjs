#!/usr/bin/env node
/**
 * The second baseline: what a user might write instead of WasmGuard. One
 * Fastify route that, for every request, on the event loop, instantiates the
 * guard from a module compiled once at start (plus a WASI object bound to the
 * instance, as a generic guard host must), runs label_agent with the policy
 * (a fresh instance has none) and label_resource, and applies the same coarse
 * DIFC check as the service. No pool, no workers, no deadline: a runaway guard
 * would freeze this server.
 *
 * Usage (by bench/run.mjs): node naive-server.mjs <guard.wasm> <default policy JSON> [mode]
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { WASI } from 'node:wasi';
import Fastify from 'fastify';
import { coarseCheck } from '../../dist/difc/index.js';
import { listenAndReport } from './child.mjs';

const [wasmPath, policyJson, configuredMode] = process.argv.slice(2);
const module = new WebAssembly.Module(readFileSync(wasmPath));
const defaultPolicy = policyJson ? JSON.parse(policyJson) : undefined;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function instantiate() {
  const wasi = new WASI({ version: 'preview1', args: [], env: {}, returnOnExit: true });
  const instance = new WebAssembly.Instance(module, {
    env: { host_log: () => {}, call_backend: () => -1 },
    wasi_snapshot_preview1: wasi.wasiImport,
  });
  wasi.initialize(instance);
  return instance;
}

/** One ABI call: input through alloc, 64 KiB output buffer, one retry with the size the guard asks for. */
function call(instance, fn, input) {
  const { memory, alloc, dealloc } = instance.exports;
  const bytes = encoder.encode(input);
  let cap = 64 * 1024;
  for (let attempt = 0; attempt < 2; attempt++) {
    const inPtr = alloc(bytes.length);
    new Uint8Array(memory.buffer, inPtr, bytes.length).set(bytes);
    const outPtr = alloc(cap);
    try {
      const n = instance.exports[fn](inPtr, bytes.length, outPtr, cap);
      if (n >= 0) return n === 0 ? undefined : JSON.parse(decoder.decode(new Uint8Array(memory.buffer, outPtr, n)));
      if (n !== -2) throw new Error(`${fn} returned ${n}`);
      cap = new DataView(memory.buffer).getUint32(outPtr, true) || cap * 2;
    } finally {
      dealloc(inPtr, bytes.length);
      dealloc(outPtr, cap);
    }
  }
  throw new Error(`${fn}: output too large`);
}

const app = Fastify({ logger: false });
app.post('/v1/evaluate', async (request, reply) => {
  const { tool, args, policy = defaultPolicy, mode: requestedMode } = request.body;
  const instance = instantiate();
  const labelling = policy === undefined ? undefined : call(instance, 'label_agent', JSON.stringify(policy));
  if (labelling && (labelling.success === false || labelling.error)) return reply.code(422).send({ error: labelling.error, decision: 'deny' });
  const agent = request.body.agent ?? labelling?.agent ?? { secrecy: [], integrity: [] };
  // The service's precedence: request, the guard's configured mode, label_agent's difc_mode, the default.
  const mode = requestedMode ?? configuredMode ?? labelling?.difc_mode ?? 'strict';
  const out = call(instance, 'label_resource', JSON.stringify({ tool_name: tool, tool_args: args ?? {} }));
  const operation = ['read', 'write', 'read-write'].includes(out.operation) ? out.operation : 'write';
  const resource = out.resource;
  const coarse = coarseCheck({ agent, resource, operation, mode });
  return {
    decision_id: randomUUID(),
    decision: coarse.decision,
    operation,
    resource,
    check_response: coarse.checkResponse,
    mode,
    agent,
    ...(coarse.reason ? { reason: coarse.reason } : {}),
  };
});
await listenAndReport(app);
