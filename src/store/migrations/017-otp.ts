/**
 * 017: one-time passwords (issue 15). A code is never stored: `code_hash` is an HMAC of the OTP's
 * id and the code under a server secret (`otp_secret` holds a generated one when
 * SMSGW_OTP_SECRET is not set). `attempts` is counted in the same UPDATE that records a
 * verification, so two verifies of one code cannot both succeed. `sends` (the first send and
 * every resend) backs the per-number rate limit, over (owner_id, to, created_at).
 * `otp_settings` holds a user's default template and sender for codes.
 */
import type { Kysely } from 'kysely';
import type { Dialect } from '../db.js';

export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const time = dialect === 'postgres' ? 'bigint' : 'integer';
  await db.schema
    .createTable('otp_codes')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('owner_id', 'text', (c) => c.notNull())
    .addColumn('to', 'text', (c) => c.notNull())
    .addColumn('code_hash', 'text', (c) => c.notNull())
    .addColumn('length', 'integer', (c) => c.notNull())
    .addColumn('alphabet', 'text', (c) => c.notNull())
    .addColumn('template', 'text', (c) => c.notNull())
    .addColumn('from', 'text')
    .addColumn('flash', 'integer', (c) => c.notNull())
    .addColumn('replace_id', 'integer')
    .addColumn('ttl_s', 'integer', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('max_attempts', 'integer', (c) => c.notNull())
    .addColumn('sends', 'integer', (c) => c.notNull())
    .addColumn('message_id', 'text', (c) => c.notNull())
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('last_sent_at', time, (c) => c.notNull())
    .addColumn('expires_at', time, (c) => c.notNull())
    .addColumn('verified_at', time)
    .execute();
  await db.schema
    .createIndex('otp_codes_number')
    .on('otp_codes')
    .columns(['owner_id', 'to', 'created_at'])
    .execute();
  await db.schema.createIndex('otp_codes_expires').on('otp_codes').column('expires_at').execute();
  await db.schema
    .createTable('otp_settings')
    .addColumn('user_id', 'text', (c) => c.primaryKey())
    .addColumn('template', 'text')
    .addColumn('from', 'text')
    .addColumn('updated_at', time, (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('otp_secret')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('secret', 'text', (c) => c.notNull())
    .addColumn('created_at', time, (c) => c.notNull())
    .execute();
}
