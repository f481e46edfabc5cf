/** 004: per-user transliteration (typographic characters → GSM equivalents), off by default. */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('user_settings')
    .addColumn('transliterate', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}
