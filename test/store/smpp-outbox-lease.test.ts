/**
 * What is owed to SMPP receivers is released (a refusal, a dropped bind) only under the lease it
 * was sent with: a node whose lease ran out, and whose row another node took and sent, cannot
 * make the row due again for a third copy. SQLite and PostgreSQL.
 */
import { describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.js';
import { TEST_DBS } from '../support/db.js';
import { storeForSuite } from '../support/store.js';

describe.each(TEST_DBS)('SMPP outbox leases ($name)', (tdb) => {
  let store: Store;
  storeForSuite(tdb, (s) => (store = s));

  it('a release under a lease that was taken over changes nothing', async () => {
    const owner = (await store.users.create({ login: 'rx-lease', passwordHash: 'x', role: 'user' })).id;
    const mo = await store.inbound.insert({
      owner_id: owner,
      channel_id: 'c1',
      from: '+15555550199',
      to: null,
      text: 'hi',
      incomplete: 0,
      keyword: null,
      received_at: Date.now(),
    });
    await store.smppOutbox.enqueueMo(owner, mo.id, Date.now());
    const [slow] = await store.smppOutbox.claim(owner, Date.now(), Date.now() + 60_000, 10);
    expect(slow).toBeDefined();
    // The slow node's lease runs out; another node takes the row and sends it.
    await store.db.kysely.updateTable('smpp_outbox').set({ lease_until: 1 }).execute();
    const [taker] = await store.smppOutbox.claim(owner, Date.now(), Date.now() + 60_000, 10);
    expect(taker?.id).toBe(slow?.id);
    // The slow node's bind drops: its release must not free the row the taker holds.
    await store.smppOutbox.release([slow!]);
    expect(await store.smppOutbox.claim(owner, Date.now(), Date.now() + 60_000, 10)).toEqual([]);
    // The taker's own release does.
    await store.smppOutbox.release([taker!]);
    expect(await store.smppOutbox.claim(owner, Date.now(), Date.now() + 60_000, 10)).toHaveLength(1);
  });
});
