/**
 * Frequency caps per recipient: at most N messages to one number per calendar minute, hour, day
 * or month (UTC), per user or from the global defaults, optionally per template category.
 * Over a cap: `frequency_limited`. Numbers on the user's or the global whitelist are exempt.
 *
 * Which caps apply to a message: the most specific set that exists, in this order: the user's
 * caps for the message's category, the user's general caps, the global caps for the category,
 * the global general caps. Each applicable cap has a counter row per (owner, number, category
 * of the set, period, period start). In the accepting transaction the rule first takes every
 * counter row the batch needs with one upsert per chunk (`INSERT … ON CONFLICT DO UPDATE SET
 * count = count RETURNING count`): on PostgreSQL that locks the rows until commit, so of two
 * transactions (on one node or two) the second waits and then reads the first's counts —
 * twenty concurrent sends under a cap of 5 accept exactly 5. SQLite has one writer. It then
 * decides per message in request order in memory and writes the new counts back in one upsert
 * per chunk. Keys are locked in sorted order, so two batches cannot deadlock on each other.
 * Two statements per chunk instead of two per message and cap: per message and cap, Kysely's
 * query building alone cost more than the insert (bench/policy.ts).
 */
import type { Transaction } from 'kysely';
import { INSERT_CHUNK } from '../store/rows.js';
import type { Database } from '../store/schema.js';
import { GLOBAL, listed, onList } from './lists.js';
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
}

/** The counter rows each message took in this transaction, for `release`. */
const takenIn = new WeakMap<PolicyContext, Map<string, CounterKey[]>>();

interface CounterKey {
  owner_id: string;
  number: string;
  category: string;
  period: Period;
  bucket: number;
}

const keyOf = (k: CounterKey) => `${k.owner_id}|${k.number}|${k.category}|${k.period}|${k.bucket}`;

export const frequencyRule: PolicyRule = {
  name: 'frequency',
  async release(ctx, refusedLater) {
    const taken = takenIn.get(ctx);
    for (const c of refusedLater) {
      for (const k of taken?.get(c.message.id) ?? []) await giveBack(ctx.trx, k);
    }
  },
  async check(ctx, candidates) {
    const out = new Map<string, Verdict>();
    const owners = [...new Set(candidates.map((c) => c.message.owner_id))];
    const rows = await ctx.trx
      .selectFrom('frequency_caps')
      .select(['owner_id', 'category', 'period', 'max_count'])
      .where('owner_id', 'in', [...owners, GLOBAL])
      .execute();
    if (rows.length === 0) return out;
    const sets = new Map<string, CapSet>();
    for (const r of rows) {
      const key = `${r.owner_id}|${r.category}`;
      const set = sets.get(key) ?? { category: r.category, caps: [] };
      set.caps.push({ period: r.period, max: r.max_count });
      sets.set(key, set);
    }
    for (const s of sets.values())
      s.caps.sort((a, b) => PERIODS.indexOf(a.period) - PERIODS.indexOf(b.period));
    const capped = candidates
      .map((c) => ({ c, set: capsFor(sets, c) }))
      .filter((x): x is { c: Candidate; set: CapSet } => x.set !== undefined);
    if (capped.length === 0) return out;
    const white = await listed(
      ctx,
      'white',
      capped.map((x) => x.c),
    );
    const counted = capped
      .filter(({ c }) => !onList(white, c))
      .map(({ c, set }) => ({
        c,
        set,
        keys: set.caps.map((cap): CounterKey => ({
          owner_id: c.message.owner_id,
          number: c.message.to,
          category: set.category,
          period: cap.period,
          bucket: periodStart(cap.period, ctx.now),
        })),
      }));
    if (counted.length === 0) return out;
    const all = new Map<string, CounterKey>();
    for (const x of counted) for (const k of x.keys) all.set(keyOf(k), k);
    const counts = await (ctx.caps.concurrentWriters ? lockCounters : readCounters)(
      ctx.trx,
      [...all.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, k]) => k),
    );
    let taken = takenIn.get(ctx);
    if (!taken) takenIn.set(ctx, (taken = new Map()));
    const changed = new Set<string>();
    for (const { c, set, keys } of counted) {
      const full = set.caps.findIndex((cap, i) => (counts.get(keyOf(keys[i] as CounterKey)) ?? 0) >= cap.max);
      if (full >= 0) {
        const over = set.caps[full] as Cap;
        out.set(c.message.id, {
          action: 'reject',
          code: 'frequency_limited',
          message: `At most ${over.max} message(s) per ${over.period} to this recipient${
            set.category ? ` (${set.category})` : ''
          }.`,
        });
        continue;
      }
      for (const k of keys) {
        const id = keyOf(k);
        counts.set(id, (counts.get(id) ?? 0) + 1);
        changed.add(id);
      }
      taken.set(c.message.id, keys);
    }
    await writeCounters(
      ctx.trx,
      [...changed].map((id) => ({ ...(all.get(id) as CounterKey), count: counts.get(id) as number })),
    );
    return out;
  },
};

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

const COUNTER_COLUMNS = ['owner_id', 'number', 'category', 'period', 'bucket'] as const;

/**
 * Creates the missing counter rows and locks every one (PostgreSQL: row locks until commit),
 * returning the current counts. The no-op update is what takes the lock on existing rows.
 */
async function lockCounters(
  trx: Transaction<Database>,
  keys: readonly CounterKey[],
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let i = 0; i < keys.length; i += INSERT_CHUNK) {
    const rows = await trx
      .insertInto('frequency_counters')
      .values(keys.slice(i, i + INSERT_CHUNK).map((k) => ({ ...k, count: 0 })))
      .onConflict((oc) =>
        oc.columns([...COUNTER_COLUMNS]).doUpdateSet((eb) => ({ count: eb.ref('frequency_counters.count') })),
      )
      .returning([...COUNTER_COLUMNS, 'count'])
      .execute();
    for (const r of rows)
      counts.set(keyOf({ ...r, period: r.period as Period, bucket: Number(r.bucket) }), r.count);
  }
  return counts;
}

/**
 * One writer (SQLite): the counts read here cannot change before this transaction commits, so a
 * plain read (a superset: every owner × number × bucket combination, filtered here) is enough.
 */
async function readCounters(
  trx: Transaction<Database>,
  keys: readonly CounterKey[],
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const owners = [...new Set(keys.map((k) => k.owner_id))];
  const buckets = [...new Set(keys.map((k) => k.bucket))];
  const numbers = [...new Set(keys.map((k) => k.number))];
  for (let i = 0; i < numbers.length; i += INSERT_CHUNK) {
    const rows = await trx
      .selectFrom('frequency_counters')
      .select([...COUNTER_COLUMNS, 'count'])
      .where('number', 'in', numbers.slice(i, i + INSERT_CHUNK))
      .where('owner_id', 'in', owners)
      .where('bucket', 'in', buckets)
      .execute();
    for (const r of rows)
      counts.set(keyOf({ ...r, period: r.period as Period, bucket: Number(r.bucket) }), r.count);
  }
  return counts;
}

/** Writes the new counts of rows this transaction holds locked. */
async function writeCounters(
  trx: Transaction<Database>,
  rows: readonly (CounterKey & { count: number })[],
): Promise<void> {
  for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
    await trx
      .insertInto('frequency_counters')
      .values(rows.slice(i, i + INSERT_CHUNK))
      .onConflict((oc) =>
        oc.columns([...COUNTER_COLUMNS]).doUpdateSet((eb) => ({ count: eb.ref('excluded.count') })),
      )
      .execute();
  }
}

async function giveBack(trx: Transaction<Database>, k: CounterKey): Promise<void> {
  await trx
    .updateTable('frequency_counters')
    .set((eb) => ({ count: eb('count', '-', 1) }))
    .where('owner_id', '=', k.owner_id)
    .where('number', '=', k.number)
    .where('category', '=', k.category)
    .where('period', '=', k.period)
    .where('bucket', '=', k.bucket)
    .execute();
}
