/**
 * 002: what happens after sending — status webhooks (outbox + attempt log), per-user settings,
 * inbound messages, keyword rules, contacts (tags), opt-outs, and the webhook fan-out cursor.
 */
import type { CreateTableBuilder, Kysely } from 'kysely';
import type { Dialect } from '../db.js';

/** An auto-increment integer primary key named `id` on either database. */
function serialId(t: CreateTableBuilder<string, never>, dialect: Dialect): CreateTableBuilder<string, 'id'> {
  return dialect === 'postgres'
    ? t.addColumn('id', 'bigserial', (c) => c.primaryKey())
    : t.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
}

export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const time = dialect === 'postgres' ? 'bigint' : 'integer';
  await db.schema
    .createTable('user_settings')
    .addColumn('user_id', 'text', (c) => c.primaryKey())
    .addColumn('webhook_url', 'text')
    .addColumn('inbound_webhook_url', 'text')
    /** Kept in clear: the gateway must sign with it. Shown to its owner only. */
    .addColumn('webhook_secret', 'text', (c) => c.notNull())
    .addColumn('stop_words', 'text')
    .addColumn('start_words', 'text')
    .addColumn('stop_reply', 'text')
    .addColumn('start_reply', 'text')
    .addColumn('help_reply', 'text')
    .addColumn('updated_at', time, (c) => c.notNull())
    .execute();

  await db.schema.alterTable('api_keys').addColumn('callback_url', 'text').execute();

  await serialId(db.schema.createTable('webhook_outbox'), dialect)
    .addColumn('event_id', 'text', (c) => c.notNull().unique())
    .addColumn('owner_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    /** Deliveries with the same ordering key go out one after another, oldest first. */
    .addColumn('ordering_key', 'text', (c) => c.notNull())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('next_attempt_at', time, (c) => c.notNull())
    .addColumn('lease_until', time)
    .addColumn('last_status_code', 'integer')
    .addColumn('last_error', 'text')
    .addColumn('give_up_at', time, (c) => c.notNull())
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('delivered_at', time)
    .execute();
  await db.schema
    .createIndex('webhook_outbox_due')
    .on('webhook_outbox')
    .columns(['status', 'next_attempt_at'])
    .execute();
  await db.schema
    .createIndex('webhook_outbox_order')
    .on('webhook_outbox')
    .columns(['ordering_key', 'id'])
    .execute();
  await db.schema
    .createIndex('webhook_outbox_owner')
    .on('webhook_outbox')
    .columns(['owner_id', 'id'])
    .execute();

  await serialId(db.schema.createTable('webhook_attempts'), dialect)
    .addColumn('outbox_id', 'integer', (c) => c.notNull())
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('status_code', 'integer')
    .addColumn('error', 'text')
    .addColumn('duration_ms', 'integer', (c) => c.notNull())
    .addColumn('at', time, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('webhook_attempts_outbox').on('webhook_attempts').column('outbox_id').execute();

  /** Where the event → webhook fan-out has got to (one row, name = 'status'). */
  await db.schema
    .createTable('cursors')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('position', 'integer', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('inbound_messages')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('owner_id', 'text')
    .addColumn('channel_id', 'text', (c) => c.notNull())
    .addColumn('from', 'text', (c) => c.notNull())
    .addColumn('to', 'text')
    .addColumn('text', 'text', (c) => c.notNull())
    .addColumn('incomplete', 'integer', (c) => c.notNull())
    .addColumn('keyword', 'text')
    .addColumn('received_at', time, (c) => c.notNull())
    .addColumn('created_at', time, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('inbound_owner').on('inbound_messages').columns(['owner_id', 'id']).execute();
  await db.schema.createIndex('inbound_from').on('inbound_messages').columns(['from', 'id']).execute();

  await db.schema
    .createTable('keyword_rules')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('owner_id', 'text', (c) => c.notNull())
    .addColumn('match_type', 'text', (c) => c.notNull())
    .addColumn('pattern', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('reply_text', 'text')
    .addColumn('forward_url', 'text')
    .addColumn('tag', 'text')
    .addColumn('priority', 'integer', (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull())
    .addColumn('created_at', time, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('keyword_rules_owner').on('keyword_rules').column('owner_id').execute();

  await db.schema
    .createTable('contacts')
    .addColumn('owner_id', 'text', (c) => c.notNull())
    .addColumn('number', 'text', (c) => c.notNull())
    .addColumn('tags', 'text', (c) => c.notNull())
    .addColumn('updated_at', time, (c) => c.notNull())
    .addPrimaryKeyConstraint('contacts_pk', ['owner_id', 'number'])
    .execute();

  await db.schema
    .createTable('opt_outs')
    .addColumn('owner_id', 'text', (c) => c.notNull())
    .addColumn('number', 'text', (c) => c.notNull())
    .addColumn('keyword', 'text', (c) => c.notNull())
    .addColumn('created_at', time, (c) => c.notNull())
    .addPrimaryKeyConstraint('opt_outs_pk', ['owner_id', 'number'])
    .execute();
}
