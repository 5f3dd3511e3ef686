/** Signal plumbing for backend calls. */

export interface Deadline {
  signal: AbortSignal;
  /** True when it was the timeout, not a parent, that fired. */
  timedOut(): boolean;
  /** Stops the timer and detaches from the parents; call it when the call is over. */
  dispose(): void;
}

/**
 * A signal that fires when any parent fires or after `timeoutMs`, whichever
 * comes first. Listeners are removed on dispose, so a long-lived parent (the
 * backend's own close signal) does not collect one per call.
 */
export function deadline(parents: AbortSignal[], timeoutMs: number): Deadline {
  const controller = new AbortController();
  let timedOut = false;
  const detach: Array<() => void> = [];
  const abort = (reason: unknown) => {
    if (!controller.signal.aborted) controller.abort(reason);
  };
  for (const parent of parents) {
    if (parent.aborted) {
      abort(parent.reason);
      break;
    }
    const onAbort = () => abort(parent.reason);
    parent.addEventListener('abort', onAbort, { once: true });
    detach.push(() => parent.removeEventListener('abort', onAbort));
  }
  const timer = controller.signal.aborted
    ? undefined
    : setTimeout(() => {
        timedOut = true;
        abort(new DOMException(`backend call exceeded ${timeoutMs} ms`, 'TimeoutError'));
      }, timeoutMs);
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    dispose() {
      clearTimeout(timer);
      for (const d of detach) d();
    },
  };
}

/** Settles like `promise`, or rejects with the signal's reason as soon as it fires. */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
