/**
 * 015: the content and consent side of the sending policy (issue 14 items 1, 4, 5).
 * - `templates`: message templates and sender signatures (`kind`), each reviewed by an admin
 *   (`pending` → `approved` / `rejected` with a reason; an edit sends it back to `pending`);
 * - `policy_audit`: one row per change of a template or signature (who, what, when, before and
 *   after status, reason) and per erasure;
 * - `consents`: per owner and number, each opt-in with its source, time, text shown and proof;
 *   revoked rows keep their history (`revoked_at`);
 * - `policy_settings`: per user (and `*` for the defaults of new users): templates-only mode,
 *   opt-in required for marketing, quiet-hours windows;
 * - `contacts.time_zone`: a per-contact override of the zone derived from the number.
 */
import type { CreateTableBuilder, Kysely } from 'kysely';
import type { Dialect } from '../db.js';

function serialId(t: CreateTableBuilder<string, never>, dialect: Dialect): CreateTableBuilder<string, 'id'> {
  return dialect === 'postgres'
    ? t.addColumn('id', 'bigserial', (c) => c.primaryKey())
    : t.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
}

export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const time = dialect === 'postgres' ? 'bigint' : 'integer';
  await db.schema
    .createTable('templates')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('owner_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('text', 'text', (c) => c.notNull())
    .addColumn('category', 'text')
    .addColumn('placement', 'text')
    .addColumn('variables', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('updated_at', time, (c) => c.notNull())
    .addColumn('decided_at', time)
    .addColumn('decided_by', 'text')
    .execute();
  await db.schema
    .createIndex('templates_owner')
    .on('templates')
    .columns(['owner_id', 'kind', 'id'])
    .execute();
  await db.schema.createIndex('templates_status').on('templates').columns(['status', 'kind']).execute();

  await serialId(db.schema.createTable('policy_audit'), dialect)
    .addColumn('owner_id', 'text', (c) => c.notNull())
    .addColumn('subject_kind', 'text', (c) => c.notNull())
    .addColumn('subject_id', 'text', (c) => c.notNull())
    .addColumn('actor_id', 'text')
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('before_status', 'text')
    .addColumn('after_status', 'text')
    .addColumn('reason', 'text')
    .addColumn('created_at', time, (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('policy_audit_subject')
    .on('policy_audit')
    .columns(['subject_id', 'id'])
    .execute();

  await serialId(db.schema.createTable('consents'), dialect)
    .addColumn('owner_id', 'text', (c) => c.notNull())
    .addColumn('number', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('text_shown', 'text')
    .addColumn('proof_ip', 'text')
    .addColumn('proof_form_id', 'text')
    .addColumn('granted_at', time, (c) => c.notNull())
    .addColumn('revoked_at', time)
    .addColumn('revoked_by', 'text')
    .execute();
  await db.schema.createIndex('consents_number').on('consents').columns(['owner_id', 'number']).execute();

  await db.schema
    .createTable('policy_settings')
    .addColumn('user_id', 'text', (c) => c.primaryKey())
    .addColumn('templates_only', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('consent_required', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('quiet_hours', 'text')
    .addColumn('updated_at', time, (c) => c.notNull())
    .execute();

  await db.schema.alterTable('contacts').addColumn('time_zone', 'text').execute();
}
