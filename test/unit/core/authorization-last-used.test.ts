import { describe, expect, it } from 'vitest';
import { LastUsedThrottle } from '../../../lambdas/core/last-used-throttle.js';

describe('LastUsedThrottle', () => {
  it('one attempt per token per interval', () => {
    const throttle = new LastUsedThrottle({ intervalMs: 1000, maxEntries: 10 });
    expect(throttle.tryAcquire('a', 0)).toBe(true);
    expect(throttle.tryAcquire('a', 1)).toBe(false);
    expect(throttle.tryAcquire('a', 999)).toBe(false);
    expect(throttle.tryAcquire('b', 999)).toBe(true);
    expect(throttle.tryAcquire('a', 1000)).toBe(true);
    expect(throttle.tryAcquire('a', 1999)).toBe(false);
  });

  it('a clock that stepped back does not silence a token', () => {
    const throttle = new LastUsedThrottle({ intervalMs: 1000, maxEntries: 10 });
    expect(throttle.tryAcquire('a', 5000)).toBe(true);
    expect(throttle.tryAcquire('a', 4000)).toBe(true);
    expect(throttle.tryAcquire('a', 4500)).toBe(false);
  });

  it('is bounded: past maxEntries the oldest attempts are forgotten (they may try again)', () => {
    const throttle = new LastUsedThrottle({ intervalMs: 1000, maxEntries: 3 });
    for (const token of ['a', 'b', 'c', 'd']) expect(throttle.tryAcquire(token, 10)).toBe(true);
    expect(throttle.size).toBe(3);
    expect(throttle.tryAcquire('d', 11)).toBe(false);
    expect(throttle.tryAcquire('a', 11)).toBe(true);
    expect(throttle.size).toBe(3);
  });
});
