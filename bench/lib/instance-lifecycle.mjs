#!/usr/bin/env node
/**
 * What one trap costs at the least: with no pool and no HTTP, a fresh
 * GuardInstance of a guard from the compiled module (instantiation with its
 * host imports, WASI included), one call that allocates its output buffer (the
 * guard's memory grows by it, as on a fresh instance's first call) and traps;
 * repeated. It runs in a worker thread, as guards do in the service: V8
 * collects the dead instances' memories by marking the heap of the isolate
 * that made them, and a worker's heap is what that costs.
 *
 * CPU is the whole process's (V8's background thread marks and sweeps), per
 * instance. Major GCs are the worker's mark-compacts: V8 starts one for every
 * few dozen MB of new wasm memory, whatever the heap holds.
 *
 * Usage: node [flags] instance-lifecycle.mjs <guard.wasm> <initialOutputBytes> <count>
 * Prints one JSON line: { initialOutputBytes, count, cpuMsPerInstance, wallMsPerInstance, memoryBytes, instancesPerMajorGc }.
 * Run by the trap scenario with the service's node flags.
 */
import { readFileSync } from 'node:fs';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

if (isMainThread) {
  const [wasmPath, initialOutputBytes, count] = process.argv.slice(2);
  const worker = new Worker(new URL(import.meta.url), { workerData: { wasmPath, initialOutputBytes: Number(initialOutputBytes), count: Number(count) } });
  worker.once('message', (result) => console.log(JSON.stringify(result)));
  worker.once('error', (error) => {
    console.error(error);
    process.exitCode = 1;
  });
} else {
  parentPort.postMessage(await measure(workerData));
}

async function measure({ wasmPath, initialOutputBytes, count }) {
  const { CompilationCache, GuardInstance } = await import('../../dist/guard/index.js');
  const cache = new CompilationCache();
  const guard = await cache.load(readFileSync(wasmPath), { name: 'lifecycle', limits: { initialOutputBytes } });
  const trapping = new TextEncoder().encode(JSON.stringify({ tool_name: 'trap_unreachable', tool_args: {} }));
  let memoryBytes = 0;
  const lifecycle = () => {
    const instance = GuardInstance.create(guard);
    try {
      instance.invoke('label_resource', trapping);
    } catch {
      if (!instance.poisoned) throw new Error('the guard did not trap on trap_unreachable');
      memoryBytes = instance.memoryBytes;
      return;
    }
    throw new Error('the guard returned from trap_unreachable');
  };

  for (let i = 0; i < Math.min(200, count); i++) lifecycle(); // warm-up: code tiered up, heap at its working size
  let majorGcs = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if (entry.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majorGcs++;
  });
  observer.observe({ entryTypes: ['gc'] });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < count; i++) lifecycle();
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await new Promise((resolve) => setTimeout(resolve, 20)); // the observer hears of the loop's collections on a later turn
  observer.disconnect();
  await cache.close?.();
  const round = (v) => Math.round(v * 1000) / 1000;
  return {
    initialOutputBytes,
    count,
    cpuMsPerInstance: round((cpu.user + cpu.system) / 1000 / count),
    wallMsPerInstance: round(wall / count),
    memoryBytes,
    instancesPerMajorGc: majorGcs ? round(count / majorGcs) : null,
  };
}
