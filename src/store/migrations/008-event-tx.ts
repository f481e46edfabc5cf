/**
 * 008 (PostgreSQL): the event fan-out no longer waits 2 s for out-of-order commits. Each event
 * records the transaction that wrote it (`tx`, xid8); the fan-out walks events in (tx, id)
 * order and only up to the oldest transaction still running, so an id taken by a transaction
 * that commits late is never skipped and nothing waits when nothing is running. Events written
 * before this migration keep tx NULL; those not yet fanned out get tx 1 so they go first.
 * Also widens the cursor column to bigint (event ids are bigserial).
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { Dialect } from '../db.js';

export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  if (dialect !== 'postgres') return; // SQLite has one writer at a time: ids commit in order.
  await sql`alter table cursors alter column position type bigint`.execute(db);
  await sql`alter table message_events add column tx xid8`.execute(db);
  await sql`alter table message_events alter column tx set default pg_current_xact_id()`.execute(db);
  await sql`update message_events set tx = '1'::xid8
    where id > coalesce((select position from cursors where name = 'status'), 0)`.execute(db);
  await sql`create index message_events_tx on message_events (tx, id)`.execute(db);
}
