/**
 * 011: an inbound message records when its rules ran (STOP/START/HELP, keyword rules,
 * webhooks). The message is committed before the network is answered and its rules run after;
 * a gateway that stops in between runs them at its next start (`processed_at` still null).
 * Rows stored before this migration count as processed.
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { Dialect } from '../db.js';

export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const time = dialect === 'postgres' ? 'bigint' : 'integer';
  await db.schema.alterTable('inbound_messages').addColumn('processed_at', time).execute();
  await sql`update inbound_messages set processed_at = created_at`.execute(db);
  await db.schema
    .createIndex('inbound_messages_unprocessed')
    .on('inbound_messages')
    .column('processed_at')
    .execute();
}
