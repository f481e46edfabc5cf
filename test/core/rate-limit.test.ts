import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../src/core/rate-limit.js';

describe('rate limiter', () => {
  it('allows a burst, then one token per 1/rate seconds, per key', () => {
    const rl = new RateLimiter(10, 20);
    const t0 = 1_000_000;
    for (let i = 0; i < 20; i++) expect(rl.take('a', t0)).toBe(0);
    expect(rl.take('a', t0)).toBeCloseTo(0.1);
    expect(rl.take('b', t0)).toBe(0);
    expect(rl.take('a', t0 + 100)).toBe(0);
    expect(rl.take('a', t0 + 100)).toBeGreaterThan(0);
  });
});
