/**
 * Frequency caps per recipient: at most N messages to one number per calendar minute, hour, day
 * or month (UTC), per user or from the global defaults, optionally per template category.
 * Over a cap: `frequency_limited`. Numbers on the user's or the global whitelist are exempt.
 *
 * Which caps apply to a message: the most specific set that exists, in this order: the user's
 * caps for the message's category, the user's general caps, the global caps for the category,
 * the global general caps. A recipient has ONE counter row per (month, owner, number, category
 * of the set) holding the counts of the current minute, hour, day and month (migration 024), so
 * a message costs one row whatever caps apply; it was one row per cap, each upserted through
 * Kysely, and caps added 74–84 % to accepting a batch (`BENCH_ROUNDS=30 npx tsx bench/policy.ts`).
 *
 * - SQLite (one writer, nothing changes under the transaction): per message, in request order,
 *   ONE prepared upsert that counts the message only if every cap still has room
 *   (`ON CONFLICT DO UPDATE … WHERE n < max`): no row changed means refused. About 2 µs of CPU a
 *   message through better-sqlite3 directly.
 * - PostgreSQL (several writers, several nodes): the batch's rows are taken with ONE upsert
 *   (`INSERT … ON CONFLICT DO UPDATE … RETURNING`) that locks them until commit, so of two
 *   transactions the second waits and then reads the first's counts — twenty concurrent sends
 *   under a cap of 5 accept exactly 5; the rule decides in request order in memory and writes
 *   the counts back with one `UPDATE … FROM unnest(…)`. Keys are taken in sorted order, so two
 *   batches cannot deadlock. One round trip each, whatever the batch's size.
 */
import type SQLite from 'better-sqlite3';
import type { DialectSql } from '../store/compiled.js';
import { listParam, rowStatement, runSql } from '../store/compiled.js';
import { GLOBAL, onList, whitelisted } from './lists.js';
import type { Period } from './periods.js';
import { PERIODS, periodStart } from './periods.js';
import type { Candidate, PolicyContext, PolicyRule, Verdict } from './rule.js';

interface Cap {
  period: Period;
  max: number;
}

/** The caps of one (owner, category) set, and the category its counters are kept under. */
interface CapSet {
  category: string;
  caps: Cap[];
  /** The maximum of each of PERIODS (2^31 − 1 where the set has no cap), bound by COUNT_ONE. */
  maxima: number[];
  /** A cap of 0: every message refused without counting. */
  zero: Cap | undefined;
}

/** One recipient's counter row (its key is `${owner}|${number}|${category}` within a month). */
interface State {
  owner_id: string;
  number: string;
  category: string;
  minute_at: number;
  minute_n: number;
  hour_at: number;
  hour_n: number;
  day_at: number;
  day_n: number;
  month_n: number;
}

const STATE_COLUMNS =
  'owner_id, number, category, minute_at, minute_n, hour_at, hour_n, day_at, day_n, month_n';

const CAPS: DialectSql = {
  sqlite: `select owner_id, category, period, max_count from frequency_caps
    where owner_id in (select value from json_each(?))`,
  postgres: `select owner_id, category, period, max_count from frequency_caps where owner_id = any($1::text[])`,
};

/**
 * SQLite: counts one message if every cap of its set has room, in one statement. A new row
 * starts at 1 (a cap of 0 is refused before). The SET's right-hand sides see the row as it was.
 * Parameters: month, owner, number, category, minute, hour and day starts, then the four maxima.
 */
const COUNT_ONE = `insert into frequency_state (month_at, ${STATE_COLUMNS})
  values (?, ?, ?, ?, ?, 1, ?, 1, ?, 1, 1)
  on conflict (month_at, owner_id, number, category) do update set
    minute_n = case when minute_at >= excluded.minute_at then minute_n + 1 else 1 end,
    minute_at = max(minute_at, excluded.minute_at),
    hour_n = case when hour_at >= excluded.hour_at then hour_n + 1 else 1 end,
    hour_at = max(hour_at, excluded.hour_at),
    day_n = case when day_at >= excluded.day_at then day_n + 1 else 1 end,
    day_at = max(day_at, excluded.day_at),
    month_n = month_n + 1
  where (minute_at < excluded.minute_at or minute_n < ?) and (hour_at < excluded.hour_at or hour_n < ?)
    and (day_at < excluded.day_at or day_n < ?) and month_n < ?`;

/** SQLite: a refused message's row, to say which cap was full. */
const READ_ONE = `select ${STATE_COLUMNS} from frequency_state
  where month_at = ? and owner_id = ? and number = ? and category = ?`;

/** PostgreSQL: creates the missing rows and locks every one until commit (the no-op update locks). */
const LOCK: DialectSql = {
  sqlite: '-- not used',
  postgres: `insert into frequency_state (month_at, owner_id, number, category)
    select $1::bigint, k.o, k.n, k.c from unnest($2::text[], $3::text[], $4::text[]) with ordinality as k(o, n, c, i)
    order by k.i
    on conflict (month_at, owner_id, number, category) do update set minute_n = frequency_state.minute_n
    returning ${STATE_COLUMNS}`,
};

/** PostgreSQL: the new counts of rows this transaction holds locked. */
const WRITE = {
  sqlite: '-- not used',
  postgres: `update frequency_state f set minute_at = v.minute_at, minute_n = v.minute_n,
      hour_at = v.hour_at, hour_n = v.hour_n, day_at = v.day_at, day_n = v.day_n, month_n = v.month_n
    from unnest($2::text[], $3::text[], $4::text[], $5::bigint[], $6::int[], $7::bigint[], $8::int[],
      $9::bigint[], $10::int[], $11::int[])
      as v(owner_id, number, category, minute_at, minute_n, hour_at, hour_n, day_at, day_n, month_n)
    where f.month_at = $1 and f.owner_id = v.owner_id and f.number = v.number and f.category = v.category`,
};

/** Gives one place back in each period still current (a message a later rule refused). */
const GIVE_BACK: DialectSql = {
  sqlite: `update frequency_state set minute_n = minute_n - (case when minute_at >= ? then 1 else 0 end),
      hour_n = hour_n - (case when hour_at >= ? then 1 else 0 end),
      day_n = day_n - (case when day_at >= ? then 1 else 0 end), month_n = month_n - 1
    where month_at = ? and owner_id = ? and number = ? and category = ?`,
  postgres: `update frequency_state set minute_n = minute_n - (case when minute_at >= $1 then 1 else 0 end),
      hour_n = hour_n - (case when hour_at >= $2 then 1 else 0 end),
      day_n = day_n - (case when day_at >= $3 then 1 else 0 end), month_n = month_n - 1
    where month_at = $4 and owner_id = $5 and number = $6 and category = $7`,
};

/** The period starts of one transaction's time. */
interface Buckets {
  minute: number;
  hour: number;
  day: number;
  month: number;
}

function bucketsAt(now: number): Buckets {
  return {
    minute: periodStart('minute', now),
    hour: periodStart('hour', now),
    day: periodStart('day', now),
    month: periodStart('month', now),
  };
}

/**
 * Messages counted in the current period of a row. A row whose period is *later* than this
 * transaction's (its clock read before it waited for the row's lock, or another node's clock a
 * little ahead) is the current one: counting it as empty and moving the period back would let a
 * transaction from just before a boundary reset the new period's count (a cap of 1 a minute let
 * two through, found in review on PostgreSQL). Periods never move backwards.
 */
function countIn(s: State, period: Period, b: Buckets): number {
  switch (period) {
    case 'minute':
      return s.minute_at >= b.minute ? s.minute_n : 0;
    case 'hour':
      return s.hour_at >= b.hour ? s.hour_n : 0;
    case 'day':
      return s.day_at >= b.day ? s.day_n : 0;
    case 'month':
      return s.month_n;
  }
}

/** One more message in every period (all four are kept, so a cap added later counts from then on). */
function take(s: State, b: Buckets): void {
  s.minute_n = s.minute_at >= b.minute ? s.minute_n + 1 : 1;
  s.minute_at = Math.max(s.minute_at, b.minute);
  s.hour_n = s.hour_at >= b.hour ? s.hour_n + 1 : 1;
  s.hour_at = Math.max(s.hour_at, b.hour);
  s.day_n = s.day_at >= b.day ? s.day_n + 1 : 1;
  s.day_at = Math.max(s.day_at, b.day);
  s.month_n += 1;
}

/**
 * What `check` counted in this transaction, for `release`: the candidates it counted and its
 * refusals. Worked out again in `release` (rare: a later rule refused a counted message) rather
 * than recorded per message in `check`.
 */
const countedIn = new WeakMap<PolicyContext, { counted: readonly Counted[]; out: Map<string, Verdict> }[]>();

export const frequencyRule: PolicyRule = {
  name: 'frequency',
  async release(ctx, refusedLater) {
    const later = new Set(refusedLater.map((c) => c.message.id));
    const b = bucketsAt(ctx.now);
    for (const { counted, out } of countedIn.get(ctx) ?? []) {
      for (const { c, set } of counted) {
        if (!later.has(c.message.id) || out.has(c.message.id)) continue;
        const m = c.message;
        await runSql(ctx, GIVE_BACK, [b.minute, b.hour, b.day, b.month, m.owner_id, m.to, set.category]);
      }
    }
  },
  async check(ctx, candidates) {
    const out = new Map<string, Verdict>();
    const owners = [...new Set(candidates.map((c) => c.message.owner_id))];
    const rows = await runSql<{ owner_id: string; category: string; period: Period; max_count: number }>(
      ctx,
      CAPS,
      [listParam(ctx.dialect, [...owners, GLOBAL])],
    );
    if (rows.length === 0) return out;
    const sets = new Map<string, CapSet>();
    for (const r of rows) {
      const key = `${r.owner_id}|${r.category}`;
      const set = sets.get(key) ?? { category: r.category, caps: [], maxima: [], zero: undefined };
      set.caps.push({ period: r.period, max: Number(r.max_count) });
      sets.set(key, set);
    }
    for (const s of sets.values()) {
      s.caps.sort((a, b) => PERIODS.indexOf(a.period) - PERIODS.indexOf(b.period));
      s.maxima = PERIODS.map((p) => maxOf(s, p));
      s.zero = s.caps.find((cap) => cap.max <= 0);
    }
    const setOf = capsLookup(sets);
    const capped: Counted[] = [];
    for (const c of candidates) {
      const set = setOf(c);
      if (set) capped.push({ c, set });
    }
    if (capped.length === 0) return out;
    const white = await whitelisted(
      ctx,
      capped.map((x) => x.c),
    );
    const counted = white.size === 0 ? capped : capped.filter(({ c }) => !onList(white, c));
    if (counted.length === 0) return out;
    const runs = countedIn.get(ctx);
    if (runs) runs.push({ counted, out });
    else countedIn.set(ctx, [{ counted, out }]);
    const b = bucketsAt(ctx.now);
    if (ctx.caps.concurrentWriters) await countBatch(ctx, b, counted, out);
    else if (ctx.sqlite) countEach(ctx.sqlite, b, counted, out);
    else throw new Error('frequency caps on SQLite need the database handle (PolicyContext.sqlite)');
    return out;
  },
};

type Counted = { c: Candidate; set: CapSet };

function refusal(over: Cap, set: CapSet): Verdict {
  return {
    action: 'reject',
    code: 'frequency_limited',
    message: `At most ${over.max} message(s) per ${over.period} to this recipient${
      set.category ? ` (${set.category})` : ''
    }.`,
  };
}

/** The maximum of a period in a set, or one no count reaches. */
function maxOf(set: CapSet, period: Period): number {
  return set.caps.find((cap) => cap.period === period)?.max ?? 2 ** 31 - 1;
}

/** SQLite: one conditional upsert per message, in request order (see COUNT_ONE). */
function countEach(
  sqlite: SQLite.Database,
  b: Buckets,
  counted: readonly Counted[],
  out: Map<string, Verdict>,
): void {
  const count = rowStatement(sqlite, COUNT_ONE);
  for (const { c, set } of counted) {
    const m = c.message;
    const [minuteMax, hourMax, dayMax, monthMax] = set.maxima;
    const zero = set.zero;
    // `changes` is 0 when the WHERE kept the row as it was (a cap full): 1.9 µs of CPU a message
    // against 3.4 µs with RETURNING (bench/policy.ts machine).
    if (
      !zero &&
      count.run(
        b.month,
        m.owner_id,
        m.to,
        set.category,
        b.minute,
        b.hour,
        b.day,
        minuteMax,
        hourMax,
        dayMax,
        monthMax,
      ).changes > 0
    )
      continue;
    const s = rowStatement(sqlite, READ_ONE).get(b.month, m.owner_id, m.to, set.category) as
      State | undefined;
    const over =
      zero ?? set.caps.find((cap) => (s ? countIn(s, cap.period, b) : 0) >= cap.max) ?? set.caps[0];
    if (over) out.set(c.message.id, refusal(over, set));
  }
}

/** PostgreSQL: lock the batch's rows, decide in memory, write back. */
async function countBatch(
  ctx: PolicyContext,
  b: Buckets,
  counted: readonly Counted[],
  out: Map<string, Verdict>,
): Promise<void> {
  const wanted = new Map<string, Key>();
  const keyed = counted.map(({ c, set }) => {
    const key = `${c.message.owner_id}|${c.message.to}|${set.category}`;
    wanted.set(key, { owner_id: c.message.owner_id, number: c.message.to, category: set.category });
    return { c, set, key };
  });
  const states = await lockStates(
    ctx,
    b.month,
    [...wanted.entries()].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)).map(([, k]) => k),
  );
  const changed = new Map<string, State>();
  for (const { c, set, key } of keyed) {
    let s = states.get(key);
    if (!s) {
      const k = wanted.get(key) as Key;
      s = { ...k, minute_at: 0, minute_n: 0, hour_at: 0, hour_n: 0, day_at: 0, day_n: 0, month_n: 0 };
      states.set(key, s);
    }
    const state = s;
    const over = set.caps.find((cap) => countIn(state, cap.period, b) >= cap.max);
    if (over) {
      out.set(c.message.id, refusal(over, set));
      continue;
    }
    take(state, b);
    changed.set(key, state);
  }
  if (changed.size > 0) await writeStates(ctx, b.month, [...changed.values()]);
}

/** `capsFor`, worked out once per owner and category of a batch. */
function capsLookup(sets: ReadonlyMap<string, CapSet>): (c: Candidate) => CapSet | undefined {
  const byOwner = new Map<string, Map<string, CapSet | undefined>>();
  return (c) => {
    const owner = c.message.owner_id;
    const cat = c.info.category ?? '';
    let byCat = byOwner.get(owner);
    if (!byCat) byOwner.set(owner, (byCat = new Map()));
    if (byCat.has(cat)) return byCat.get(cat);
    const set = capsFor(sets, c);
    byCat.set(cat, set);
    return set;
  };
}

function capsFor(sets: ReadonlyMap<string, CapSet>, c: Candidate): CapSet | undefined {
  const owner = c.message.owner_id;
  const cat = c.info.category ?? '';
  const order = cat
    ? [`${owner}|${cat}`, `${owner}|`, `${GLOBAL}|${cat}`, `${GLOBAL}|`]
    : [`${owner}|`, `${GLOBAL}|`];
  for (const k of order) {
    const s = sets.get(k);
    if (s) return s;
  }
  return undefined;
}

type Key = { owner_id: string; number: string; category: string };

function byKey(rows: readonly State[]): Map<string, State> {
  const out = new Map<string, State>();
  for (const r of rows) {
    out.set(`${r.owner_id}|${r.number}|${r.category}`, {
      ...r,
      minute_at: Number(r.minute_at),
      minute_n: Number(r.minute_n),
      hour_at: Number(r.hour_at),
      hour_n: Number(r.hour_n),
      day_at: Number(r.day_at),
      day_n: Number(r.day_n),
      month_n: Number(r.month_n),
    });
  }
  return out;
}

async function lockStates(
  ctx: PolicyContext,
  month: number,
  keys: readonly Key[],
): Promise<Map<string, State>> {
  const rows = await runSql<State>(ctx, LOCK, [
    month,
    keys.map((k) => k.owner_id),
    keys.map((k) => k.number),
    keys.map((k) => k.category),
  ]);
  return byKey(rows);
}

async function writeStates(ctx: PolicyContext, month: number, rows: readonly State[]): Promise<void> {
  const col = <K extends keyof State>(k: K) => rows.map((s) => s[k]);
  await runSql(ctx, WRITE, [
    month,
    col('owner_id'),
    col('number'),
    col('category'),
    col('minute_at'),
    col('minute_n'),
    col('hour_at'),
    col('hour_n'),
    col('day_at'),
    col('day_n'),
    col('month_n'),
  ]);
}
