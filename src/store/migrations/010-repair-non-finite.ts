/**
 * 010: repair numbers that earlier releases stored unchecked. Before the HTTP face parsed
 * numbers strictly, `validity=1e400` or `validity=Infinity` (form, query string or a JSON
 * string) was accepted and SQLite stored Infinity in `validity_minutes` and `expires_at`; from
 * then on every view of that message, the owner's history and the admin's answered 500 (issue 12).
 *
 * Each value outside what the API can accept is reset to what the API would have stored
 * without it: no validity (the default applies), an expiry of the default 48 h from the start,
 * no schedule, the default attempts. PostgreSQL's bigint never held such values, so there the
 * statements change nothing; the SQL is the same on both. Idempotent: running it twice is a no-op.
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';

/** JavaScript's Date ends at ±8.64e15 ms; anything beyond cannot be a real time. */
const MAX_TIME = 8.64e15;
/** The default validity in ms (48 h), as config.defaultValidityMinutes ships. */
const DEFAULT_VALIDITY_MS = 2880 * 60_000;

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`update messages set validity_minutes = null
    where validity_minutes is not null and (validity_minutes < 1 or validity_minutes > 40320)`.execute(db);
  await sql`update messages set replace_id = null
    where replace_id is not null and (replace_id < 1 or replace_id > 7)`.execute(db);
  await sql`update messages set send_at = null
    where send_at is not null and (send_at < 0 or send_at > ${MAX_TIME})`.execute(db);
  await sql`update messages set max_attempts = 3 where max_attempts < 1 or max_attempts > 1000`.execute(db);
  await sql`update messages set tries_per_attempt = 1
    where tries_per_attempt < 1 or tries_per_attempt > 1000`.execute(db);
  await sql`update messages set next_attempt_at = coalesce(send_at, created_at)
    where next_attempt_at < 0 or next_attempt_at > ${MAX_TIME}`.execute(db);
  await sql`update messages
    set expires_at = coalesce(send_at, created_at) + coalesce(cast(validity_minutes as bigint) * 60000, ${DEFAULT_VALIDITY_MS})
    where expires_at < 0 or expires_at > ${MAX_TIME}`.execute(db);
}
