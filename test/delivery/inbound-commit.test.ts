/**
 * An inbound message and what is owed for it to an SMPP receiver (its deliver_sm) are committed
 * together before the network is answered: a failure between them (forced by a trigger) leaves
 * neither, so the network's resend is the only copy. SQLite and PostgreSQL.
 */
import pino from 'pino';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { InboundService } from '../../src/delivery/inbound.js';
import { MessageService } from '../../src/services/messages.js';
import type { Store } from '../../src/store/index.js';
import { TEST_DBS } from '../support/db.js';
import { storeForSuite } from '../support/store.js';

describe.each(TEST_DBS)('inbound commit ($name)', (tdb) => {
  let store: Store;
  storeForSuite(tdb, (s) => (store = s));

  it('stores the message and its SMPP deliver_sm together, or neither', async () => {
    const user = await store.users.create({ login: 'mo-rx', passwordHash: 'x', role: 'user' });
    await store.users.markSmppBound(user.id, Date.now());
    const channel = await store.channels.create({
      name: 'mo',
      type: 'simulator',
      owner_id: user.id,
      config: '{}',
      monthly_limit: null,
      count_mode: 'segments',
      min_interval_ms: 0,
      max_in_flight: 1,
      priority: 0,
      enabled: 1,
    });
    const messages = new MessageService(store, {
      maxRecipients: 10,
      maxSegments: 10,
      defaultValidityMinutes: 60,
      maxAttempts: 3,
    });
    const inbound = new InboundService(store, messages, pino({ level: 'silent' }), () => undefined);
    const db = store.db.kysely;
    if (tdb.name === 'sqlite') {
      await sql
        .raw(`CREATE TRIGGER mo_crash BEFORE INSERT ON smpp_outbox BEGIN SELECT RAISE(ABORT, 'crash'); END`)
        .execute(db);
    } else {
      await sql
        .raw(
          `CREATE OR REPLACE FUNCTION mo_crash() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'crash'; END $$ LANGUAGE plpgsql`,
        )
        .execute(db);
      await sql
        .raw(`CREATE TRIGGER mo_crash BEFORE INSERT ON smpp_outbox FOR EACH ROW EXECUTE FUNCTION mo_crash()`)
        .execute(db);
    }
    const sms = { from: '+15555550188', text: 'hello rx', receivedAt: new Date() };
    try {
      // Not committed: the channel answers a temporary error and the network offers it again.
      await expect(inbound.receive(channel.id, sms)).rejects.toThrow();
    } finally {
      await sql
        .raw(tdb.name === 'sqlite' ? 'DROP TRIGGER mo_crash' : 'DROP TRIGGER mo_crash ON smpp_outbox')
        .execute(db);
    }
    const stored = () =>
      db.selectFrom('inbound_messages').select('id').where('from', '=', '+15555550188').execute();
    expect(await stored()).toEqual([]);
    // The resend is stored once, with its deliver_sm owed.
    await inbound.receive(channel.id, sms);
    await inbound.idle();
    const rows = await stored();
    expect(rows).toHaveLength(1);
    const owed = await db
      .selectFrom('smpp_outbox')
      .select('ref_id')
      .where('owner_id', '=', user.id)
      .execute();
    expect(owed).toEqual([{ ref_id: rows[0]?.id }]);
  });
});
