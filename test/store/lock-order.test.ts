/**
 * Lock order on PostgreSQL: a transaction that changes an account's balance and its messages
 * takes the balance first. Accepting does (the credits rule, then replace_if_present's cancels);
 * a cancel must too, or the two deadlock and one of them is a 500 (40P01).
 */
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.js';
import { TEST_DBS, waitForLockWait } from '../support/db.js';
import { message } from '../support/messages.js';
import { storeForSuite } from '../support/store.js';

const POSTGRES = TEST_DBS.filter((d) => d.name === 'postgres');

describe.skipIf(POSTGRES.length === 0).each(POSTGRES)('balance before message ($name)', (tdb) => {
  let store: Store;
  let url: string;
  storeForSuite(tdb, (s, u) => {
    store = s;
    url = u as string;
  });

  it('a cancel waits for the balance an accepting transaction holds, instead of deadlocking with it', async () => {
    const u = (await store.users.create({ login: 'lo', passwordHash: 'x', role: 'user' })).id;
    await store.policy.setPrice('', 'any', 1);
    await store.policy.credit(u, 100, null, true);
    const old = message(u, { to: '+4915100000001' });
    await store.messages.acceptBatch([{ messages: [old] }]);
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      // An accepting transaction: the balance first (credits rule) ...
      await c.query('begin');
      await c.query('update account_policy set balance = balance where user_id = $1', [u]);
      const cancel = store.messages.cancel(old.id, u, 'test');
      await waitForLockWait(c, 'account_policy'); // the cancel waits for the balance
      // ... then the earlier message (replace_if_present), while the cancel is waiting.
      const touched = await c.query('update messages set updated_at = updated_at where id = $1', [old.id]);
      expect(touched.rowCount).toBe(1);
      await c.query('commit');
      const row = await cancel;
      expect(row).toMatchObject({ status: 'canceled', changed: true });
    } finally {
      await c.end();
    }
  });
});
