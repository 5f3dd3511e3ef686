/**
 * Bounds how many lines per second one source may log (a guard can make 50
 * backend calls per invocation, each of which may fail). Lines past the bound
 * are dropped and counted; the next line that gets through reports how many.
 */
export class LogLimiter {
  #windowStart = 0;
  #inWindow = 0;
  #suppressed = 0;

  constructor(
    readonly perSecond: number,
    readonly now: () => number = () => performance.now(),
  ) {}

  /** undefined: drop this line; otherwise log it, with the count of lines dropped since the last one. */
  take(): { suppressed: number } | undefined {
    const now = this.now();
    if (now - this.#windowStart >= 1000) {
      this.#windowStart = now;
      this.#inWindow = 0;
    }
    if (this.#inWindow >= this.perSecond) {
      this.#suppressed++;
      return undefined;
    }
    this.#inWindow++;
    const suppressed = this.#suppressed;
    this.#suppressed = 0;
    return { suppressed };
  }
}
