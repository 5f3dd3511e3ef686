import type { FastifyReply, FastifyRequest } from 'fastify';
import { httpError, sendError } from './errors.js';

/**
 * Tool results in flight, bounded by their bytes on the wire.
 *
 * A /v1/evaluate/response body is parsed, its MCP text parsed again under
 * the guard's rules, escaped for the guard and rebuilt for the agent: a
 * result holds about 30 times its bytes of heap until its reply is sent,
 * while two guard instances and one event loop serve only a few at a time.
 * Unbounded, 1,000-item results (700 KB) at 32 connections peaked at 479 MB
 * RSS; with the default 2 MiB budget, 350 MB, and faster (issue 20).
 *
 * So a response check is admitted before its body is read. One whose bytes
 * would take the results in flight past the budget waits, first come first
 * served, with its body unread: Node reads at most a socket buffer of it and
 * TCP holds the rest back. A body larger than the whole budget is admitted
 * when nothing else is in flight. A check waits at most `maxWaitMs`, then
 * gets 503 WG_ERR_OVERLOADED with Retry-After; a client that goes away stops
 * waiting.
 */
export class ByteBudget {
  #inFlight = 0;
  readonly #waiting: Array<{ bytes: number; admit: () => void }> = [];

  constructor(readonly budgetBytes: number) {
    if (!Number.isInteger(budgetBytes) || budgetBytes < 1) throw new RangeError(`byte budget must be a positive integer, got ${budgetBytes}`);
  }

  /** Bytes admitted and not yet released. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Requests waiting to be admitted. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** The release function (idempotent) when `bytes` fit now and nobody waits before them, else undefined. */
  tryAcquire(bytes: number): (() => void) | undefined {
    return this.#waiting.length === 0 && this.#fits(bytes) ? this.#take(bytes) : undefined;
  }

  /**
   * Resolves, once `bytes` fit, to the release function (idempotent), or to
   * undefined when `timeoutMs` passes first; rejects with the signal's reason
   * when it fires first. Whichever way it leaves the line, nothing of the wait
   * is left behind: a timer that outlived each admitted wait (as
   * AbortSignal.timeout's does) held 3,486 timers and signals at 64
   * connections of 70 KB results (issue 20).
   */
  acquire(bytes: number, options?: { signal?: AbortSignal }): Promise<() => void>;
  acquire(bytes: number, options: { signal?: AbortSignal; timeoutMs: number }): Promise<(() => void) | undefined>;
  acquire(bytes: number, { signal, timeoutMs }: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<(() => void) | undefined> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const now = this.tryAcquire(bytes);
    if (now) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const stopWaiting = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const entry = {
        bytes,
        admit: () => {
          stopWaiting();
          resolve(this.#take(bytes));
        },
      };
      const leave = () => {
        stopWaiting();
        const i = this.#waiting.indexOf(entry);
        if (i >= 0) this.#waiting.splice(i, 1);
        // The one that gave up may have been holding the line for smaller ones behind it.
        this.#admitWaiting();
      };
      const onAbort = () => {
        leave();
        reject(signal!.reason);
      };
      this.#waiting.push(entry);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          leave();
          resolve(undefined);
        }, timeoutMs);
      }
    });
  }

  #fits(bytes: number): boolean {
    return this.#inFlight === 0 || this.#inFlight + bytes <= this.budgetBytes;
  }

  #take(bytes: number): () => void {
    this.#inFlight += bytes;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#inFlight -= bytes;
      this.#admitWaiting();
    };
  }

  /** In order: one that does not fit yet keeps those behind it waiting too (no overtaking). */
  #admitWaiting(): void {
    while (this.#waiting.length > 0 && this.#fits(this.#waiting[0]!.bytes)) this.#waiting.shift()!.admit();
  }
}

export interface ResultAdmissionOptions {
  budget: ByteBudget;
  /** What a body without a Content-Length (chunked) counts as: it may be this large. */
  bodyLimitBytes: number;
  maxWaitMs: number;
}

/**
 * The onRequest hook of /v1/evaluate/response: admits the request against
 * the budget by its Content-Length, and releases its bytes when its reply is
 * sent or its connection closes, whichever comes first.
 */
export function resultAdmission({ budget, bodyLimitBytes, maxWaitMs }: ResultAdmissionOptions) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | void> => {
    const declared = Number(request.headers['content-length']);
    const bytes = Number.isSafeInteger(declared) && declared >= 0 ? Math.min(declared, bodyLimitBytes) : bodyLimitBytes;
    // The usual case under the budget: no signals or timer per request.
    const turn = budget.tryAcquire(bytes) ?? (await waitForTurn(budget, bytes, maxWaitMs, reply));
    if (typeof turn === 'function') reply.raw.once('close', turn);
    // Nobody is left to answer: the request goes no further.
    else if (turn === 'gone') throw new Error('client closed the connection while its tool result waited to be checked');
    else {
      return sendError(
        reply,
        httpError(
          'WG_ERR_OVERLOADED',
          `tool results in flight at the limit of ${budget.budgetBytes} bytes (WASMGUARD_RESULT_BYTES_IN_FLIGHT) for ${maxWaitMs} ms; retry later`,
        ),
      );
    }
  };
}

/** Waits for the bytes (then their release function) at most `maxWaitMs`, or until the client goes away. */
async function waitForTurn(budget: ByteBudget, bytes: number, maxWaitMs: number, reply: FastifyReply): Promise<(() => void) | 'timeout' | 'gone'> {
  const gone = new AbortController();
  const onClose = () => gone.abort();
  reply.raw.once('close', onClose);
  try {
    return (await budget.acquire(bytes, { signal: gone.signal, timeoutMs: maxWaitMs })) ?? 'timeout';
  } catch {
    return 'gone';
  } finally {
    reply.raw.off('close', onClose);
  }
}
