/** 003: separate SMPP credentials per user (SMPP limits system_id to 15 and passwords to 8 characters). */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('users').addColumn('smpp_system_id', 'text').execute();
  await db.schema.alterTable('users').addColumn('smpp_password_hash', 'text').execute();
  await db.schema.createIndex('users_smpp_system_id').on('users').column('smpp_system_id').unique().execute();
}
