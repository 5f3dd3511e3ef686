import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { WasmGuardError } from '../errors.js';
import type { ResolvedConfig, ResolvedGuard } from '../config/load.js';
import type { GuardHandle } from './guard-handle.js';
import { readGuardFile, type GuardRegistry } from './guard-registry.js';

export type ReloadResult = 'added' | 'updated' | 'unchanged' | 'removed' | 'failed';

export interface GuardReload {
  guard: string;
  result: ReloadResult;
  /** The digest serving after the reload (absent for a removed guard, or a new one that failed). */
  digest?: string;
  /** The digest that served before, when it changed or the change failed. */
  previous_digest?: string;
  /** The version serving after the reload. */
  version?: number;
  /** Why a guard failed: the compile, validation, digest pin or pool start error. */
  reason?: string;
}

export interface ReloadReport {
  trigger: string;
  guards: GuardReload[];
}

/** The configuration could not be read again: nothing was changed. */
export class ReloadConfigError extends WasmGuardError {
  readonly code = 'WG_ERR_RELOAD_CONFIG';
}

/** What a reload reports per guard; the metrics module implements it (the runtime does not know about metrics). */
export interface ReloadObserver {
  guardReloaded(guard: string, result: ReloadResult): void;
}

export interface ReloaderOptions {
  registry: GuardRegistry;
  /** Reads the configuration again (the same flags, environment and files as at start). */
  readConfig: () => ResolvedConfig;
  logger: Logger;
  observer?: ReloadObserver;
}

/** Settings of a guard that need a new pool when they change (the module itself is compared by digest); key order does not count. */
function settingsOf(guard: ResolvedGuard): string {
  return JSON.stringify(guard, (_key, value: unknown) =>
    value && typeof value === 'object' && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : value,
  );
}

/**
 * Hot reload (docs/contract.md §5): reads the configuration again and, per
 * guard, compiles, validates and warms the new version before it replaces the
 * old one. A guard that fails any step keeps its old version serving.
 * Reloads run one at a time; triggers that arrive during a reload are folded
 * into one more reload after it, since the files may have changed again.
 */
export class Reloader {
  #running: Promise<ReloadReport> | undefined;
  #next: Promise<ReloadReport> | undefined;

  constructor(readonly options: ReloaderOptions) {}

  reload(trigger: string): Promise<ReloadReport> {
    if (!this.#running) return this.#start(trigger);
    this.#next ??= this.#running
      .catch(() => undefined)
      .then(() => {
        this.#next = undefined;
        return this.#start(trigger);
      });
    return this.#next;
  }

  /** Resolves when no reload is running or waiting (shutdown waits for it). */
  async settled(): Promise<void> {
    while (this.#running || this.#next) await Promise.allSettled([this.#running, this.#next]);
  }

  #start(trigger: string): Promise<ReloadReport> {
    const running = this.#reload(trigger).finally(() => {
      if (this.#running === running) this.#running = undefined;
    });
    this.#running = running;
    return running;
  }

  async #reload(trigger: string): Promise<ReloadReport> {
    const { registry, logger, observer } = this.options;
    let config: ResolvedConfig;
    try {
      config = this.options.readConfig();
    } catch (error) {
      logger.error({ trigger, err: error }, 'reload: configuration cannot be read; every guard keeps serving as it was');
      throw new ReloadConfigError(`reload: ${(error as Error).message}`);
    }
    logger.info({ trigger }, 'reload: started');
    const guards: GuardReload[] = [];
    const wanted = new Set(config.guards.map((g) => g.name));
    for (const guard of config.guards) guards.push(await this.#reloadOne(guard, registry.get(guard.name)));
    for (const current of registry.list()) {
      if (wanted.has(current.name)) continue;
      registry.remove(current.name);
      guards.push({ guard: current.name, result: 'removed', previous_digest: current.compiled.digest });
    }
    for (const g of guards) {
      observer?.guardReloaded(g.guard, g.result);
      const line = { trigger, ...g };
      if (g.result === 'failed') logger.error(line, 'reload: guard failed; its previous version keeps serving');
      else if (g.result !== 'unchanged') logger.info(line, `reload: guard ${g.result}`);
    }
    logger.info({ trigger, changed: guards.filter((g) => g.result !== 'unchanged').length }, 'reload: finished');
    return { trigger, guards };
  }

  async #reloadOne(guard: ResolvedGuard, current: GuardHandle | undefined): Promise<GuardReload> {
    const { registry } = this.options;
    const previous = current ? { previous_digest: current.compiled.digest } : {};
    let next: GuardHandle | undefined;
    try {
      const bytes = await readGuardFile(guard);
      const digest = createHash('sha256').update(bytes).digest('hex');
      if (current && current.compiled.digest === digest && settingsOf(current.config) === settingsOf(guard)) {
        return { guard: guard.name, result: 'unchanged', digest, version: current.version };
      }
      // A guard that grew under load keeps its instances across the swap (poolWarm unset: all of them start anyway);
      // they are still stopped once idle, down to poolWarm.
      const initial = current && guard.poolWarm !== undefined ? Math.max(guard.poolWarm, current.pool.started) : guard.poolWarm;
      next = await registry.start(guard, bytes, current ? current.version + 1 : 1, initial);
    } catch (error) {
      return {
        guard: guard.name,
        result: 'failed',
        ...previous,
        ...(current ? { digest: current.compiled.digest, version: current.version } : {}),
        reason: (error as Error).message,
      };
    }
    registry.replace(next);
    return { guard: guard.name, result: current ? 'updated' : 'added', digest: next.compiled.digest, ...previous, version: next.version };
  }
}
