/**
 * The accepting transactions' copies of policy configuration. The price list (store/credits.ts
 * PriceCache): a write through this node's store applies at once, one from another node (another
 * store on the same database) or the CLI within the cache's time to live; a list longer than the
 * cache holds is read per batch. The frequency caps (store/policy.ts CapsCache, an OwnerCache):
 * replaced through this node's store, they apply to the next accept.
 */
import { describe, expect, it } from 'vitest';
import { PriceCache, pickIn } from '../../src/store/credits.js';
import { createStore } from '../../src/store/index.js';
import { TEST_DBS } from '../support/db.js';
import { message } from '../support/messages.js';

describe.each(TEST_DBS)('price cache ($name)', (tdb) => {
  it('holds the list for its time to live, and forgets it on a write', async () => {
    const { db, cleanup } = await tdb.open();
    try {
      const target = { trx: db.kysely, dialect: db.dialect, sqlite: db.sqlite };
      const node = createStore(db);
      const other = createStore(db); // another node: its own cache
      const cache = new PriceCache(2_000);
      const price = async (at: number) =>
        pickIn(await cache.indexFor(target, ['+4915100000001'], at), '+4915100000001', 'gsm7', 1)?.total;
      await node.policy.setPrice('', 'any', 2);
      expect(await price(1_000)).toBe(2);
      await other.policy.setPrice('49', 'any', 5);
      expect(await price(2_999)).toBe(2); // another node's write: seen within the time to live
      expect(await price(3_000)).toBe(5);
      await other.policy.setPrice('4915', 'any', 7);
      cache.forget(); // what this node's PolicyRepo does after its own write
      expect(await price(3_001)).toBe(7);
    } finally {
      await cleanup();
    }
  });

  it("reads the batch's prefixes when the list is longer than it holds", async () => {
    const { db, cleanup } = await tdb.open();
    try {
      const target = { trx: db.kysely, dialect: db.dialect, sqlite: db.sqlite };
      const store = createStore(db);
      await store.policy.setPrice('', 'any', 2);
      await store.policy.setPrice('49', 'any', 5);
      await store.policy.setPrice('4915', 'gsm7', 7);
      await store.policy.setPrice('33', 'any', 9);
      const cache = new PriceCache(2_000, 2);
      const index = await cache.indexFor(target, ['+4915100000001', '+4930000000'], 0);
      expect([...index.rows.keys()].sort()).toEqual(['', '49', '4915']); // not '33': per batch
      expect(pickIn(index, '+4915100000001', 'gsm7', 2)?.total).toBe(14);
      expect(pickIn(index, '+4930000000', 'ucs2', 1)?.total).toBe(5);
    } finally {
      await cleanup();
    }
  });

  it("applies a price set through the node's store to the next accept at once", async () => {
    const { db, cleanup } = await tdb.open();
    try {
      const store = createStore(db);
      const alice = (await store.users.create({ login: 'alice', passwordHash: 'x', role: 'user' })).id;
      await store.policy.credit(alice, 100, null, true);
      await store.policy.setPrice('', 'any', 4);
      await store.messages.acceptBatch([{ messages: [message(alice, { to: '+4915100000001' })] }]);
      await store.policy.setPrice('', 'any', 10);
      await store.messages.acceptBatch([{ messages: [message(alice, { to: '+4915100000002' })] }]);
      await store.policy.removePrice('', 'any');
      const m = message(alice, { to: '+4915100000003' });
      const [r] = await store.messages.acceptBatch([{ messages: [m] }]);
      expect(Number((await store.policy.account(alice)).balance)).toBe(86);
      expect(r?.kind === 'accepted' && r.refused.get(m.id)?.code).toBe('no_price');
    } finally {
      await cleanup();
    }
  });

  it("applies caps replaced through the node's store to the next accept at once", async () => {
    const { db, cleanup } = await tdb.open();
    try {
      const store = createStore(db);
      const alice = (await store.users.create({ login: 'alice', passwordHash: 'x', role: 'user' })).id;
      const send = async () => {
        const m = message(alice, { to: '+4915100000001' });
        const [r] = await store.messages.acceptBatch([{ messages: [m] }]);
        return r?.kind === 'accepted' ? (r.refused.get(m.id)?.code ?? 'ok') : r?.kind;
      };
      await store.policy.replaceCaps('', [{ category: '', period: 'day', max_count: 3 }]);
      expect([await send(), await send()]).toEqual(['ok', 'ok']);
      await store.policy.replaceCaps(alice, [{ category: '', period: 'day', max_count: 2 }]);
      expect(await send()).toBe('frequency_limited');
      await store.policy.replaceCaps(alice, []);
      expect([await send(), await send()]).toEqual(['ok', 'frequency_limited']); // the global 3 again
    } finally {
      await cleanup();
    }
  });
});
