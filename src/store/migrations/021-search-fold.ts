/**
 * 021: `smsgw_fold(text)`, the database half of core/search.ts `foldText`, so text search folds
 * case in every script. PostgreSQL: `lower()` under the ICU root collation (the database's own
 * LC_CTYPE may be "C", which folds ASCII only), then the same Turkish and Greek mappings as the
 * JavaScript side. SQLite needs nothing stored: store/db.ts registers the JavaScript function on
 * every connection it opens.
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { Dialect } from '../db.js';

export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  if (dialect !== 'postgres') return;
  const icu = await sql<{
    n: number;
  }>`select count(*)::int as n from pg_collation where collname = 'und-x-icu'`.execute(db);
  const lower = (icu.rows[0]?.n ?? 0) > 0 ? `lower($1 collate "und-x-icu")` : 'lower($1)';
  await sql
    .raw(
      `create or replace function smsgw_fold(text) returns text
         language sql immutable strict parallel safe
         as $fold$ select translate(replace(normalize(${lower}, NFC), U&'\\0307', ''), 'ıς', 'iσ') $fold$`,
    )
    .execute(db);
}
