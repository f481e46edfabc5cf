/**
 * Migration 024 and its counters: the current month's counts of the old per-period rows move
 * into one row per recipient (older months and older buckets do not), the old table goes, and
 * pruning drops whole months that started before the given time, no more.
 */
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { migrate } from '../../src/store/db.js';
import { createStore } from '../../src/store/index.js';
import { TEST_DBS } from '../support/db.js';

describe.each(TEST_DBS)('frequency_state ($name)', (tdb) => {
  it('takes over the current month of frequency_counters', async () => {
    const { db, cleanup } = await tdb.open();
    try {
      const now = Date.now();
      const d = new Date(now);
      const month = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
      const hour = now - (now % 3_600_000);
      const day = now - (now % 86_400_000);
      // The table as migration 014 made it, with rows of this month and of the one before.
      await sql`create table frequency_counters (owner_id text not null, number text not null,
        category text not null, period text not null, bucket bigint not null, count integer not null,
        primary key (owner_id, number, category, period, bucket))`.execute(db.kysely);
      await sql`insert into frequency_counters values
        ('u1', '+1', '', 'hour', ${hour - 3_600_000}, 9), ('u1', '+1', '', 'hour', ${hour}, 3),
        ('u1', '+1', '', 'day', ${day}, 4), ('u1', '+1', '', 'month', ${month}, 7),
        ('u1', '+2', 'marketing', 'hour', ${hour}, 1),
        ('u1', '+3', '', 'day', ${month - 86_400_000}, 5)`.execute(db.kysely);
      await sql`drop table frequency_state`.execute(db.kysely);
      await sql`delete from smsgw_migrations where name = '024-frequency-state'`.execute(db.kysely);
      // Migrations after 024 run again behind it (Kysely keeps them in order): undo them.
      await sql`alter table messages drop column charge`.execute(db.kysely);
      await sql`alter table messages drop column category`.execute(db.kysely);
      await sql`drop index prices_prefix_length`.execute(db.kysely);
      await sql`delete from smsgw_migrations where name in ('025-credit-charges', '027-message-policy')`.execute(
        db.kysely,
      );
      expect(await migrate(db)).toEqual(['024-frequency-state', '025-credit-charges', '027-message-policy']);

      const rows = await db.kysely.selectFrom('frequency_state').selectAll().orderBy('number').execute();
      expect(rows.map((r) => ({ ...r, month_at: Number(r.month_at) }))).toEqual([
        {
          month_at: month,
          owner_id: 'u1',
          number: '+1',
          category: '',
          minute_at: 0,
          minute_n: 0,
          hour_at: hour,
          hour_n: 3,
          day_at: day,
          day_n: 4,
          month_n: 7,
        },
        {
          month_at: month,
          owner_id: 'u1',
          number: '+2',
          category: 'marketing',
          minute_at: 0,
          minute_n: 0,
          hour_at: hour,
          hour_n: 1,
          day_at: 0,
          day_n: 0,
          month_n: 0,
        },
      ]);
      await expect(sql`select count(*) from frequency_counters`.execute(db.kysely)).rejects.toThrow();
    } finally {
      await cleanup();
    }
  });

  it('prunes the months that started before a time, and only those', async () => {
    const { db, cleanup } = await tdb.open();
    try {
      const store = createStore(db);
      const row = (month_at: number, number: string) => ({
        month_at,
        owner_id: 'u1',
        number,
        category: '',
        minute_at: 0,
        minute_n: 0,
        hour_at: 0,
        hour_n: 0,
        day_at: 0,
        day_n: 0,
        month_n: 1,
      });
      const oct = Date.UTC(2026, 9, 1);
      const nov = Date.UTC(2026, 10, 1);
      await db.kysely
        .insertInto('frequency_state')
        .values([row(oct, '+1'), row(oct, '+2'), row(oct, '+3'), row(nov, '+1')])
        .execute();
      expect(await store.policy.pruneCounters(nov, 2)).toBe(2);
      expect(await store.policy.pruneCounters(nov, 2)).toBe(1);
      expect(await store.policy.pruneCounters(nov, 2)).toBe(0);
      const left = await db.kysely.selectFrom('frequency_state').select(['month_at', 'number']).execute();
      expect(left.map((r) => [Number(r.month_at), r.number])).toEqual([[nov, '+1']]);
    } finally {
      await cleanup();
    }
  });
});
