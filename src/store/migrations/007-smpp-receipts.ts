/**
 * 007: what smsgw owes SMPP clients survives restarts. A message submitted over SMPP keeps the
 * client's registered_delivery; when it reaches a final status the event fan-out queues a
 * receipt in smpp_outbox, in the same transaction that advances the fan-out cursor. Inbound
 * messages for users who bind over SMPP are queued there too. Rows leave the outbox only when
 * the client acknowledges the deliver_sm.
 */
import type { Kysely } from 'kysely';
import type { Dialect } from '../db.js';

export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const time = dialect === 'postgres' ? 'bigint' : 'integer';
  await db.schema.alterTable('messages').addColumn('smpp_receipt_mask', 'integer').execute();
  await db.schema.alterTable('users').addColumn('smpp_bound_at', time).execute();
  await (
    dialect === 'postgres'
      ? db.schema.createTable('smpp_outbox').addColumn('id', 'bigserial', (c) => c.primaryKey())
      : db.schema.createTable('smpp_outbox').addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
  )
    .addColumn('owner_id', 'text', (c) => c.notNull())
    /** 'receipt' (ref_id: a message id) or 'mo' (ref_id: an inbound message id). */
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('ref_id', 'text', (c) => c.notNull())
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('lease_until', time)
    .execute();
  await db.schema.createIndex('smpp_outbox_owner').on('smpp_outbox').columns(['owner_id', 'id']).execute();
}
