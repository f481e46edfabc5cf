import { describe, expect, it } from 'vitest';
import { IdleBackoff } from '../../src/core/backoff.js';

describe('IdleBackoff', () => {
  it('doubles from base to max while rounds find nothing, and is back at base on work', () => {
    const b = new IdleBackoff(250, 4_000);
    const seen: number[] = [];
    for (let i = 0; i < 7; i++) {
      seen.push(b.ms);
      b.step(false);
    }
    expect(seen).toEqual([250, 500, 1_000, 2_000, 4_000, 4_000, 4_000]);
    b.step(true);
    expect(b.ms).toBe(250);
    b.step(false);
    b.reset();
    expect(b.ms).toBe(250);
  });
});
