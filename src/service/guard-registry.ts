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
}

/** The loaded guards, by name. Owns their pools; the compilation cache is shared and closed by its owner, last. */
export class GuardRegistry {
  readonly #guards = new Map<string, GuardHandle>();

  private constructor(readonly cache: CompilationCache) {}

  static async load(guards: ResolvedGuard[], cache: CompilationCache, options: RegistryOptions): Promise<GuardRegistry> {
    const registry = new GuardRegistry(cache);
    try {
      for (const guard of guards) registry.#guards.set(guard.name, await GuardRegistry.#loadOne(guard, cache, options));
    } catch (error) {
      await registry.close(0);
      throw error;
    }
    return registry;
  }

  static async #loadOne(guard: ResolvedGuard, cache: CompilationCache, options: RegistryOptions): Promise<GuardHandle> {
    let bytes: Buffer;
    try {
      bytes = await readFile(guard.path);
    } catch (error) {
      throw new GuardLoadError(`guard ${guard.name}: cannot read ${guard.path}: ${(error as NodeJS.ErrnoException).code ?? error}`, {
        guard: guard.name,
      });
    }
    const compiled = await cache.load(bytes, {
      name: guard.name,
      limits: { ...guard.limits, memoryLimitBytes: guard.memoryLimitMb * 1024 * 1024 },
      ...(guard.sha256 ? { expectedSha256: guard.sha256 } : {}),
    });
    const pool = await GuardPool.start(compiled, {
      size: guard.poolSize,
      timeoutMs: guard.timeoutMs,
      maxQueue: guard.maxQueue,
      queueTimeoutMs: guard.queueTimeoutMs,
      logger: options.logger,
      logLevel: options.logLevel,
      observer: options.observer,
      backend: options.backendFor?.(guard),
    });
    options.logger.info({ guard: guard.name, digest: compiled.digest, poolSize: pool.state().size }, 'guard loaded');
    return new GuardHandle(guard, compiled, pool);
  }

  get(name: string): GuardHandle | undefined {
    return this.#guards.get(name);
  }

  list(): GuardHandle[] {
    return [...this.#guards.values()];
  }

  get healthy(): boolean {
    return this.list().every((g) => g.pool.healthy);
  }

  /** Drains and closes every pool; the compilation cache stays open for its owner to close after. */
  async close(graceMs: number): Promise<void> {
    await Promise.all(this.list().map((g) => g.pool.close(graceMs)));
  }
}
