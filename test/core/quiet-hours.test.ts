import { describe, expect, it } from 'vitest';
import { zoneForNumber } from '../../src/core/number-zone.js';
import { quietUntil, windowFor } from '../../src/core/quiet-hours.js';

const at = (s: string) => Date.parse(s);
const night = { start: '21:00', end: '09:00' };

describe('quiet hours', () => {
  it('derives the zone from the number, with a primary zone for large countries', () => {
    expect(zoneForNumber('+4915112345678')).toBe('Europe/Berlin');
    expect(zoneForNumber('+12025550123')).toBe('America/New_York');
    expect(zoneForNumber('+79161234567')).toBe('Europe/Moscow');
    expect(zoneForNumber('+819012345678')).toBe('Asia/Tokyo');
  });

  it('holds inside an overnight window until its end in the local zone', () => {
    // Berlin in winter is UTC+1: 22:00 local is 21:00Z; 09:00 next day is 08:00Z.
    expect(quietUntil(at('2026-01-15T21:00:00Z'), night, 'Europe/Berlin')).toBe(at('2026-01-16T08:00:00Z'));
    // 06:30 local: the morning part; the end is the same day.
    expect(quietUntil(at('2026-01-15T05:30:00Z'), night, 'Europe/Berlin')).toBe(at('2026-01-15T08:00:00Z'));
    expect(quietUntil(at('2026-01-15T12:00:00Z'), night, 'Europe/Berlin')).toBeUndefined();
    // The end itself is outside; a minute before is inside.
    expect(quietUntil(at('2026-01-15T08:00:00Z'), night, 'Europe/Berlin')).toBeUndefined();
    expect(quietUntil(at('2026-01-15T07:59:00Z'), night, 'Europe/Berlin')).toBe(at('2026-01-15T08:00:00Z'));
  });

  it('follows daylight saving time across the night it changes', () => {
    // 28 → 29 March 2026: Berlin moves to UTC+2 at 02:00, so 09:00 local is 07:00Z.
    expect(quietUntil(at('2026-03-28T21:00:00Z'), night, 'Europe/Berlin')).toBe(at('2026-03-29T07:00:00Z'));
    // The same instant is 17:00 in New York: not quiet there.
    expect(quietUntil(at('2026-03-28T21:00:00Z'), night, 'America/New_York')).toBeUndefined();
  });

  it('handles a daytime window and picks windows by category', () => {
    expect(quietUntil(at('2026-06-01T11:00:00Z'), { start: '12:00', end: '14:00' }, 'UTC')).toBeUndefined();
    expect(quietUntil(at('2026-06-01T12:30:00Z'), { start: '12:00', end: '14:00' }, 'UTC')).toBe(
      at('2026-06-01T14:00:00Z'),
    );
    const windows = [
      { category: 'marketing', start: '20:00', end: '10:00' },
      { category: '*', start: '23:00', end: '06:00' },
    ];
    expect(windowFor(windows, 'marketing')?.start).toBe('20:00');
    expect(windowFor(windows, 'verification')?.start).toBe('23:00');
    expect(windowFor(windows, undefined)?.start).toBe('23:00');
    expect(windowFor([windows[0]!], 'verification')).toBeUndefined();
  });
});
