/**
 * The dispatcher's claim as one fixed statement per dialect (store/compiled.ts): up to `limit`
 * due messages become `sending` under the claim's token, the oldest due first.
 *
 * Why not `status in (…) order by next_attempt_at limit n`: with two source statuses (queued,
 * scheduled) the (status, next_attempt_at) index gives two ordered ranges, and SQLite then reads
 * EVERY due row of both into a temporary B-tree to sort them (`explain query plan`: "USE TEMP
 * B-TREE FOR ORDER BY"), so each claim's cost grows with the backlog. Measured (`npx tsx
 * bench/claim-cost.ts`, CPU per claim of 200 on SQLite, median of 5, load average ≈ 30):
 * 10,000 queued 3.6 ms before → 3.5 ms; 100,000 queued 5.9 → 4.1 ms (the sort is ≈ 20 ns a
 * row: extrapolated, not measured, ≈ 20 ms more on each of the 5,000 claims of a 1M drain). Here each
 * status is its own ordered index range cut at `limit` (at most `limit` rows read per status),
 * and only those few are merged and cut again.
 *
 * The fence is unchanged: the source statuses are the state machine's (`fromStatuses`), due by
 * the database's clock (PostgreSQL: `clock_timestamp()`, as leases are; SQLite: this process's),
 * and on PostgreSQL every candidate row is locked and those other nodes hold are skipped
 * (`for update skip locked`), so two nodes never claim the same message. The scope
 * (store/claim-scope.ts) is the same condition as `scopeCondition`, its lists one parameter each.
 */
import type { ClaimScope } from './claim-scope.js';
import type { SqlTarget } from './compiled.js';
import { listParam, runSql } from './compiled.js';
import type { Dialect } from './db.js';
import type { MessageRow } from './schema.js';
import { fromStatuses } from '../core/message.js';

type Key =
  | 'token'
  | 'now'
  | 'leaseMs'
  | 'updatedAt'
  | 'limit'
  | 'scoped'
  | 'held'
  | 'enabled'
  | 'owners'
  | 'shared'
  | 'ownersWithOwn';

const PG_NOW = '(extract(epoch from clock_timestamp()) * 1000)::bigint';

/** The statement's text and the parameter each placeholder takes, in order. */
function statement(dialect: Dialect): { text: string; keys: Key[] } {
  const keys: Key[] = [];
  const pgIndex = new Map<Key, number>();
  // SQLite: one `?` per use; PostgreSQL: one `$n` per parameter, reused.
  const p = (key: Key, pgType: string): string => {
    if (dialect === 'sqlite') {
      keys.push(key);
      return '?';
    }
    let n = pgIndex.get(key);
    if (n === undefined) {
      keys.push(key);
      pgIndex.set(key, (n = keys.length));
    }
    return `$${n}::${pgType}`;
  };
  const now = () => (dialect === 'sqlite' ? p('now', 'bigint') : PG_NOW);
  const within = (col: string, key: Key) =>
    dialect === 'sqlite'
      ? `${col} in (select value from json_each(${p(key, 'text')}))`
      : `${col} = any(${p(key, 'text[]')})`;
  // scopeCondition's three cases; an empty list matches nothing with `in` and everything with
  // `not in`, as the Kysely form's omitted branches did.
  const scope = () => `(${p('scoped', 'int')} = 0
        or ${within('pinned_channel_id', 'held')}
        or (pinned_channel_id is not null and not ${within('pinned_channel_id', 'enabled')})
        or (pinned_channel_id is null and (${within('owner_id', 'owners')}
            or (${p('shared', 'int')} = 1 and owner_id is not null and not ${within('owner_id', 'ownersWithOwn')}))))`;
  const lock = dialect === 'sqlite' ? '' : 'for update skip locked';
  // Built in the order the placeholders appear in the text (SQLite binds `?` by position).
  const head = `update messages
    set status = 'sending', lease_owner = ${p('token', 'text')},
        lease_until = ${now()} + ${p('leaseMs', 'bigint')}, updated_at = ${p('updatedAt', 'bigint')}
    where id in (
      select id from (`;
  const branches = fromStatuses('sending').map(
    (status, i) => `select id, next_attempt_at from (
        select id, next_attempt_at from messages
        where status = '${status}' and next_attempt_at <= ${now()} and ${scope()}
        order by next_attempt_at limit ${p('limit', 'int')} ${lock}) as s${i}`,
  );
  const tail = `) as due
      order by next_attempt_at limit ${p('limit', 'int')})
    returning *`;
  const text = head + branches.join('\n      union all\n      ') + tail;
  return { text, keys };
}

/** Exported for bench/claim-cost.ts (the statement alone, against the one before). */
export const SQLITE = statement('sqlite');
const POSTGRES = statement('postgres');

export interface ClaimArgs {
  token: string;
  limit: number;
  leaseMs: number;
  /** `updated_at` of the claimed rows (the caller's clock, as before). */
  updatedAt: number;
  scope?: ClaimScope | undefined;
}

/** Claims and returns up to `limit` due messages (any order); run inside the claim's transaction. */
export async function claimDue(target: SqlTarget, a: ClaimArgs): Promise<MessageRow[]> {
  const s = a.scope;
  const values: Record<Key, unknown> = {
    token: a.token,
    now: Date.now(),
    leaseMs: a.leaseMs,
    updatedAt: a.updatedAt,
    limit: a.limit,
    scoped: s ? 1 : 0,
    held: listParam(target.dialect, s?.held ?? []),
    enabled: listParam(target.dialect, s?.enabled ?? []),
    owners: listParam(target.dialect, s?.owners ?? []),
    shared: s?.shared ? 1 : 0,
    ownersWithOwn: listParam(target.dialect, s?.ownersWithOwn ?? []),
  };
  const { keys } = target.dialect === 'sqlite' ? SQLITE : POSTGRES;
  return runSql<MessageRow>(
    target,
    { sqlite: SQLITE.text, postgres: POSTGRES.text },
    keys.map((k) => values[k]),
  );
}
