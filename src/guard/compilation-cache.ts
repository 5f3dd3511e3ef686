import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { CompilationCacheClosedError, GuardLoadError } from './errors.js';
import { resolveLimits, type GuardLimits } from './limits.js';
import { validateGuard, type GuardShape } from './validate.js';
import { capMemory, parseModule, WASM_PAGE_BYTES, WasmFormatError } from './wasm-binary.js';

/** A validated, compiled guard: what instances are made from, in any thread. */
export interface CompiledGuard {
  name: string;
  /** SHA-256 (hex) of the module bytes as loaded, before the memory cap is applied. */
  digest: string;
  module: WebAssembly.Module;
  shape: GuardShape;
  limits: GuardLimits;
  sizeBytes: number;
}

export interface CompilationCacheStats {
  hits: number;
  misses: number;
  entries: number;
  compileMsTotal: number;
}

export interface LoadOptions {
  name: string;
  limits?: Partial<GuardLimits>;
  /** Refuse the module unless its SHA-256 is this (hex). */
  expectedSha256?: string;
}

/** The memory cap is written into the binary, so it is part of what was compiled. */
function cacheKey(digest: string, memoryLimitBytes: number): string {
  return `${digest}:${Math.floor(memoryLimitBytes / WASM_PAGE_BYTES)}`;
}

type CompileListener = (event: { hit: boolean; compileMs: number }) => void;

/**
 * Compiles each module once per content digest (and memory cap, since the cap
 * is written into the binary) and shares the `WebAssembly.Module`, which can be
 * posted to workers without recompiling.
 */
export class CompilationCache {
  #entries = new Map<string, Promise<{ module: WebAssembly.Module; shape: GuardShape }>>();
  /** Loads not yet released, by key: a module leaves the cache when its last user releases it (hot reload). */
  #users = new Map<string, number>();
  #closed = false;
  #stats = { hits: 0, misses: 0, compileMsTotal: 0 };
  #listeners: CompileListener[] = [];

  onCompile(listener: CompileListener): void {
    this.#listeners.push(listener);
  }

  get closed(): boolean {
    return this.#closed;
  }

  stats(): CompilationCacheStats {
    return { ...this.#stats, entries: this.#entries.size };
  }

  async load(bytes: Uint8Array, options: LoadOptions): Promise<CompiledGuard> {
    if (this.#closed) throw new CompilationCacheClosedError();
    const { name } = options;
    const limits = resolveLimits(options.limits);
    const digest = createHash('sha256').update(bytes).digest('hex');
    if (options.expectedSha256 && options.expectedSha256.toLowerCase() !== digest) {
      throw new GuardLoadError(
        `guard ${name}: module SHA-256 is ${digest}, but the configuration requires ${options.expectedSha256.toLowerCase()}`,
        { guard: name },
      );
    }
    const key = cacheKey(digest, limits.memoryLimitBytes);
    let entry = this.#entries.get(key);
    const hit = entry !== undefined;
    if (!entry) {
      entry = this.#compile(bytes, name, Math.floor(limits.memoryLimitBytes / WASM_PAGE_BYTES));
      this.#entries.set(key, entry);
      // A module that failed to load must not stay cached as a failure.
      entry.catch(() => {
        if (this.#entries.get(key) === entry) this.#entries.delete(key);
      });
    }
    const { module, shape } = await entry;
    this.#users.set(key, (this.#users.get(key) ?? 0) + 1);
    if (hit) {
      this.#stats.hits++;
      for (const l of this.#listeners) l({ hit: true, compileMs: 0 });
    }
    return { name, digest, module, shape, limits, sizeBytes: bytes.length };
  }

  async #compile(bytes: Uint8Array, name: string, maxPages: number) {
    const started = performance.now();
    let capped: Uint8Array;
    let shape: GuardShape;
    try {
      shape = validateGuard(parseModule(bytes), name);
      capped = capMemory(bytes, maxPages);
    } catch (error) {
      if (error instanceof WasmFormatError) throw new GuardLoadError(`guard ${name}: ${error.message}`, { guard: name });
      throw error;
    }
    let module: WebAssembly.Module;
    try {
      module = await WebAssembly.compile(capped as Uint8Array<ArrayBuffer>);
    } catch (error) {
      throw new GuardLoadError(`guard ${name}: WebAssembly compilation failed: ${(error as Error).message}`, {
        guard: name,
        cause: error,
      });
    }
    const compileMs = performance.now() - started;
    this.#stats.misses++;
    this.#stats.compileMsTotal += compileMs;
    for (const l of this.#listeners) l({ hit: false, compileMs });
    return { module, shape };
  }

  /**
   * Gives back one load of `guard`: when no load of its module is left (its
   * last pool has closed), the module leaves the cache and can be collected.
   */
  release(guard: CompiledGuard): void {
    const key = cacheKey(guard.digest, guard.limits.memoryLimitBytes);
    const users = (this.#users.get(key) ?? 0) - 1;
    if (users > 0) {
      this.#users.set(key, users);
      return;
    }
    this.#users.delete(key);
    this.#entries.delete(key);
  }

  /** Drops every compiled module; later loads fail with CompilationCacheClosedError. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled(this.#entries.values());
    this.#entries.clear();
    this.#users.clear();
  }
}
