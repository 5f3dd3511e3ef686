import { NO_POLICY } from './instance-lifecycle.js';

/** Policies numbered before the numbering starts over (a renumbered policy costs one label_agent run). */
const POLICY_IDS_LIMIT = 4096;

/**
 * The numbers a pool's workers know its policies by: a worker compares a
 * call's number with the one its instance holds and runs label_agent only
 * when they differ. Numbers are never reused, so a number a worker still
 * holds after the numbering starts over cannot match another policy.
 */
export class PolicyIds {
  readonly #ids = new Map<string, number>();
  #next = NO_POLICY + 1;

  /** The policy's number (NO_POLICY for none), numbering it if it is new. */
  idOf(policy: { key: string } | undefined): number {
    if (!policy) return NO_POLICY;
    let id = this.#ids.get(policy.key);
    if (id === undefined) {
      if (this.#ids.size >= POLICY_IDS_LIMIT) this.#ids.clear();
      id = this.#next++;
      this.#ids.set(policy.key, id);
    }
    return id;
  }
}
