import { describe, expect, it } from 'vitest';
import { Semaphore } from '../../src/backend/semaphore.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('Semaphore', () => {
  it('grants up to its limit at once, then queues in FIFO order', async () => {
    const s = new Semaphore(2);
    const r1 = await s.acquire();
    const r2 = await s.acquire();
    expect(s.active).toBe(2);
    const order: number[] = [];
    const w3 = s.acquire().then((r) => (order.push(3), r));
    const w4 = s.acquire().then((r) => (order.push(4), r));
    await tick();
    expect(order).toEqual([]);
    expect(s.waiting).toBe(2);
    r1();
    const r3 = await w3;
    expect(order).toEqual([3]);
    expect(s.active).toBe(2);
    r2();
    const r4 = await w4;
    expect(order).toEqual([3, 4]);
    r3();
    r4();
    expect(s.active).toBe(0);
    expect(s.waiting).toBe(0);
  });

  it('a release function works once, however often it is called', async () => {
    const s = new Semaphore(1);
    const r = await s.acquire();
    r();
    r();
    r();
    expect(s.active).toBe(0);
    await s.acquire();
    expect(s.active).toBe(1);
    // A second release of an old slot must not free the slot held now.
    r();
    expect(s.active).toBe(1);
  });

  it('a waiter whose signal fires leaves the queue with the signal reason and takes no slot', async () => {
    const s = new Semaphore(1);
    const held = await s.acquire();
    const controller = new AbortController();
    const waiting = s.acquire(controller.signal);
    const behind = s.acquire();
    await tick();
    expect(s.waiting).toBe(2);
    const reason = new Error('deadline');
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    expect(s.waiting).toBe(1);
    held();
    const next = await behind; // the slot went to the next waiter, not to the one that left
    expect(s.active).toBe(1);
    next();
    expect(s.active).toBe(0);
  });

  it('an already aborted signal is refused at once, even with free slots', async () => {
    const s = new Semaphore(3);
    await expect(s.acquire(AbortSignal.abort(new Error('late')))).rejects.toThrow('late');
    expect(s.active).toBe(0);
  });

  it('a granted waiter is not affected by its signal firing later', async () => {
    const s = new Semaphore(1);
    const held = await s.acquire();
    const controller = new AbortController();
    const waiting = s.acquire(controller.signal);
    held();
    const mine = await waiting;
    controller.abort();
    expect(s.active).toBe(1);
    mine();
    expect(s.active).toBe(0);
  });

  it('rejects a limit that is not a positive integer', () => {
    expect(() => new Semaphore(0)).toThrow(RangeError);
    expect(() => new Semaphore(1.5)).toThrow(RangeError);
  });
});
