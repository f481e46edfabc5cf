/**
 * 016: contacts grow into an address book (name, language, time zone, custom fields), groups
 * with members, CSV imports with their refused rows, and campaigns: one row per campaign (its
 * job is claimed under a lease like queue work) and one per recipient, whose `message_id` is
 * written in the transaction that accepts the message (each recipient becomes a message once).
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { Dialect } from '../db.js';

export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const time = dialect === 'postgres' ? 'bigint' : 'integer';
  await db.schema.alterTable('contacts').addColumn('name', 'text').execute();
  await db.schema.alterTable('contacts').addColumn('language', 'text').execute();
  await db.schema
    .alterTable('contacts')
    .addColumn('fields', 'text', (c) => c.notNull().defaultTo('{}'))
    .execute();
  await db.schema
    .alterTable('contacts')
    .addColumn('created_at', time, (c) => c.notNull().defaultTo(0))
    .execute();

  await db.schema
    .createTable('contact_groups')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('owner_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', time, (c) => c.notNull())
    .addUniqueConstraint('contact_groups_owner_name', ['owner_id', 'name'])
    .execute();
  await db.schema
    .createTable('group_members')
    .addColumn('group_id', 'text', (c) => c.notNull())
    .addColumn('owner_id', 'text', (c) => c.notNull())
    .addColumn('number', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('group_members_pk', ['group_id', 'number'])
    .execute();
  await db.schema
    .createIndex('group_members_contact')
    .on('group_members')
    .columns(['owner_id', 'number'])
    .execute();

  await db.schema
    .createTable('contact_imports')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('owner_id', 'text', (c) => c.notNull())
    .addColumn('group_id', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('rows_total', 'integer', (c) => c.notNull())
    .addColumn('rows_imported', 'integer', (c) => c.notNull())
    .addColumn('rows_refused', 'integer', (c) => c.notNull())
    .addColumn('error', 'text')
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('finished_at', time)
    .execute();
  await db.schema
    .createTable('import_errors')
    .addColumn('import_id', 'text', (c) => c.notNull())
    .addColumn('line', 'integer', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('raw', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('import_errors_pk', ['import_id', 'line'])
    .execute();

  await db.schema
    .createTable('campaigns')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('owner_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('text', 'text', (c) => c.notNull())
    .addColumn('from', 'text')
    .addColumn('channel_id', 'text')
    .addColumn('template_id', 'text')
    .addColumn('audience', 'text', (c) => c.notNull())
    .addColumn('time_zone', 'text', (c) => c.notNull())
    .addColumn('send_at', time)
    .addColumn('window_start', 'integer')
    .addColumn('window_end', 'integer')
    .addColumn('rate', 'real', (c) => c.notNull())
    .addColumn('cron', 'text')
    .addColumn('parent_id', 'text')
    .addColumn('occurrence_at', time)
    .addColumn('next_run_at', time)
    .addColumn('lease_owner', 'text')
    .addColumn('lease_until', time)
    .addColumn('recipients_total', 'integer', (c) => c.notNull())
    .addColumn('recipients_done', 'integer', (c) => c.notNull())
    .addColumn('segments', 'integer', (c) => c.notNull())
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('updated_at', time, (c) => c.notNull())
    .addColumn('started_at', time)
    .addColumn('finished_at', time)
    .execute();
  await db.schema.createIndex('campaigns_owner').on('campaigns').columns(['owner_id', 'id']).execute();
  await db.schema.createIndex('campaigns_due').on('campaigns').columns(['status', 'next_run_at']).execute();
  // One child per occurrence of a recurring campaign, whichever node fires it.
  await db.schema
    .createIndex('campaigns_occurrence')
    .on('campaigns')
    .columns(['parent_id', 'occurrence_at'])
    .unique()
    .execute();

  await db.schema
    .createTable('campaign_recipients')
    .addColumn('campaign_id', 'text', (c) => c.notNull())
    .addColumn('number', 'text', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    /** JSON object of per-recipient variables (file columns); null: the contact's fields. */
    .addColumn('vars', 'text')
    .addColumn('not_before', time, (c) => c.notNull())
    .addColumn('message_id', 'text')
    .addColumn('error_code', 'text')
    .addPrimaryKeyConstraint('campaign_recipients_pk', ['campaign_id', 'number'])
    .execute();
  // The runner's next batch: pending (no message yet) recipients that may go now, in order.
  await sql`create index campaign_recipients_pending on campaign_recipients (campaign_id, not_before, seq) where message_id is null and error_code is null`.execute(
    db,
  );
  await db.schema
    .createIndex('campaign_recipients_message')
    .on('campaign_recipients')
    .column('message_id')
    .execute();
}
