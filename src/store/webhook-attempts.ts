/**
 * The attempts of a group of webhook deliveries written with two fixed statements whatever the
 * group's size: the fenced outcome of every outbox row and the attempt log rows of those that
 * took it. Each list travels as one parameter (store/compiled.ts).
 *
 * Why: one Kysely UPDATE per delivery was 4,000 of the statements of 2,000 messages with receipts
 * and status webhooks (`HOT_N=2000 HOT_MODE=receipts npm run bench:hot`, counted per statement).
 *
 * The fence is the one-row form's: the row is still `pending` and still under the lease it was
 * claimed with (`lease_until`, null included); otherwise another claim took it over and its
 * outcome stands.
 */
import type { SqlTarget } from './compiled.js';
import { runSql } from './compiled.js';

/** One attempt's outcome as the batch statement takes it. */
export interface AttemptRow {
  id: number;
  /** The lease the row was claimed under (the fence). */
  leaseUntil: number | null;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  nextAttemptAt: number;
  statusCode: number | null;
  error: string | null;
  deliveredAt: number | null;
  durationMs: number;
  at: number;
}

/**
 * SQLite: the unary \`+\` keeps the planner off the \`(status, …)\` index, which it otherwise
 * took as the outer loop (every pending row times the group, EXPLAIN QUERY PLAN: SEARCH
 * webhook_outbox USING INDEX webhook_outbox_due, then SCAN json_each): 7.2 of 33 busy seconds
 * of 2,000 messages with receipts under \`--cpu-prof\`. With it: SCAN json_each, then the rowid.
 */
const RECORD = {
  sqlite: `update webhook_outbox set status = j.status, attempts = j.attempts,
      next_attempt_at = j.next_attempt_at, lease_until = null, last_status_code = j.status_code,
      last_error = j.error, delivered_at = j.delivered_at
    from (select json_extract(value, '$[0]') as id, json_extract(value, '$[1]') as lease_until,
                 json_extract(value, '$[2]') as status, json_extract(value, '$[3]') as attempts,
                 json_extract(value, '$[4]') as next_attempt_at, json_extract(value, '$[5]') as status_code,
                 json_extract(value, '$[6]') as error, json_extract(value, '$[7]') as delivered_at
          from json_each(?)) as j
    where webhook_outbox.id = j.id and +webhook_outbox.status = 'pending'
      and webhook_outbox.lease_until is j.lease_until
    returning webhook_outbox.id as id`,
  postgres: `update webhook_outbox o set status = j.status, attempts = j.attempts,
      next_attempt_at = j.next_attempt_at, lease_until = null, last_status_code = j.status_code,
      last_error = j.error, delivered_at = j.delivered_at
    from unnest($1::bigint[], $2::bigint[], $3::text[], $4::int[], $5::bigint[], $6::int[], $7::text[], $8::bigint[])
      as j(id, lease_until, status, attempts, next_attempt_at, status_code, error, delivered_at)
    where o.id = j.id and o.status = 'pending' and o.lease_until is not distinct from j.lease_until
    returning o.id as id`,
};

const LOG = {
  sqlite: `insert into webhook_attempts (outbox_id, attempt, status_code, error, duration_ms, at)
    select json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'),
           json_extract(value, '$[3]'), json_extract(value, '$[4]'), json_extract(value, '$[5]')
    from json_each(?)`,
  postgres: `insert into webhook_attempts (outbox_id, attempt, status_code, error, duration_ms, at)
    select * from unnest($1::bigint[], $2::int[], $3::int[], $4::text[], $5::int[], $6::bigint[])`,
};

/**
 * Records the attempts where the fence holds, and logs them; returns the ids of the rows it
 * changed. Ids must be distinct within a call (a row changed twice by one UPDATE … FROM is
 * undefined).
 */
export async function recordAttemptRows(
  target: SqlTarget,
  rows: readonly AttemptRow[],
): Promise<Set<number>> {
  if (rows.length === 0) return new Set();
  const pg = target.dialect === 'postgres';
  const params = pg
    ? [
        rows.map((r) => r.id),
        rows.map((r) => r.leaseUntil),
        rows.map((r) => r.status),
        rows.map((r) => r.attempts),
        rows.map((r) => r.nextAttemptAt),
        rows.map((r) => r.statusCode),
        rows.map((r) => r.error),
        rows.map((r) => r.deliveredAt),
      ]
    : [
        JSON.stringify(
          rows.map((r) => [
            r.id,
            r.leaseUntil,
            r.status,
            r.attempts,
            r.nextAttemptAt,
            r.statusCode,
            r.error,
            r.deliveredAt,
          ]),
        ),
      ];
  const changed = new Set(
    (await runSql<{ id: number | string }>(target, RECORD, params)).map((r) => Number(r.id)),
  );
  const logged = rows.filter((r) => changed.has(r.id));
  if (logged.length === 0) return changed;
  const log = logged.map((r) => [r.id, r.attempts, r.statusCode, r.error, Math.round(r.durationMs), r.at]);
  const columns = [0, 1, 2, 3, 4, 5].map((i) => log.map((row) => row[i]));
  await runSql(target, LOG, pg ? columns : [JSON.stringify(log)]);
  return changed;
}
