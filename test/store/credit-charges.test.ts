/**
 * Migrations 025 and 027: what each message was charged moves from the ledger (one `charge` row
 * per message before 025) into `credit_charges` (025) and from there onto the message's row
 * (`messages.charge`, 027), so a message charged before either migration is still refunded
 * exactly once, with what it paid.
 */
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { migrate } from '../../src/store/db.js';
import { createStore } from '../../src/store/index.js';
import { TEST_DBS } from '../support/db.js';
import { message } from '../support/messages.js';

describe.each(TEST_DBS)('charges moved out of the ledger ($name)', (tdb) => {
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
      // Undo 027 (the column) and 025 (its index): both run again, in order.
      await sql`alter table messages drop column charge`.execute(db.kysely);
      await sql`alter table messages drop column category`.execute(db.kysely);
      await sql`drop index prices_prefix_length`.execute(db.kysely);
      await sql`delete from smsgw_migrations where name in ('025-credit-charges', '027-message-policy')`.execute(
        db.kysely,
      );
      expect(await migrate(db)).toEqual(['025-credit-charges', '027-message-policy']);

      const charges = await db.kysely
        .selectFrom('messages')
        .select(['id', 'charge'])
        .where('charge', 'is not', null)
        .execute();
      expect(charges.map((c) => [c.id, Number(c.charge)])).toEqual([[m.id, -4]]);
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
