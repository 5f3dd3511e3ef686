#!/usr/bin/env node
/**
 * What a trap costs the guard runtime alone, with no pool and no HTTP, in a
 * worker thread as guards run in the service (V8 reclaims the memories of
 * dead instances by marking the heap of the isolate that made them, and a
 * worker's heap is what that costs).
 *
 * Two loops on the Rust fixture guard, alternated:
 * - traps: a fresh GuardInstance (instantiated with its host imports, WASI
 *   included), given the policy, `every - 1` healthy label_resource calls,
 *   then one call that traps; repeated `count` times;
 * - reference: the same healthy calls, as many, on one instance that never traps.
 * The difference in CPU, per trap, is what a trap costs at the least at one
 * request in `every`. Also measured: a fresh instance with no calls between
 * (instantiation, first output buffer, trap, back to back); it costs less,
 * and its worker marks the heap less often for the same wasm memory.
 *
 * CPU is the whole process's (V8's background thread marks and sweeps). Major
 * GCs are the worker's mark-compacts: V8 starts one for every few dozen MB of
 * new wasm memory.
 *
 * Usage: node [flags] instance-lifecycle.mjs <guard.wasm> <initialOutputBytes> <count> [every=100]
 * Prints one JSON line: { initialOutputBytes, count, every, cpuMsPerTrap, cpuMsPerInstanceAlone,
 * memoryBytes, instancesPerMajorGc }. Run by the trap scenario with the service's node flags.
 */
import { readFileSync } from 'node:fs';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { RUST_POLICY } from './payloads.mjs';

if (isMainThread) {
  const [wasmPath, initialOutputBytes, count, every = '100'] = process.argv.slice(2);
  const options = { wasmPath, initialOutputBytes: Number(initialOutputBytes), count: Number(count), every: Number(every) };
  const worker = new Worker(new URL(import.meta.url), { workerData: options });
  worker.once('message', (result) => console.log(JSON.stringify(result)));
  worker.once('error', (error) => {
    console.error(error);
    process.exitCode = 1;
  });
} else {
  parentPort.postMessage(await measure(workerData));
}

async function measure({ wasmPath, initialOutputBytes, count, every }) {
  const { CompilationCache, GuardInstance } = await import('../../dist/guard/index.js');
  const cache = new CompilationCache();
  const guard = await cache.load(readFileSync(wasmPath), { name: 'lifecycle', limits: { initialOutputBytes } });
  const encode = (value) => new TextEncoder().encode(JSON.stringify(value));
  const policy = encode(RUST_POLICY);
  const healthy = encode({ tool_name: 'get_issue', tool_args: { owner: 'octo-org', repo: 'app' } });
  const trapping = encode({ tool_name: 'trap_unreachable', tool_args: {} });
  let memoryBytes = 0;

  const trap = (instance) => {
    try {
      instance.invoke('label_resource', trapping);
    } catch {
      if (!instance.poisoned) throw new Error('the guard did not trap on trap_unreachable');
      memoryBytes = instance.memoryBytes;
      return;
    }
    throw new Error('the guard returned from trap_unreachable');
  };
  const withTraps = () => {
    const instance = GuardInstance.create(guard);
    instance.applyPolicy(policy);
    for (let i = 1; i < every; i++) instance.invoke('label_resource', healthy);
    trap(instance);
  };
  const survivor = GuardInstance.create(guard);
  survivor.applyPolicy(policy);
  const reference = () => {
    for (let i = 0; i < every; i++) survivor.invoke('label_resource', healthy);
  };
  const alone = () => trap(GuardInstance.create(guard));

  let majorGcs = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if (entry.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majorGcs++;
  });
  /** CPU of `n` runs of `fn` (whole process, ms), and the worker's mark-compacts meanwhile. */
  const cpuOf = async (fn, n) => {
    const gcsBefore = majorGcs;
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < n; i++) fn();
    const cpu = process.cpuUsage(cpu0);
    await new Promise((resolve) => setTimeout(resolve, 20)); // the observer hears of the loop's collections on a later turn
    return { ms: (cpu.user + cpu.system) / 1000, majorGcs: majorGcs - gcsBefore };
  };

  // Warm-up: code tiered up, heap at its working size.
  for (const fn of [withTraps, reference, alone]) await cpuOf(fn, Math.min(50, count));
  observer.observe({ entryTypes: ['gc'] });
  // Alternated halves, so drift in the machine falls on both loops alike.
  let trapsMs = 0;
  let referenceMs = 0;
  let trapGcs = 0;
  const half = Math.ceil(count / 2);
  for (let pass = 0; pass < 2; pass++) {
    const t = await cpuOf(withTraps, half);
    trapsMs += t.ms;
    trapGcs += t.majorGcs;
    referenceMs += (await cpuOf(reference, half)).ms;
  }
  const aloneMs = (await cpuOf(alone, count)).ms;
  observer.disconnect();
  await cache.close?.();
  const round = (v) => Math.round(v * 1000) / 1000;
  return {
    initialOutputBytes,
    count,
    every,
    cpuMsPerTrap: round((trapsMs - referenceMs) / (2 * half)),
    cpuMsPerInstanceAlone: round(aloneMs / count),
    memoryBytes,
    instancesPerMajorGc: trapGcs ? round((2 * half) / trapGcs) : null,
  };
}
