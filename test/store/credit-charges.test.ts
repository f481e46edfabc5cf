/**
 * Migration 025: what each message was charged moves from the ledger (one `charge` row per
 * message before) into `credit_charges`, so a message charged before the migration is still
 * refunded exactly once, with what it paid.
 */
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { migrate } from '../../src/store/db.js';
import { createStore } from '../../src/store/index.js';
import { TEST_DBS } from '../support/db.js';
import { message } from '../support/messages.js';

describe.each(TEST_DBS)('credit_charges ($name)', (tdb) => {
  it('takes over the charges the ledger held per message, and refunds them once', async () => {
    const { db, cleanup } = await tdb.open();
    try {
      const store = createStore(db);
      const alice = (await store.users.create({ login: 'alice', passwordHash: 'x', role: 'user' })).id;
      await store.policy.setPrice('', 'any', 4);
      await store.policy.credit(alice, 10, null, true);
      const m = message(alice, { to: '+4915100000001' });
      const [r] = await store.messages.acceptBatch([{ messages: [m] }]);
      expect(r?.kind).toBe('accepted');
      expect(Number((await store.policy.account(alice)).balance)).toBe(6);
      // The charge as the code before migration 025 wrote it: a ledger row of the message.
      await sql`delete from credit_ledger where kind = 'charge'`.execute(db.kysely);
      await sql`insert into credit_ledger (user_id, kind, amount, balance_after, message_id, note, created_at)
        values (${alice}, 'charge', -4, 6, ${m.id}, '1 × 4 (default, gsm7)', 1)`.execute(db.kysely);
      await sql`drop table credit_charges`.execute(db.kysely);
      await sql`drop index prices_prefix_length`.execute(db.kysely);
      await sql`delete from smsgw_migrations where name = '025-credit-charges'`.execute(db.kysely);
      expect(await migrate(db)).toEqual(['025-credit-charges']);

      const charges = await db.kysely.selectFrom('credit_charges').selectAll().execute();
      expect(charges.map((c) => [c.message_id, Number(c.amount)])).toEqual([[m.id, -4]]);
      await store.messages.cancel(m.id, alice, 'test');
      await store.messages.cancel(m.id, alice, 'again');
      expect(Number((await store.policy.account(alice)).balance)).toBe(10);
      const ledger = await store.policy.ledger(alice, 10);
      expect(ledger.map((l) => [l.kind, Number(l.amount)])).toEqual([
        ['refund', 4],
        ['charge', -4],
        ['topup', 10],
      ]);
    } finally {
      await cleanup();
    }
  });
});
