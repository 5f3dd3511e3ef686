import { createRequire } from 'node:module';
import type { WASI as WasiClass } from 'node:wasi';

let WASI: typeof WasiClass | undefined;
let nodeWasiFunctions: ReadonlySet<string> | undefined;

export type WasiImports = Record<string, (...args: number[]) => number>;

/** The one warning loading node:wasi emits ("WASI is an experimental feature ..."), and nothing else. */
export function isWasiExperimentalWarning(warning: string | Error, typeOrOptions: unknown): boolean {
  const type = typeof typeOrOptions === 'string' ? typeOrOptions : (typeOrOptions as { type?: unknown } | undefined)?.type;
  const name = warning instanceof Error ? warning.name : type;
  const message = warning instanceof Error ? warning.message : warning;
  return name === 'ExperimentalWarning' && /^WASI\b/.test(message);
}

/**
 * Loads node:wasi on first use without its ExperimentalWarning: the warning
 * would print on every start and in every worker, and says nothing an
 * operator can act on (preview1 is what guards target, and it is frozen).
 * Only that warning is dropped; any other warning emitted meanwhile passes.
 */
function loadWasi(): typeof WasiClass {
  if (WASI) return WASI;
  const emitWarning = process.emitWarning;
  process.emitWarning = function (this: NodeJS.Process, warning: string | Error, ...rest: unknown[]) {
    if (isWasiExperimentalWarning(warning, rest[0])) return;
    return (emitWarning as (...args: unknown[]) => void).call(this, warning, ...rest);
  } as typeof process.emitWarning;
  try {
    WASI = (createRequire(import.meta.url)('node:wasi') as typeof import('node:wasi')).WASI;
  } finally {
    process.emitWarning = emitWarning;
  }
  return WASI;
}

/** The preview1 functions node:wasi implements (listed once per thread). */
export function wasiFunctionNames(): ReadonlySet<string> {
  if (nodeWasiFunctions) return nodeWasiFunctions;
  const importObject = new (loadWasi())({ version: 'preview1', returnOnExit: true }).getImportObject() as { wasi_snapshot_preview1: object };
  nodeWasiFunctions = new Set(Object.keys(importObject.wasi_snapshot_preview1));
  return nodeWasiFunctions;
}

/**
 * node:wasi's preview1 functions for one instance, created and bound to the
 * instance's memory at the first call of any of them: a node:wasi object
 * with its import object costs about 0.1 ms to create and more to collect,
 * for every instance, and each trap makes a new instance.
 */
export function lazyNodeWasi(guard: string, memory: () => WebAssembly.Memory): () => WasiImports {
  let native: WasiImports | undefined;
  return () => {
    if (native) return native;
    // returnOnExit must stay true: false makes proc_exit end the whole process, even from a worker.
    const wasi = new (loadWasi())({ version: 'preview1', args: [guard], env: {}, preopens: {}, returnOnExit: true });
    // Given only the memory: Node's initialize() refuses modules exporting _start and would itself
    // call _initialize, and we decide about both ourselves.
    wasi.initialize({ exports: { memory: memory() } });
    native = (wasi.getImportObject() as { wasi_snapshot_preview1: unknown }).wasi_snapshot_preview1 as WasiImports;
    return native;
  };
}
