/**
 * Transactions that only take a lease on webhook deliveries acknowledge nothing to anyone: if
 * such a commit is lost in a crash, its rows are claimable again and are delivered again, which
 * webhooks allow (at least once, with the event id to dedupe). On SQLite they therefore commit
 * without waiting for the disk (WAL with `synchronous = NORMAL` appends the transaction and does
 * not fsync); the next commit that does wait syncs the log up to and including it, so the order
 * on disk stays the order of the commits.
 *
 * Measured with `HOT_N=5000 HOT_MODE=receipts npm run bench:hot` under `--cpu-prof` on the shared
 * 2-core machine: 62 of 96 busy seconds of the gateway's main thread were COMMITs (the fsync
 * blocks the event loop), one per claim.
 *
 * The event fan-out (WebhookRepo.fanOut) commits this way too: it writes only rows derived from
 * events already durable, with its cursor, so a lost commit is redone whole by the next fan-out.
 * So do the records of webhook attempts (WebhookRepo.recordAttempts): a lost one leaves its rows
 * under their old lease, and they are delivered again once it runs out.
 *
 * Not for message claims (store/messages.ts claimDue): a message claim lost in an OS crash would
 * come back as plain `queued` although its submit may have left, so it would be sent again
 * without being marked `outcome_unknown` and a later failure would refund it.
 *
 * PostgreSQL is left as it was: several nodes share its leases.
 */
import type { Kysely, Transaction } from 'kysely';
import { sql } from 'kysely';
import type { Dialect } from './db.js';
import type { Database } from './schema.js';

export function leaseTransaction<T>(
  db: Kysely<Database>,
  dialect: Dialect,
  fn: (trx: Transaction<Database>) => Promise<T>,
): Promise<T> {
  if (dialect !== 'sqlite') return db.transaction().execute(fn);
  // One connection held throughout, so no other transaction commits under the relaxed setting.
  return db.connection().execute(async (conn) => {
    const [row] = (await sql<{ synchronous: number }>`pragma synchronous`.execute(conn)).rows;
    const level = Number(row?.synchronous ?? 2);
    if (level <= 1) return conn.transaction().execute(fn);
    await sql`pragma synchronous = NORMAL`.execute(conn);
    try {
      return await conn.transaction().execute(fn);
    } finally {
      await sql.raw(`pragma synchronous = ${level}`).execute(conn);
    }
  });
}
