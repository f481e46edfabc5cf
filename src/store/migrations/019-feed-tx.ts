/**
 * 019 (PostgreSQL): the change feed walks events in (transaction, id) order like the webhook
 * fan-out (core/feed-cursor.ts). Events written before 008 still have tx NULL, which no (tx, id)
 * comparison matches, so the feed would never show them: they get tx 1, before every real
 * transaction id (xid8 1 is the bootstrap id, never a user transaction's), in id order as before.
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { Dialect } from '../db.js';

export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  if (dialect !== 'postgres') return; // SQLite's feed is by id alone.
  await sql`update message_events set tx = '1'::xid8 where tx is null`.execute(db);
}
