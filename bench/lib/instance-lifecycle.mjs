#!/usr/bin/env node
/**
 * What one trap costs at the least: in one thread, with no pool, no worker
 * and no HTTP, a fresh GuardInstance of a guard from the compiled module
 * (instantiation with its host imports, WASI included), one call that
 * allocates its output buffer (the guard's memory grows by it, as on a fresh
 * instance's first call) and traps; repeated. CPU is the whole process's (V8's background threads
 * collect the dead instances' memories), per instance.
 *
 * Usage: node [flags] instance-lifecycle.mjs <guard.wasm> <initialOutputBytes> <count>
 * Prints one JSON line: { initialOutputBytes, count, cpuMsPerInstance, wallMsPerInstance }.
 * Run by the trap scenario with the service's node flags.
 */
import { readFileSync } from 'node:fs';
import { CompilationCache, GuardInstance } from '../../dist/guard/index.js';

const [wasmPath, initialOutputBytes, countArg] = process.argv.slice(2);
const count = Number(countArg);
const cache = new CompilationCache();
const guard = await cache.load(readFileSync(wasmPath), { name: 'lifecycle', limits: { initialOutputBytes: Number(initialOutputBytes) } });
const trapping = new TextEncoder().encode(JSON.stringify({ tool_name: 'trap_unreachable', tool_args: {} }));

function lifecycle() {
  const instance = GuardInstance.create(guard);
  try {
    instance.invoke('label_resource', trapping);
  } catch {
    if (!instance.poisoned) throw new Error('the guard did not trap on trap_unreachable');
    return;
  }
  throw new Error('the guard returned from trap_unreachable');
}

for (let i = 0; i < Math.min(200, count); i++) lifecycle(); // warm-up: code tiered up, heap at its working size
const cpu0 = process.cpuUsage();
const t0 = performance.now();
for (let i = 0; i < count; i++) lifecycle();
const wall = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const round = (v) => Math.round(v * 1000) / 1000;
console.log(
  JSON.stringify({
    initialOutputBytes: Number(initialOutputBytes),
    count,
    cpuMsPerInstance: round((cpu.user + cpu.system) / 1000 / count),
    wallMsPerInstance: round(wall / count),
  }),
);
await cache.close?.();
