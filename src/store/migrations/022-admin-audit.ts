/**
 * 022: `admin_audit`, the log of administrative changes (users, keys, channels, keyword rules,
 * policy): who did what to which object, when, with the request's fields (secrets redacted).
 * Ids are UUIDv7, so the id orders rows by time and is the page cursor.
 */
import type { Kysely } from 'kysely';
import type { Dialect } from '../db.js';

export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const time = dialect === 'postgres' ? 'bigint' : 'integer';
  await db.schema
    .createTable('admin_audit')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('actor_id', 'text', (c) => c.notNull())
    .addColumn('actor_login', 'text', (c) => c.notNull())
    /** e.g. "PATCH /v1/users/:id": the route, so every audited change has a stable name. */
    .addColumn('action', 'text', (c) => c.notNull())
    /** users | keys | channels | keywords | policy */
    .addColumn('subject_kind', 'text', (c) => c.notNull())
    .addColumn('subject_id', 'text')
    .addColumn('status', 'integer', (c) => c.notNull())
    /** JSON: the request's fields, secrets replaced by "[redacted]". */
    .addColumn('details', 'text')
    .execute();
  await db.schema.createIndex('admin_audit_actor').on('admin_audit').columns(['actor_id', 'id']).execute();
}
