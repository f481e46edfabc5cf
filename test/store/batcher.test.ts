/** Group commit: items written together; a failing batch is retried item by item, so one bad item fails alone. */
import { describe, expect, it } from 'vitest';
import { WriteBatcher } from '../../src/store/batcher.js';

describe('WriteBatcher', () => {
  it('writes items that arrive together in one flush', async () => {
    const flushes: number[][] = [];
    const b = new WriteBatcher<number, number>(async (items) => {
      flushes.push(items);
      return items.map((i) => i * 2);
    });
    expect(await Promise.all([1, 2, 3].map((i) => b.submit(i)))).toEqual([2, 4, 6]);
    expect(flushes).toEqual([[1, 2, 3]]);
  });

  it('fails only the bad item of a batch, and writes the others', async () => {
    const written: number[] = [];
    const b = new WriteBatcher<number, number>(async (items) => {
      if (items.includes(13)) throw new Error('constraint violated by 13');
      written.push(...items);
      return items;
    });
    const results = await Promise.allSettled([1, 13, 2, 3].map((i) => b.submit(i)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(written.sort()).toEqual([1, 2, 3]);
    await b.idle();
  });
});
