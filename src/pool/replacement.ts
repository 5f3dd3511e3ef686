import type { Replacement } from './instance-lifecycle.js';
import type { EvictionReason } from './observer.js';
import type { Slot } from './scheduler.js';
import type { WorkerHost } from './worker-host.js';

export interface ReplacerOptions {
  /** After the first new-worker replacement, keep one started worker in reserve, so the next is replaced in microseconds. */
  spare: boolean;
  /** Bounds a new instance's start in a live worker, as it bounds a call. */
  timeoutMs: number;
  newHost: () => WorkerHost;
  closing: () => boolean;
  /** The slot is served by `slot.host` from now on: watch it. */
  attached: (slot: Slot) => void;
  /** The slot's new instance is ready. */
  replaced: (slot: Slot, reason: EvictionReason) => void;
  /** The slot's new instance or worker could not start. */
  startFailed: (slot: Slot, error: unknown) => void;
}

/**
 * Carries out the replacement instance-lifecycle.ts decided for a stopped
 * instance (the in-batch one is the worker's): a new instance in the same
 * worker, or a started worker — the spare when it is ready, else a new
 * one — after the backoff delay. Owns the spare worker (started by the first
 * new-worker replacement) and the backoff timers.
 */
export class Replacer {
  readonly #timers = new Set<NodeJS.Timeout>();
  #spare: WorkerHost | undefined;

  constructor(readonly options: ReplacerOptions) {}

  carryOut(slot: Slot, replacement: Exclude<Replacement, { path: 'in-batch' }>, reason: EvictionReason): void {
    if (replacement.path === 'same-worker') this.#later(replacement.delayMs, () => this.#reset(slot, reason));
    else {
      // The old worker is not trusted again: it goes now, whatever the delay of its replacement.
      slot.poison();
      const old = slot.host;
      slot.host = undefined;
      void old?.terminate();
      this.#later(replacement.delayMs, () => this.#newWorker(slot, reason));
    }
  }

  /**
   * Starts the spare worker if there is none (a spare that fails to start is dropped, and the next
   * replacement starts one). Called by each new-worker replacement only: a pool that never loses a
   * worker never pays for a spare.
   */
  #refillSpare(): void {
    if (!this.options.spare || this.options.closing() || this.#spare) return;
    const spare = this.options.newHost();
    this.#spare = spare;
    spare.ready.catch(() => {
      if (this.#spare === spare) this.#spare = undefined;
    });
  }

  /** Cancels the replacements waiting out their backoff; returns the spare worker, for the caller to terminate. */
  stop(): WorkerHost | undefined {
    for (const timer of this.#timers) clearTimeout(timer);
    const spare = this.#spare;
    this.#spare = undefined;
    return spare;
  }

  #later(delayMs: number, fn: () => Promise<void>): void {
    if (delayMs === 0) return void queueMicrotask(() => void fn());
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      void fn();
    }, delayMs);
    this.#timers.add(timer);
  }

  /** Instantiation from the cached module in the worker that is already running: microseconds. */
  async #reset(slot: Slot, reason: EvictionReason): Promise<void> {
    if (this.options.closing()) return;
    slot.starting();
    try {
      await slot.host!.reset(this.options.timeoutMs);
      this.options.replaced(slot, reason);
    } catch (error) {
      this.options.startFailed(slot, error);
    }
  }

  async #newWorker(slot: Slot, reason: EvictionReason): Promise<void> {
    if (this.options.closing()) return;
    slot.starting();
    let host = this.#spare;
    this.#spare = undefined;
    if (!host || host.exited) host = this.options.newHost();
    this.#refillSpare();
    try {
      await host.ready;
    } catch (error) {
      void host.terminate();
      this.options.startFailed(slot, error);
      return;
    }
    if (this.options.closing()) return void host.terminate();
    slot.host = host;
    this.options.attached(slot);
    this.options.replaced(slot, reason);
  }
}
