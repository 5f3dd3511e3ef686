import { pino, type Logger } from 'pino';
import type { ResolvedGuard } from '../config/load.js';
import { SERVER_DEFAULTS } from '../config/settings.js';
import { DecisionService } from '../decision/decision-service.js';
import type { Mode } from '../difc/types.js';
import { CompilationCache } from '../guard/index.js';
import type { BackendHandler } from '../pool/index.js';
import { GuardRegistry } from '../runtime/guard-registry.js';
import { UsageError } from './io.js';

/**
 * The service's guard runtime without HTTP: the same compilation cache,
 * worker pools and decision pipeline that `wasmguard serve` puts behind its
 * routes, for the commands that run guards from the command line.
 */
export interface GuardRuntime {
  decisions: DecisionService;
  registry: GuardRegistry;
  close(): Promise<void>;
}

/** Guard logs go to stderr, never mixed into a command's report on stdout. */
export function cliLogger(level: string): Logger {
  const levels = [...Object.keys(pino.levels.values), 'silent'];
  if (!levels.includes(level)) throw new UsageError(`--log-level must be one of ${levels.join(', ')}, got ${JSON.stringify(level)}`);
  return pino({ level, base: { service: 'wasmguard' } }, pino.destination({ dest: 2, sync: true }));
}

export async function openGuardRuntime(
  guards: ResolvedGuard[],
  options: { logger: Logger; defaultMode?: Mode; backendFor?: (guard: ResolvedGuard) => BackendHandler | undefined },
): Promise<GuardRuntime> {
  const cache = new CompilationCache();
  let registry: GuardRegistry;
  try {
    registry = await GuardRegistry.load(guards, cache, {
      logger: options.logger,
      logLevel: options.logger.level,
      ...(options.backendFor ? { backendFor: options.backendFor } : {}),
    });
  } catch (error) {
    await cache.close();
    throw error;
  }
  const decisions = new DecisionService(registry, options.defaultMode ?? SERVER_DEFAULTS.defaultMode);
  return {
    decisions,
    registry,
    async close() {
      await registry.close(0);
      await cache.close();
    },
  };
}
