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
 * - SQLite (one writer, nothing changes under the transaction): caps count the messages that
 *   exist anyway (a message's set: the one its `category`, migration 027, maps to), and write
 *   nothing. One aggregate over the `messages_to` (to, id) index (ids are UUIDv7, so an id range
 *   is a time range) bounds each recipient's count; only recipients near a cap have their rows
 *   read, leaving out `rejected` ones (the policy's refusals), and the rule decides in request
 *   order in memory (countFromMessages). The counter row it upserted per message before
 *   (migration 024) cost +25 % of accepting a message in bulk, this +5 % (3 pairs against main,
 *   docs/benchmarks.md). A message a later rule refuses is stored `rejected` and no longer
 *   counts, so nothing is given back. A recipient near a cap costs a read of its rows in the
 *   longest capped period (from every owner): a number that gets thousands a day and is near
 *   its cap costs a few ms per batch that sends to it.
 * - PostgreSQL (several writers, several nodes): the batch's rows are taken with ONE upsert
 *   (`INSERT … ON CONFLICT DO UPDATE … RETURNING`) that locks them until commit, so of two
 *   transactions the second waits and then reads the first's counts — twenty concurrent sends
 *   under a cap of 5 accept exactly 5; the rule decides in request order in memory and writes
 *   the counts back with one `UPDATE … FROM unnest(…)`. Keys are taken in sorted order, so two
 *   batches cannot deadlock. One round trip each, whatever the batch's size.
 */
import type { DialectSql } from '../store/compiled.js';
import type { CapConfig } from '../store/policy.js';
import { listParam, runSql } from '../store/compiled.js';
import { idFloor } from '../store/stats.js';
import { GLOBAL, onList, whitelisted } from './lists.js';
import { BYPASS_CATEGORY } from './rule.js';
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
 * SQLite: the messages to the batch's numbers from the batch's owners since an id (a time: ids
 * are UUIDv7), not refused by the policy and not sent past it (BYPASS_CATEGORY). `indexed by`: with the owners' list the planner could
 * pick `messages_owner` and read every message of the owner since then.
 */
const SENT_SINCE = `select m.owner_id, m."to" as number, m.category, m.created_at
  from messages m indexed by messages_to
  where m."to" in (select value from json_each(?)) and m.id >= ?
    and m.owner_id in (select value from json_each(?)) and m.status <> 'rejected'
    and m.category is not '${BYPASS_CATEGORY}'`;

/**
 * SQLite: per number of the batch, its messages (of every owner, in every state) since each
 * period's start, a minute early, from the `messages_to` index alone (no table row read): an
 * upper bound of what any cap counts. Parameters: the minute's, hour's and day's floor ids, the
 * numbers, the floor id of the longest capped period (month_n counts from there).
 */
const UPPER_BOUNDS = `select "to" as number, sum(id >= ?) as minute_n, sum(id >= ?) as hour_n,
    sum(id >= ?) as day_n, count(*) as month_n
  from messages indexed by messages_to
  where "to" in (select value from json_each(?)) and id >= ?
  group by "to"`;

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
  sqlite: '-- not used: SQLite counts from the messages, where a refused one is `rejected`',
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
    if (!ctx.caps.concurrentWriters) return;
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
    const rows = await capsOf(ctx, [...owners, GLOBAL]);
    if (rows.length === 0) return out;
    const sets = new Map<string, CapSet>();
    for (const r of rows) {
      const key = `${r.owner_id}|${r.category}`;
      const set = sets.get(key) ?? { category: r.category, caps: [], zero: undefined };
      set.caps.push({ period: r.period, max: Number(r.max_count) });
      sets.set(key, set);
    }
    for (const s of sets.values()) {
      s.caps.sort((a, b) => PERIODS.indexOf(a.period) - PERIODS.indexOf(b.period));
      s.zero = s.caps.find((cap) => cap.max <= 0);
    }
    const setOf = capsLookup(sets);
    const capped: Counted[] = [];
    for (const c of candidates) {
      const set = setOf(c.message.owner_id, c.info.category ?? '');
      if (set) capped.push({ c, set });
    }
    if (capped.length === 0) return out;
    const white = await whitelisted(
      ctx,
      capped.map((x) => x.c),
    );
    const counted = white.size === 0 ? capped : capped.filter(({ c }) => !onList(white, c));
    if (counted.length === 0) return out;
    if (ctx.caps.concurrentWriters) {
      const runs = countedIn.get(ctx);
      if (runs) runs.push({ counted, out });
      else countedIn.set(ctx, [{ counted, out }]);
    }
    const b = bucketsAt(ctx.now);
    if (ctx.caps.concurrentWriters) await countBatch(ctx, b, counted, out);
    else await countFromMessages(ctx, b, counted, setOf, out);
    return out;
  },
};

type Counted = { c: Candidate; set: CapSet };

/**
 * The caps of the owners (and the global ones): from this node's cache while it holds them
 * (PolicyContext.capsConfig: 2 s, a change on this node at once, store/policy.ts), else one read
 * of the missing owners. Caps are configuration, changed by hand; reading them was one statement
 * in every accepting transaction (10–30 µs, docs/benchmarks.md issue 14). The counts stay exact:
 * they are never cached.
 */
async function capsOf(ctx: PolicyContext, owners: readonly string[]): Promise<readonly CapConfig[]> {
  const cache = ctx.capsConfig;
  const now = Date.now();
  const out: CapConfig[] = [];
  const missing: string[] = [];
  for (const o of owners) {
    const hit = cache?.get(o, now);
    if (hit) out.push(...hit);
    else missing.push(o);
  }
  if (missing.length === 0) return out;
  const stamp = cache?.stamp() ?? 0;
  const rows = await runSql<CapConfig>(ctx, CAPS, [listParam(ctx.dialect, missing)]);
  for (const r of rows) out.push({ ...r, max_count: Number(r.max_count) });
  if (cache) {
    const byOwner = new Map<string, CapConfig[]>(missing.map((o) => [o, []]));
    for (const r of rows) byOwner.get(r.owner_id)?.push({ ...r, max_count: Number(r.max_count) });
    for (const [o, caps] of byOwner) cache.set(o, caps, stamp, now);
  }
  return out;
}

function refusal(over: Cap, set: CapSet): Verdict {
  return {
    action: 'reject',
    code: 'frequency_limited',
    message: `At most ${over.max} message(s) per ${over.period} to this recipient${
      set.category ? ` (${set.category})` : ''
    }.`,
  };
}

/**
 * SQLite: most recipients are far from every cap, and the `messages_to` index alone says so
 * (UPPER_BOUNDS: their messages from anyone, in any state, plus the batch's to them, stay under
 * the smallest cap): those pass without a table row read. The others are counted exactly
 * (countExactly). The transaction is the only writer, so what it reads cannot change before it
 * commits. Reading the rows of every recipient's history instead cost +50–66 % of accepting a
 * message once recipients had ~9 messages of the day (`npx tsx bench/policy-cpu.ts`, load 12);
 * the bound +5 %.
 */
async function countFromMessages(
  ctx: PolicyContext,
  b: Buckets,
  counted: readonly Counted[],
  setOf: (owner: string, category: string) => CapSet | undefined,
  out: Map<string, Verdict>,
): Promise<void> {
  const inBatch = new Map<string, number>();
  const standing: Counted[] = [];
  for (const x of counted) {
    if (x.set.zero) out.set(x.c.message.id, refusal(x.set.zero, x.set));
    else {
      standing.push(x);
      inBatch.set(x.c.message.to, (inBatch.get(x.c.message.to) ?? 0) + 1);
    }
  }
  if (standing.length === 0) return;
  const since = sinceOf(b, standing);
  const floor = (ms: number) => idFloor(Math.max(ms, since) - 60_000);
  const bounds = await runSql<{
    number: string;
    minute_n: number;
    hour_n: number;
    day_n: number;
    month_n: number;
  }>(ctx, { sqlite: UPPER_BOUNDS, postgres: '-- not used: PostgreSQL keeps frequency_state (countBatch)' }, [
    floor(b.minute),
    floor(b.hour),
    floor(b.day),
    listParam(ctx.dialect, [...inBatch.keys()]),
    floor(since),
  ]);
  const upper = new Map(bounds.map((r) => [r.number, r]));
  const hot = new Set<string>();
  for (const { c, set } of standing) {
    const to = c.message.to;
    if (hot.has(to)) continue;
    const u = upper.get(to);
    const n = inBatch.get(to) ?? 0;
    if (set.caps.some((cap) => (u ? Number(u[`${cap.period}_n`]) : 0) + n > cap.max)) hot.add(to);
  }
  if (hot.size > 0) {
    await countExactly(
      ctx,
      b,
      standing.filter(({ c }) => hot.has(c.message.to)),
      setOf,
      out,
    );
  }
}

/** The start of the longest period any of the sets caps. */
function sinceOf(b: Buckets, counted: readonly Counted[]): number {
  let since = b.minute;
  for (const { set } of counted) since = Math.min(since, b[longest(set)]);
  return since;
}

/**
 * SQLite: counts the recipients' messages that exist (SENT_SINCE) per cap set, then decides in
 * request order and counts what it lets through, in memory.
 */
async function countExactly(
  ctx: PolicyContext,
  b: Buckets,
  counted: readonly Counted[],
  setOf: (owner: string, category: string) => CapSet | undefined,
  out: Map<string, Verdict>,
): Promise<void> {
  // From the start of the longest period any set caps; a minute early, as an id can be made a
  // little before its row's created_at, which decides.
  const since = sinceOf(b, counted);
  const numbers = [...new Set(counted.map(({ c }) => c.message.to))];
  const owners = [...new Set(counted.map(({ c }) => c.message.owner_id))];
  const rows = await runSql<{
    owner_id: string;
    number: string;
    category: string | null;
    created_at: number;
  }>(ctx, { sqlite: SENT_SINCE, postgres: '-- not used: PostgreSQL keeps frequency_state (countBatch)' }, [
    listParam(ctx.dialect, numbers),
    idFloor(since - 60_000),
    listParam(ctx.dialect, owners),
  ]);
  const states = new Map<string, State>();
  const stateOf = (owner: string, number: string, category: string): State => {
    const key = `${owner}|${number}|${category}`;
    let s = states.get(key);
    if (!s) {
      s = {
        owner_id: owner,
        number,
        category,
        minute_at: 0,
        minute_n: 0,
        hour_at: 0,
        hour_n: 0,
        day_at: 0,
        day_n: 0,
        month_n: 0,
      };
      states.set(key, s);
    }
    return s;
  };
  for (const r of rows) {
    const set = setOf(r.owner_id, r.category ?? '');
    if (!set) continue;
    const at = Number(r.created_at);
    if (at < b.month) continue;
    const s = stateOf(r.owner_id, r.number, set.category);
    s.month_n += 1;
    if (at >= b.day) {
      s.day_at = b.day;
      s.day_n += 1;
    }
    if (at >= b.hour) {
      s.hour_at = b.hour;
      s.hour_n += 1;
    }
    if (at >= b.minute) {
      s.minute_at = b.minute;
      s.minute_n += 1;
    }
  }
  for (const { c, set } of counted) {
    const s = stateOf(c.message.owner_id, c.message.to, set.category);
    const over = set.zero ?? set.caps.find((cap) => countIn(s, cap.period, b) >= cap.max);
    if (over) out.set(c.message.id, refusal(over, set));
    else take(s, b);
  }
}

/** The longest period a set caps (its counts are read from that period's start). */
function longest(set: CapSet): Period {
  return set.caps.reduce<Period>(
    (p, cap) => (PERIODS.indexOf(cap.period) > PERIODS.indexOf(p) ? cap.period : p),
    'minute',
  );
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
function capsLookup(
  sets: ReadonlyMap<string, CapSet>,
): (owner: string, category: string) => CapSet | undefined {
  const byOwner = new Map<string, Map<string, CapSet | undefined>>();
  return (owner, cat) => {
    let byCat = byOwner.get(owner);
    if (!byCat) byOwner.set(owner, (byCat = new Map()));
    if (byCat.has(cat)) return byCat.get(cat);
    const set = capsFor(sets, owner, cat);
    byCat.set(cat, set);
    return set;
  };
}

function capsFor(sets: ReadonlyMap<string, CapSet>, owner: string, cat: string): CapSet | undefined {
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
