import { readFile } from 'node:fs/promises';
import { CompilationCache, GuardLoadError, type GuardLogger } from '../guard/index.js';
import { GuardPool, type BackendHandler, type PoolObserver } from '../pool/index.js';
import type { ResolvedGuard } from '../config/load.js';
import { GuardHandle } from './guard-handle.js';

export interface RegistryOptions {
  logger: GuardLogger;
  logLevel: string;
  observer?: PoolObserver;
  /** The backend a guard's call_backend reaches, by guard; none = -1 for every call. */
  backendFor?: (guard: ResolvedGuard) => BackendHandler | undefined;
  /** How long a replaced guard version may take to finish its calls before its workers are stopped. */
  graceMs?: number;
}

/** Reads a guard's module file, naming the guard and path when it cannot. */
export async function readGuardFile(guard: ResolvedGuard): Promise<Buffer> {
  try {
    return await readFile(guard.path);
  } catch (error) {
    throw new GuardLoadError(`guard ${guard.name}: cannot read ${guard.path}: ${(error as NodeJS.ErrnoException).code ?? error}`, {
      guard: guard.name,
    });
  }
}

/**
 * The loaded guards, by name. Owns their pools; the compilation cache is
 * shared and closed by its owner, last. A reload swaps a guard's handle in one
 * step: new requests get the new version, requests already holding the old
 * one finish on it, then its pool drains and closes and its module is
 * released from the cache.
 */
export class GuardRegistry {
  readonly #guards = new Map<string, GuardHandle>();
  /** Replaced or removed versions still finishing their requests. */
  readonly #retiring = new Map<GuardHandle, Promise<void>>();

  private constructor(
    readonly cache: CompilationCache,
    readonly options: RegistryOptions,
  ) {}

  static async load(guards: ResolvedGuard[], cache: CompilationCache, options: RegistryOptions): Promise<GuardRegistry> {
    const registry = new GuardRegistry(cache, options);
    try {
      for (const guard of guards) registry.#guards.set(guard.name, await registry.start(guard, await readGuardFile(guard)));
    } catch (error) {
      await registry.close(0);
      throw error;
    }
    return registry;
  }

  /**
   * Compiles and validates (digest pin included) a guard and starts its pool, without serving it yet:
   * `initial` instances (a reload passes what the version it replaces has grown to, so a guard under load
   * does not drop back to one instance); its warm ones stay `guard.poolWarm`.
   */
  async start(guard: ResolvedGuard, bytes: Uint8Array, version = 1, initial = guard.poolWarm): Promise<GuardHandle> {
    const { cache, options } = this;
    const compiled = await cache.load(bytes, {
      name: guard.name,
      limits: { ...guard.limits, memoryLimitBytes: guard.memoryLimitMb * 1024 * 1024 },
      ...(guard.sha256 ? { expectedSha256: guard.sha256 } : {}),
    });
    let pool: GuardPool;
    try {
      pool = await GuardPool.start(compiled, {
        size: guard.poolSize,
        warm: guard.poolWarm,
        initial,
        idleMs: guard.poolIdleMs,
        timeoutMs: guard.timeoutMs,
        maxQueue: guard.maxQueue,
        queueTimeoutMs: guard.queueTimeoutMs,
        logger: options.logger,
        logLevel: options.logLevel,
        observer: options.observer,
        backend: options.backendFor?.(guard),
      });
    } catch (error) {
      cache.release(compiled);
      throw error;
    }
    options.logger.info({ guard: guard.name, digest: compiled.digest, version, poolSize: pool.state().size }, 'guard loaded');
    return new GuardHandle(guard, compiled, pool, version);
  }

  /** Serves `next` from now on under its name; the version it replaces (if any) retires. */
  replace(next: GuardHandle): void {
    const previous = this.#guards.get(next.name);
    this.#guards.set(next.name, next);
    if (previous) this.#retire(previous);
  }

  /** Stops serving a guard: new requests get 404; requests already deciding with it finish. */
  remove(name: string): GuardHandle | undefined {
    const previous = this.#guards.get(name);
    if (!previous) return undefined;
    this.#guards.delete(name);
    this.#retire(previous);
    return previous;
  }

  #retire(handle: GuardHandle): void {
    const done = handle
      .retire(this.options.graceMs ?? 10_000)
      .catch((error: unknown) => this.options.logger.warn({ guard: handle.name, err: error }, 'retired guard pool did not close cleanly'))
      .finally(() => {
        this.cache.release(handle.compiled);
        this.#retiring.delete(handle);
        this.options.logger.info({ guard: handle.name, digest: handle.compiled.digest, version: handle.version }, 'guard version retired');
      });
    this.#retiring.set(handle, done);
  }

  get(name: string): GuardHandle | undefined {
    return this.#guards.get(name);
  }

  list(): GuardHandle[] {
    return [...this.#guards.values()];
  }

  /** Versions replaced or removed by a reload whose pools are still draining. */
  retiring(): GuardHandle[] {
    return [...this.#retiring.keys()];
  }

  get healthy(): boolean {
    return this.list().every((g) => g.pool.healthy);
  }

  /** Drains and closes every pool, retiring ones included; the compilation cache stays open for its owner to close after. */
  async close(graceMs: number): Promise<void> {
    await Promise.all([
      ...this.list().map(async (g) => {
        await g.pool.close(graceMs);
        this.cache.release(g.compiled);
      }),
      ...this.#retiring.values(),
    ]);
  }
}
