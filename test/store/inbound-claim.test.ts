/**
 * An inbound message's rules run once across nodes: the live receive and every node's resume
 * take the message with one conditional UPDATE; a claim whose node died runs out and is taken
 * again; a process that owns the whole database (SQLite) drops a stopped run's claims at start.
 */
import { describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.js';
import { TEST_DBS } from '../support/db.js';
import { storeForSuite } from '../support/store.js';

describe.each(TEST_DBS)('inbound claims on $name', (tdb) => {
  let store: Store;
  storeForSuite(tdb, (s) => (store = s));

  const stored = () =>
    store.inbound.insert({
      owner_id: null,
      channel_id: 'c1',
      from: '+15550001111',
      to: null,
      text: 'STOP',
      incomplete: 0,
      keyword: null,
      received_at: Date.now(),
    });

  it('of many concurrent claims exactly one wins', async () => {
    const row = await stored();
    const now = Date.now();
    const wins = await Promise.all(Array.from({ length: 8 }, () => store.inbound.claim(row.id, now, 60_000)));
    expect(wins.filter((w) => w !== undefined)).toHaveLength(1);
    expect((await store.inbound.unprocessed(100, now)).map((r) => r.id)).not.toContain(row.id);
  });

  it('a claim that ran out is resumed and taken again; a processed message never', async () => {
    const row = await stored();
    const t0 = Date.now();
    expect(await store.inbound.claim(row.id, t0, 1_000)).toBeDefined();
    expect(await store.inbound.claim(row.id, t0 + 500, 1_000)).toBeUndefined();
    expect((await store.inbound.unprocessed(100, t0 + 2_000)).map((r) => r.id)).toContain(row.id);
    const claim = await store.inbound.claim(row.id, t0 + 2_000, 1_000);
    expect(claim).toBeDefined();
    expect(await store.inbound.markProcessed(row.id, claim as number, t0 + 2_100)).toBe(true);
    expect(await store.inbound.claim(row.id, t0 + 10_000_000, 1_000)).toBeUndefined();
    expect((await store.inbound.unprocessed(100, t0 + 10_000_000)).map((r) => r.id)).not.toContain(row.id);
  });

  it('releaseClaims gives a stopped run’s claims back at once', async () => {
    const row = await stored();
    expect(await store.inbound.claim(row.id, Date.now(), 60_000)).toBeDefined();
    await store.inbound.releaseClaims();
    expect((await store.inbound.unprocessed(100)).map((r) => r.id)).toContain(row.id);
  });

  it('a node whose claim was taken over can neither mark the message processed nor act on it', async () => {
    const row = await stored();
    const t0 = Date.now();
    const slow = await store.inbound.claim(row.id, t0, 1_000);
    expect(slow).toBeDefined();
    // The slow node's claim ran out; another node took the message over.
    const taker = await store.inbound.claim(row.id, t0 + 2_000, 1_000);
    expect(taker).toBeDefined();
    expect(taker).not.toBe(slow);
    // The slow node finishes late: its claim no longer holds, it changes nothing.
    expect(await store.inbound.holds(row.id, slow as number)).toBe(false);
    expect(await store.inbound.markProcessed(row.id, slow as number, t0 + 2_100)).toBe(false);
    expect((await store.inbound.byId(row.id))?.processed_at).toBe(taker);
    // The node holding the claim finishes it.
    expect(await store.inbound.holds(row.id, taker as number)).toBe(true);
    expect(await store.inbound.markProcessed(row.id, taker as number, t0 + 2_200)).toBe(true);
    expect((await store.inbound.byId(row.id))?.processed_at).toBe(t0 + 2_200);
  });
});
