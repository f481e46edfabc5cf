import { describe, expect, it } from 'vitest';
import { Reassembler } from '../../src/codec/reassembly.js';

describe('inbound reassembly', () => {
  it('joins parts out of order and drops duplicates', () => {
    const r = new Reassembler(1000);
    expect(r.add({ from: '+1', ref: 5, total: 3, seq: 3, text: 'c' }, 0)).toBeUndefined();
    expect(r.add({ from: '+1', ref: 5, total: 3, seq: 1, text: 'a' }, 1)).toBeUndefined();
    expect(r.add({ from: '+1', ref: 5, total: 3, seq: 1, text: 'a' }, 2)).toBeUndefined();
    expect(r.add({ from: '+1', ref: 5, total: 3, seq: 2, text: 'b' }, 3)).toEqual({
      from: '+1',
      text: 'abc',
      incomplete: false,
      firstAt: 0,
      tags: [],
    });
    expect(r.size).toBe(0);
  });

  it('keeps senders and references apart and passes single parts through', () => {
    const r = new Reassembler(1000);
    r.add({ from: '+1', ref: 1, total: 2, seq: 1, text: 'x' }, 0);
    expect(r.add({ from: '+2', ref: 1, total: 2, seq: 2, text: 'y' }, 0)).toBeUndefined();
    expect(r.add({ from: '+3', ref: 0, total: 1, seq: 1, text: 'solo' }, 0)?.text).toBe('solo');
    expect(r.size).toBe(2);
  });

  it('delivers what arrived, marked incomplete, after the timeout', () => {
    const r = new Reassembler(1000);
    r.add({ from: '+1', ref: 9, total: 3, seq: 1, text: 'first ' }, 0);
    r.add({ from: '+1', ref: 9, total: 3, seq: 3, text: 'third' }, 10);
    expect(r.expire(999)).toEqual([]);
    expect(r.expire(1000)).toEqual([
      { from: '+1', text: 'first third', incomplete: true, firstAt: 0, tags: [] },
    ]);
    expect(r.size).toBe(0);
  });
});

describe('inbound reassembly with tags', () => {
  it('returns the tag of every part, duplicates included, only with the whole message', () => {
    const r = new Reassembler<number>();
    expect(r.add({ from: '+1', ref: 9, total: 2, seq: 2, text: 'b', tag: 4 }, 0)).toBeUndefined();
    expect(r.add({ from: '+1', ref: 9, total: 2, seq: 2, text: 'b', tag: 7 }, 1)).toBeUndefined();
    expect(r.add({ from: '+1', ref: 9, total: 2, seq: 1, text: 'a', tag: 5 }, 2)).toMatchObject({
      text: 'ab',
      tags: [4, 7, 5],
    });
    r.add({ from: '+2', ref: 1, total: 2, seq: 1, text: 'x', tag: 8 }, 3);
    expect(r.clear()).toEqual([8]);
    expect(r.size).toBe(0);
  });
});
