/**
 * Frequency caps per recipient: at most N messages to one number per calendar minute, hour, day
 * or month (UTC), per user or from the global defaults, optionally per template category.
 * Over a cap: `frequency_limited`. Numbers on the user's or the global whitelist are exempt.
 *
 * Which caps apply to a message: the most specific set that exists, in this order: the user's
 * caps for the message's category, the user's general caps, the global caps for the category,
 * the global general caps. Each applicable cap has a counter row per (owner, number, category
 * of the set, period, period start), taken with one conditional upsert
 * (`INSERT … ON CONFLICT DO UPDATE SET count = count + 1 WHERE count < max RETURNING count`) in
 * the accepting transaction. On PostgreSQL the upsert locks the row until commit, so of two
 * transactions (on one node or two) the second waits and then sees the first's count: twenty
 * concurrent sends under a cap of 5 accept exactly 5. SQLite has one writer. A refusal by a
 * later cap gives back the places the earlier caps of the same message took.
 */
import type { Transaction } from 'kysely';
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

/** The places each message took in this transaction, for `release`. */
const takenIn = new WeakMap<
  PolicyContext,
  Map<string, { key: CounterKey; period: Period; bucket: number }[]>
>();

interface CounterKey {
  owner_id: string;
  number: string;
  category: string;
}

export const frequencyRule: PolicyRule = {
  name: 'frequency',
  async release(ctx, refusedLater) {
    const taken = takenIn.get(ctx);
    for (const c of refusedLater) {
      for (const t of taken?.get(c.message.id) ?? []) await giveBack(ctx.trx, t.key, t.period, t.bucket);
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
    for (const { c, set } of capped) {
      if (onList(white, c)) continue;
      let taken = takenIn.get(ctx);
      if (!taken) takenIn.set(ctx, (taken = new Map()));
      const over = await take(ctx.trx, c, set, ctx.now, taken);
      if (over) {
        out.set(c.message.id, {
          action: 'reject',
          code: 'frequency_limited',
          message: `At most ${over.max} message(s) per ${over.period} to this recipient${
            set.category ? ` (${set.category})` : ''
          }.`,
        });
      }
    }
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

/** Takes a place under every cap of the set; returns the cap that was full (places given back). */
async function take(
  trx: Transaction<Database>,
  c: Candidate,
  set: CapSet,
  now: number,
  record: Map<string, { key: CounterKey; period: Period; bucket: number }[]>,
): Promise<Cap | undefined> {
  const key: CounterKey = { owner_id: c.message.owner_id, number: c.message.to, category: set.category };
  const taken: number[] = [];
  for (const cap of set.caps) {
    const bucket = periodStart(cap.period, now);
    const row =
      cap.max <= 0
        ? undefined
        : await trx
            .insertInto('frequency_counters')
            .values({ ...key, period: cap.period, bucket, count: 1 })
            .onConflict((oc) =>
              oc
                .columns(['owner_id', 'number', 'category', 'period', 'bucket'])
                .doUpdateSet((eb) => ({ count: eb('frequency_counters.count', '+', 1) }))
                .where('frequency_counters.count', '<', cap.max),
            )
            .returning('count')
            .executeTakeFirst();
    if (row) {
      taken.push(bucket);
      continue;
    }
    for (const [i, b] of taken.entries()) await giveBack(trx, key, (set.caps[i] as Cap).period, b);
    return cap;
  }
  record.set(
    c.message.id,
    set.caps.map((cap, i) => ({ key, period: cap.period, bucket: taken[i] as number })),
  );
  return undefined;
}

async function giveBack(
  trx: Transaction<Database>,
  key: CounterKey,
  period: Period,
  bucket: number,
): Promise<void> {
  await trx
    .updateTable('frequency_counters')
    .set((eb) => ({ count: eb('count', '-', 1) }))
    .where('owner_id', '=', key.owner_id)
    .where('number', '=', key.number)
    .where('category', '=', key.category)
    .where('period', '=', period)
    .where('bucket', '=', bucket)
    .execute();
}
