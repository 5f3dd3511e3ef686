import type { GuardLogger } from '../guard/index.js';
import type { Metrics } from '../metrics/metrics.js';
import type { BackendHandler } from '../pool/index.js';
import { deadline, type Deadline } from './abort.js';
import { BackendCallError, type Backend, type BackendOutcome } from './backend.js';
import { LogLimiter } from './log-limiter.js';
import { Semaphore } from './semaphore.js';

/** The metrics a backend reports to; the service's Metrics has them. */
export type BackendMetrics = Pick<Metrics, 'backendCalls' | 'backendDuration'>;

export interface ManagedBackendOptions {
  name: string;
  backend: Backend;
  timeoutMs: number;
  maxConcurrent: number;
  /** Tool names guards may call; absent: any. */
  tools?: string[];
  metrics?: BackendMetrics;
  logger: GuardLogger;
  /** Hides configured header values in text that is about to be logged. */
  redact: (text: string) => string;
}

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max)}…` : text);

/**
 * The rules every call to one configured backend goes through, whatever its
 * type: the tools allowlist (checked before anything is sent), at most
 * maxConcurrent calls at once (the others wait, for as long as their deadline
 * allows), a deadline of min(timeoutMs, the guard call's own deadline), and
 * one outcome per call, counted and (failures, rate-limited) logged. A failed
 * call resolves to undefined, which the guard sees as -1.
 */
export class ManagedBackend {
  readonly name: string;
  readonly #options: ManagedBackendOptions;
  readonly #semaphore: Semaphore;
  readonly #allowed: ReadonlySet<string> | undefined;
  readonly #closing = new AbortController();
  readonly #logLimit = new LogLimiter(20);
  #closed: Promise<void> | undefined;

  constructor(options: ManagedBackendOptions) {
    this.name = options.name;
    this.#options = options;
    this.#semaphore = new Semaphore(options.maxConcurrent);
    this.#allowed = options.tools ? new Set(options.tools) : undefined;
  }

  /** Calls in flight and waiting (for tests and diagnostics). */
  get load(): { active: number; waiting: number } {
    return { active: this.#semaphore.active, waiting: this.#semaphore.waiting };
  }

  handlerFor(guard: string): BackendHandler {
    return (tool, argsJson, signal) => this.#call(guard, tool, argsJson, signal);
  }

  async #call(guard: string, tool: string, argsJson: string, signal: AbortSignal): Promise<Uint8Array | string | undefined> {
    if (this.#allowed && !this.#allowed.has(tool)) {
      this.#record(guard, tool, 'disallowed', undefined, 'the tool is not in the backend\'s tools allowlist');
      return undefined;
    }
    const started = performance.now();
    const limit = deadline([signal, this.#closing.signal], this.#options.timeoutMs);
    let release: (() => void) | undefined;
    try {
      release = await this.#semaphore.acquire(limit.signal);
      const reply = await this.#options.backend.call(tool, argsJson, limit.signal);
      this.#record(guard, tool, 'ok', started);
      return reply;
    } catch (error) {
      this.#failed(guard, tool, started, error, limit, signal);
      return undefined;
    } finally {
      release?.();
      limit.dispose();
    }
  }

  #failed(guard: string, tool: string, started: number, error: unknown, limit: Deadline, guardSignal: AbortSignal): void {
    if (error instanceof BackendCallError) {
      this.#record(guard, tool, error.outcome, started, error.message, error.details);
    } else if (this.#closing.signal.aborted) {
      this.#record(guard, tool, 'error', started, 'the backend was closed during the call');
    } else if (limit.signal.aborted) {
      const by = limit.timedOut() ? `the backend timeout (${this.#options.timeoutMs} ms)` : guardSignal.aborted ? "the guard call's deadline" : 'abort';
      this.#record(guard, tool, 'timeout', started, `aborted by ${by}`);
    } else {
      const e = error as { message?: unknown; code?: unknown };
      const message = typeof e?.message === 'string' ? this.#options.redact(clip(e.message, 200)) : String(error);
      this.#record(guard, tool, 'error', started, message, typeof e?.code === 'string' ? { code: e.code } : {});
    }
  }

  #record(guard: string, tool: string, outcome: BackendOutcome, started?: number, reason?: string, details: Record<string, unknown> = {}): void {
    const labels = { guard, backend: this.name };
    this.#options.metrics?.backendCalls.inc({ ...labels, outcome });
    const seconds = started === undefined ? undefined : (performance.now() - started) / 1000;
    if (seconds !== undefined) this.#options.metrics?.backendDuration.observe(labels, seconds);
    const line = { ...labels, tool: clip(tool, 100), outcome, ...(seconds === undefined ? {} : { ms: Math.round(seconds * 1000) }) };
    if (outcome === 'ok') {
      this.#options.logger.debug(line, 'backend call');
      return;
    }
    const allowed = this.#logLimit.take();
    if (!allowed) return;
    this.#options.logger.warn(
      { ...line, ...details, reason, ...(allowed.suppressed > 0 ? { suppressedLines: allowed.suppressed } : {}) },
      'backend call failed; the guard gets -1',
    );
  }

  /** Aborts calls in flight, then closes the backend's sessions and connections. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#closing.abort(new BackendCallError('error', 'the backend is closed'));
      await this.#options.backend.close();
    })();
    return this.#closed;
  }
}
