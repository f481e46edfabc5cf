/**
 * 023: what a message is charged follows what may have reached the network.
 * - `messages.outcome_unknown`: 1 once a submit of the message ended without an answer (sent,
 *   no acknowledgement: a timeout, a dropped link) or with some of its parts taken; the SMSC
 *   may have delivered it, so it is never refunded (store/credits.ts refundMessages).
 * - `credit_ledger` kind `adjust`: a queued message's text replaced (SMPP replace_sm) with
 *   more or fewer segments is charged or refunded the difference, as many times as it is
 *   replaced. The one-charge-one-refund rule (unique message + kind) now leaves `adjust` out;
 *   a plain index on message_id serves the lookups that sum a message's charge and adjustments.
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { Dialect } from '../db.js';

export async function up(db: Kysely<unknown>, _dialect: Dialect): Promise<void> {
  await db.schema.alterTable('messages').addColumn('outcome_unknown', 'integer').execute();
  await sql`drop index credit_ledger_message`.execute(db);
  await sql`create unique index credit_ledger_message on credit_ledger (message_id, kind) where kind <> 'adjust'`.execute(
    db,
  );
  await db.schema.createIndex('credit_ledger_message_all').on('credit_ledger').column('message_id').execute();
}
