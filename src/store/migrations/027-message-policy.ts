/**
 * 027: two columns of `messages` for the sending policy (issue 14's cost: each rule < 10 % of
 * accepting a message), so that its rules add no row of their own per message.
 *
 * `category`: the template category a message was accepted under (verification, notification,
 * marketing; NULL for plain text). On SQLite frequency caps count a recipient's messages from
 * the messages table through the `messages_to` index (policy/frequency.ts) instead of upserting
 * a `frequency_state` row per message; a cap set per category needs each message's category.
 *
 * `charge`: what a message was charged moves onto its own row (`messages.charge`, signed as in the
 * ledger: a charge is negative; NULL: not charged) and `credit_charges` (migration 025) goes.
 * The accepting transaction writes the message row anyway, so a charge costs one integer in it
 * instead of a row of its own: the `credit_charges` row (its b-tree insert and its pages at
 * commit) was what was left of credits' cost, +13–22 % of accepting a message
 * (`npx tsx bench/policy-cpu.ts`, issue 14's goal is < 10 %). Refunds and replace_sm read the
 * charge from the message; retention deletes it with the message. Existing charges are copied.
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { Dialect } from '../db.js';

export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  await db.schema.alterTable('messages').addColumn('category', 'text').execute();
  await db.schema
    .alterTable('messages')
    .addColumn('charge', dialect === 'postgres' ? 'bigint' : 'integer')
    .execute();
  await sql`update messages set charge = (select c.amount from credit_charges c where c.message_id = messages.id)
    where id in (select message_id from credit_charges)`.execute(db);
  await db.schema.dropTable('credit_charges').execute();
}
