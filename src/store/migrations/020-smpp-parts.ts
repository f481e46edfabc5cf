/**
 * 020: the SMPP face acknowledges each part of a concatenated message as soon as the part is
 * stored here, and builds the message once every part is in. A part keeps its own id (the
 * message_id of its submit_sm_resp) and, once its message exists, that message's id, so
 * query_sm, cancel_sm and receipts find the message by any part's id. A message keeps the
 * service_type of its submit, which replace_if_present matches on.
 */
import type { Kysely } from 'kysely';
import type { Dialect } from '../db.js';

export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const time = dialect === 'postgres' ? 'bigint' : 'integer';
  await db.schema
    .createTable('smpp_parts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('owner_id', 'text', (c) => c.notNull())
    /** user | source | destination | reference | total: the parts of one message share it. */
    .addColumn('group_key', 'text', (c) => c.notNull())
    .addColumn('part_seq', 'integer', (c) => c.notNull())
    .addColumn('total', 'integer', (c) => c.notNull())
    .addColumn('data_coding', 'integer', (c) => c.notNull())
    /** The part's user data without its UDH, hex: parts are decoded together (a UCS-2 pair may straddle two). */
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('registered', 'integer', (c) => c.notNull())
    /** The submit's other fields (JSON): destination, source, flash, times, replace type. */
    .addColumn('params', 'text', (c) => c.notNull())
    .addColumn('created_at', time, (c) => c.notNull())
    /** Set when the message was built (or refused as incomplete): null while the message is open. */
    .addColumn('message_id', 'text')
    .execute();
  await db.schema
    .createIndex('smpp_parts_group')
    .on('smpp_parts')
    .columns(['group_key', 'message_id'])
    .execute();
  await db.schema.createIndex('smpp_parts_message').on('smpp_parts').column('message_id').execute();
  await db.schema.createIndex('smpp_parts_created').on('smpp_parts').column('created_at').execute();
  await db.schema.alterTable('messages').addColumn('smpp_service_type', 'text').execute();
}
