import { describe, expect, it } from 'vitest';
import { monthOf } from '../../src/store/ids.js';

describe('monthOf (kept with its bounds between calls)', () => {
  it('changes exactly at the UTC month boundary, in either direction', () => {
    const march = Date.UTC(2026, 2, 1);
    expect(monthOf(march - 1)).toBe('2026-02');
    expect(monthOf(march)).toBe('2026-03');
    expect(monthOf(march - 1)).toBe('2026-02');
    expect(monthOf(Date.UTC(2026, 2, 31, 23, 59, 59, 999))).toBe('2026-03');
    expect(monthOf(Date.UTC(2026, 3, 1))).toBe('2026-04');
    expect(monthOf(Date.UTC(2025, 11, 31, 23, 59, 59, 999))).toBe('2025-12');
    expect(monthOf(Date.UTC(2026, 0, 1))).toBe('2026-01');
  });

  it('matches toISOString for many instants', () => {
    for (let ms = Date.UTC(2024, 0, 1); ms < Date.UTC(2027, 0, 1); ms += 7 * 3_600_000 + 12_345)
      expect(monthOf(ms)).toBe(new Date(ms).toISOString().slice(0, 7));
  });
});
