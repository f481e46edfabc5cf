/** 006: a message may be pinned to one channel (the sender chose it); null lets routing choose. */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('messages').addColumn('pinned_channel_id', 'text').execute();
}
