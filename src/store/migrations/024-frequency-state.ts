/**
 * 024: frequency caps count in ONE row per (month start, owner, number, category) instead of
 * one row per (owner, number, category, period, period start) (issue 14's cost). The row holds
 * the count of the current minute, hour, day and month with the start of each, so a message
 * reads and writes one row whatever caps apply. Calendar periods all restart at a month's start,
 * so a row is of no use once its month is over, and the month leads the key: pruning is a range
 * delete. SQLite keeps the row in the primary key's b-tree (WITHOUT ROWID: one b-tree write per
 * message, not two). The counts of the current month move over; `frequency_counters` goes.
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { Dialect } from '../db.js';

const PERIODS = ['minute', 'hour', 'day', 'month'] as const;

export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const big = dialect === 'postgres' ? 'bigint' : 'integer';
  await db.schema
    .createTable('frequency_state')
    .addColumn('month_at', big, (c) => c.notNull())
    .addColumn('owner_id', 'text', (c) => c.notNull())
    .addColumn('number', 'text', (c) => c.notNull())
    .addColumn('category', 'text', (c) => c.notNull())
    .addColumn('minute_at', big, (c) => c.notNull().defaultTo(0))
    .addColumn('minute_n', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('hour_at', big, (c) => c.notNull().defaultTo(0))
    .addColumn('hour_n', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('day_at', big, (c) => c.notNull().defaultTo(0))
    .addColumn('day_n', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('month_n', 'integer', (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('frequency_state_pk', ['month_at', 'owner_id', 'number', 'category'])
    .$call((t) => (dialect === 'sqlite' ? t.modifyEnd(sql`without rowid`) : t))
    .execute();

  // The current month's counts: the latest bucket of each period per (owner, number, category).
  const d = new Date();
  const monthStart = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  const old = await sql<{
    owner_id: string;
    number: string;
    category: string;
    period: string;
    bucket: number;
    count: number;
  }>`
    select owner_id, number, category, period, bucket, count from frequency_counters where bucket >= ${monthStart}
  `.execute(db);
  const rows = new Map<string, Record<string, string | number>>();
  for (const r of old.rows) {
    const key = `${r.owner_id}|${r.number}|${r.category}`;
    const row = rows.get(key) ?? {
      month_at: monthStart,
      owner_id: r.owner_id,
      number: r.number,
      category: r.category,
      minute_at: 0,
      minute_n: 0,
      hour_at: 0,
      hour_n: 0,
      day_at: 0,
      day_n: 0,
      month_n: 0,
    };
    rows.set(key, row);
    const p = r.period as (typeof PERIODS)[number];
    if (!PERIODS.includes(p)) continue;
    const bucket = Number(r.bucket);
    if (p === 'month') row.month_n = Number(r.count);
    else if (bucket >= Number(row[`${p}_at`])) {
      row[`${p}_at`] = bucket;
      row[`${p}_n`] = Number(r.count);
    }
  }
  const all = [...rows.values()];
  for (let i = 0; i < all.length; i += 500) {
    await db
      .insertInto('frequency_state' as never)
      .values(all.slice(i, i + 500) as never)
      .execute();
  }
  await db.schema.dropTable('frequency_counters').execute();
}
