import { describe, expect, it } from 'vitest';
import { OwnerCache } from '../../src/store/owner-cache.js';

describe('OwnerCache', () => {
  it('keeps an entry for its time to live, and forgets an owner on a write', () => {
    const c = new OwnerCache<string>(2_000);
    expect(c.set('a', 'x', c.stamp(), 1_000)).toBe(true);
    expect(c.get('a', 2_999)).toBe('x');
    expect(c.get('a', 3_000)).toBeUndefined();
    c.set('a', 'y', c.stamp(), 5_000);
    c.set('b', 'z', c.stamp(), 5_000);
    c.forget('a');
    expect([c.get('a', 5_001), c.get('b', 5_001)]).toEqual([undefined, 'z']);
    c.forget();
    expect(c.get('b', 5_001)).toBeUndefined();
  });

  it('does not store what a read began before a forget (the write it missed would stay hidden)', () => {
    const c = new OwnerCache<string>();
    const stamp = c.stamp();
    c.forget('other'); // a write committed while the read was in flight
    expect(c.set('a', 'stale', stamp)).toBe(false);
    expect(c.get('a')).toBeUndefined();
    expect(c.set('a', 'fresh', c.stamp())).toBe(true);
    expect(c.get('a')).toBe('fresh');
  });

  it('starts over when full', () => {
    const c = new OwnerCache<number>(2_000, 2);
    c.set('a', 1, c.stamp(), 0);
    c.set('b', 2, c.stamp(), 0);
    c.set('c', 3, c.stamp(), 0);
    expect([c.get('a', 1), c.get('b', 1), c.get('c', 1)]).toEqual([undefined, undefined, 3]);
  });
});
