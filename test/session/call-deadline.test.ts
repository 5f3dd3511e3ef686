import { describe, expect, it } from 'vitest';
import { CallDeadline, TIMED_OUT } from '../../src/session/call-deadline.js';

const never = () => new Promise<never>(() => {});
const later = <T>(ms: number, value: T) => new Promise<T>((resolve) => setTimeout(resolve, ms, value));

describe('CallDeadline', () => {
  it('passes on what a call settles with before its deadline', async () => {
    const deadline = new CallDeadline(200);
    await expect(deadline.guard(later(5, 'ok'))).resolves.toBe('ok');
    await expect(deadline.guard(Promise.reject(new Error('refused')))).rejects.toThrow('refused');
  });

  it('rejects a call that outlives the timeout, not before, and drops its late reply', async () => {
    const deadline = new CallDeadline(40);
    const started = performance.now();
    // Rejected, not resolved with the reply that comes at 120 ms: the deadline fired first. No upper bound
    // on the wait: a busy machine may run the timer late, which says nothing about this class.
    const late = deadline.guard(later(120, 'too late'));
    await expect(late).rejects.toThrow(TIMED_OUT);
    expect(performance.now() - started).toBeGreaterThanOrEqual(39);
  });

  it('gives every pending call its own deadline with one timer, whatever order they settle in', async () => {
    const deadline = new CallDeadline(60);
    const t0 = performance.now();
    const outcomes: Array<{ name: string; at: number; error?: string }> = [];
    const track = (name: string, call: Promise<unknown>) =>
      call.then(
        () => outcomes.push({ name, at: performance.now() - t0 }),
        (error: Error) => outcomes.push({ name, at: performance.now() - t0, error: error.message }),
      );
    const first = track('first', deadline.guard(never()));
    await later(30, undefined);
    // Settles out of order, before the first call's deadline: must not move the first call's deadline.
    const quick = track('quick', deadline.guard(later(5, 1)));
    const second = track('second', deadline.guard(never()));
    await Promise.all([first, quick, second]);
    expect(outcomes.map((o) => [o.name, o.error])).toEqual([
      ['quick', undefined],
      ['first', TIMED_OUT],
      ['second', TIMED_OUT],
    ]);
    const at = Object.fromEntries(outcomes.map((o) => [o.name, o.at]));
    expect(at.first).toBeGreaterThanOrEqual(59);
    expect(at.second).toBeGreaterThanOrEqual(89);
    expect(at.second! - at.first!).toBeGreaterThanOrEqual(20);
  });

  it('keeps working across many calls (its queue is cut down as calls settle)', async () => {
    const deadline = new CallDeadline(1000);
    const values = await Promise.all(Array.from({ length: 5000 }, (_, i) => deadline.guard(Promise.resolve(i))));
    expect(values[4999]).toBe(4999);
    await expect(deadline.guard(later(1, 'after'))).resolves.toBe('after');
    const stuck = new CallDeadline(20);
    for (let i = 0; i < 3000; i++) void stuck.guard(Promise.resolve(i));
    await expect(stuck.guard(never())).rejects.toThrow(TIMED_OUT);
  });
});
