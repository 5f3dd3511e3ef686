import { expect, it } from 'vitest';
import { LogLimiter } from '../../src/backend/log-limiter.js';

it('lets N lines per second through, then reports how many it dropped', () => {
  let now = 0;
  const limiter = new LogLimiter(2, () => now);
  expect(limiter.take()).toEqual({ suppressed: 0 });
  expect(limiter.take()).toEqual({ suppressed: 0 });
  expect(limiter.take()).toBeUndefined();
  expect(limiter.take()).toBeUndefined();
  now = 999;
  expect(limiter.take()).toBeUndefined();
  now = 1000;
  expect(limiter.take()).toEqual({ suppressed: 3 });
  expect(limiter.take()).toEqual({ suppressed: 0 });
});
