/**
 * 009: the lifecycle's edges are durable.
 * - `messages.report_requested`: the message asks for a delivery report (default yes); one that
 *   does not, or that left through a channel without reports, is final when `sent`.
 * - `message_parts.created_at`: when the part was submitted, so references that wrap (a modem's
 *   TP-MR, 0–255) are matched to the newest part within a window.
 * - `pending_reports`: delivery reports that matched no part yet, because the submit's outcome
 *   is still on its way to the database (an SMSC may send the receipt right after
 *   submit_sm_resp). They are applied when the part is stored, and dropped (counted) when their
 *   time runs out. One row per id the report may match (the id as received, and the forms the
 *   channel's id conversion gives), tied together by `report_id`.
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { Dialect } from '../db.js';

export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const time = dialect === 'postgres' ? 'bigint' : 'integer';
  await db.schema
    .alterTable('messages')
    .addColumn('report_requested', 'integer', (c) => c.notNull().defaultTo(1))
    .execute();
  await db.schema.alterTable('message_parts').addColumn('created_at', time).execute();
  await sql`update message_parts set created_at = updated_at`.execute(db);
  await (
    dialect === 'postgres'
      ? db.schema.createTable('pending_reports').addColumn('id', 'bigserial', (c) => c.primaryKey())
      : db.schema
          .createTable('pending_reports')
          .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
  )
    .addColumn('report_id', 'text', (c) => c.notNull())
    .addColumn('channel_id', 'text', (c) => c.notNull())
    .addColumn('remote_id', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('error_code', 'text')
    .addColumn('raw_error', 'text')
    .addColumn('reported_at', time, (c) => c.notNull())
    /** A part submitted after this cannot be the one the report is about. */
    .addColumn('received_at', time, (c) => c.notNull())
    .addColumn('expires_at', time, (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('pending_reports_remote')
    .on('pending_reports')
    .columns(['channel_id', 'remote_id'])
    .execute();
  await db.schema.createIndex('pending_reports_report').on('pending_reports').column('report_id').execute();
  await db.schema.createIndex('pending_reports_expires').on('pending_reports').column('expires_at').execute();
}
