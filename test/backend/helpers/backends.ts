import { createBackends, type Backends } from '../../../src/backend/index.js';
import type { BackendConfig } from '../../../src/config/schema.js';
import { Metrics } from '../../../src/metrics/metrics.js';
import type { BackendHandler } from '../../../src/pool/index.js';
import { memoryLogger, type LogLine } from './logs.js';

export interface TestBackends {
  backends: Backends;
  metrics: Metrics;
  lines: LogLine[];
  handler(name: string, guard?: string): BackendHandler;
  /** Calls a backend the way a guard would; replies come back as text (undefined = -1 for the guard). */
  call(name: string, tool: string, args?: unknown, options?: { signal?: AbortSignal; guard?: string }): Promise<string | undefined>;
  /** wasmguard_backend_calls_total for one backend, by outcome. */
  outcomes(name: string, guard?: string): Promise<Record<string, number>>;
}

const decoder = new TextDecoder();

export function testBackends(configs: Record<string, BackendConfig>, env: NodeJS.ProcessEnv = {}): TestBackends {
  const metrics = new Metrics();
  const { logger, lines } = memoryLogger();
  const backends = createBackends(configs, { logger, metrics, env });
  const handler = (name: string, guard = 'g') => backends.get(name)!.handlerFor(guard);
  return {
    backends,
    metrics,
    lines,
    handler,
    async call(name, tool, args = {}, options = {}) {
      const reply = await handler(name, options.guard)(tool, JSON.stringify(args), options.signal ?? AbortSignal.timeout(10_000));
      return reply instanceof Uint8Array ? decoder.decode(reply) : reply;
    },
    async outcomes(name, guard = 'g') {
      const out: Record<string, number> = {};
      for (const v of (await metrics.backendCalls.get()).values) {
        if (v.labels.backend === name && v.labels.guard === guard) out[String(v.labels.outcome)] = v.value;
      }
      return out;
    },
  };
}
