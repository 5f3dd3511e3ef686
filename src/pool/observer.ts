import type { GuardFunction, TrapKind } from '../guard/index.js';

export type EvictionReason = 'trap' | 'exit' | 'deadline' | 'crash' | 'start_failed';

/** What a pool reports as it works; the metrics module implements it. All optional. */
export interface PoolObserver {
  callDuration?(guard: string, fn: GuardFunction, seconds: number, outcome: 'ok' | 'error'): void;
  queueWait?(guard: string, seconds: number): void;
  trap?(guard: string, fn: GuardFunction | 'instantiate', kind: TrapKind): void;
  regrowth?(guard: string, fn: GuardFunction, how: 'hinted' | 'doubled', count: number): void;
  eviction?(guard: string, reason: EvictionReason): void;
  replacement?(guard: string, reason: EvictionReason): void;
  rejected?(guard: string, reason: 'queue_full' | 'wait_timeout' | 'unavailable' | 'closed'): void;
}
