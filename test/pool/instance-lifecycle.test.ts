import { describe, expect, it } from 'vitest';
import { backoffDelay, InstanceSlot, NO_POLICY, REFUSED_POLICY, replacementFor, type InstanceStop } from '../../src/pool/instance-lifecycle.js';
import type { EvictionReason } from '../../src/pool/observer.js';

const backoff = { baseMs: 10, maxMs: 5000 };
const REASONS: EvictionReason[] = ['trap', 'exit', 'deadline', 'crash', 'start_failed'];

describe('replacementFor', () => {
  it('replaces a stop in the middle of a batch in the batch, by the worker, while the guard is not failing', () => {
    expect(replacementFor({ reason: 'trap', workerAlive: true, midBatch: true }, 0, backoff)).toEqual({ path: 'in-batch' });
    expect(replacementFor({ reason: 'exit', workerAlive: true, midBatch: true }, 0, backoff)).toEqual({ path: 'in-batch' });
  });

  it('ends the batch instead once the guard has failed: the same worker gets a new instance, after the backoff', () => {
    expect(replacementFor({ reason: 'trap', workerAlive: true, midBatch: true }, 1, backoff)).toEqual({ path: 'same-worker', delayMs: 0 });
    expect(replacementFor({ reason: 'trap', workerAlive: true, midBatch: true }, 3, backoff)).toEqual({ path: 'same-worker', delayMs: 20 });
  });

  it('gives a live worker a new instance: a trap or exit at the end of a batch, a start that failed in a running worker', () => {
    for (const reason of ['trap', 'exit', 'start_failed'] as const) {
      expect(replacementFor({ reason, workerAlive: true }, 1, backoff)).toEqual({ path: 'same-worker', delayMs: 0 });
    }
  });

  it('never trusts a worker that was terminated or died: a new (or the spare) worker, whatever the reason and failures', () => {
    for (const reason of REASONS) {
      for (const failures of [0, 1, 2, 5]) {
        for (const midBatch of [false, true]) {
          const stop: InstanceStop = { reason, workerAlive: false, midBatch };
          expect(replacementFor(stop, failures, backoff)).toEqual({ path: 'new-worker', delayMs: backoffDelay(failures, backoff) });
        }
      }
    }
  });

  it('delays a replacement by the backoff of the failures in a row, the same for either path', () => {
    for (const failures of [2, 4, 10]) {
      const delayMs = backoffDelay(failures, backoff);
      expect(replacementFor({ reason: 'trap', workerAlive: true }, failures, backoff)).toEqual({ path: 'same-worker', delayMs });
      expect(replacementFor({ reason: 'deadline', workerAlive: false }, failures, backoff)).toEqual({ path: 'new-worker', delayMs });
    }
  });
});

describe('backoffDelay', () => {
  it('is 0 for an isolated failure, then base * 2^(n-2), capped', () => {
    expect([0, 1, 2, 3, 4, 5].map((n) => backoffDelay(n, backoff))).toEqual([0, 0, 10, 20, 40, 80]);
    expect(backoffDelay(12, backoff)).toBe(5000);
    expect(backoffDelay(40, backoff)).toBe(5000);
    expect(backoffDelay(3, { baseMs: 1, maxMs: 1 })).toBe(1);
  });
});

describe('InstanceSlot', () => {
  it('goes idle → busy → idle, and counts as live only then', () => {
    const slot = new InstanceSlot(0, undefined);
    expect([slot.state, slot.live]).toEqual(['idle', true]);
    slot.reserve();
    expect([slot.state, slot.live]).toEqual(['busy', true]);
    slot.release();
    expect(slot.state).toBe('idle');
  });

  it('poisoned → starting → replaced: idle again, holding no policy whatever the stopped one held', () => {
    const slot = new InstanceSlot(0, undefined);
    slot.policyId = 7;
    expect(slot.holdsPolicy).toBe(true);
    slot.poison();
    expect([slot.state, slot.live]).toEqual(['poisoned', false]);
    slot.starting();
    expect([slot.state, slot.live]).toEqual(['starting', false]);
    slot.replaced();
    expect([slot.state, slot.policyId, slot.holdsPolicy]).toEqual(['idle', NO_POLICY, false]);
  });

  it('holds no policy worth keeping when fresh or after a refused label_agent', () => {
    const slot = new InstanceSlot(0, undefined);
    expect(slot.holdsPolicy).toBe(false);
    slot.policyId = REFUSED_POLICY;
    expect(slot.holdsPolicy).toBe(false);
  });
});
