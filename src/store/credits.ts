/**
 * Credits inside a transaction: prices by destination prefix, charging a prepaid balance at
 * acceptance, refunding a message that failed before leaving, and the ledger that records every
 * charge, refund and top-up. Balances change only with conditional `UPDATE … RETURNING`, so two
 * nodes charging one account at once never take it below zero.
 */
import type { Kysely, Transaction } from 'kysely';
import { sql } from 'kysely';
import type { SqlTarget } from './compiled.js';
import { listParam, runSql } from './compiled.js';
import { OwnerCache } from './owner-cache.js';
import { INSERT_CHUNK } from './rows.js';
import type { Database } from './schema.js';

export interface PriceRow {
  prefix: string;
  encoding: string;
  per_segment: number;
}

export interface Quote {
  /** Matched prefix ('' = the default price). */
  prefix: string;
  encoding: string;
  perSegment: number;
  segments: number;
  total: number;
}

/** Every prefix of an E.164 number's digits, longest last, with '' (the default price) first. */
export function prefixesOf(number: string): string[] {
  const digits = number.replace(/\D/g, '');
  const out = [''];
  for (let i = 1; i <= digits.length; i++) out.push(digits.slice(0, i));
  return out;
}

/** Longest prefix wins; at that prefix a price for the encoding beats one for `any`. Pure. */
export function pick(
  rows: readonly PriceRow[],
  number: string,
  encoding: string,
  segments: number,
): Quote | undefined {
  const prefixes = new Set(prefixesOf(number));
  let best: PriceRow | undefined;
  for (const r of rows) {
    if (!prefixes.has(r.prefix) || (r.encoding !== encoding && r.encoding !== 'any')) continue;
    if (
      !best ||
      r.prefix.length > best.prefix.length ||
      (r.prefix.length === best.prefix.length && r.encoding === encoding)
    )
      best = r;
  }
  if (!best) return undefined;
  return {
    prefix: best.prefix,
    encoding: best.encoding,
    perSegment: Number(best.per_segment),
    segments,
    total: Number(best.per_segment) * segments,
  };
}

const PRICES_OF = {
  sqlite: `select prefix, encoding, per_segment from prices where prefix in (select value from json_each(?))`,
  postgres: `select prefix, encoding, per_segment from prices where prefix = any($1::text[])`,
};

/** The longest prefix in the price list, from its index (migration 025); null when it is empty. */
const LONGEST_PREFIX = {
  sqlite: `select max(length(prefix)) as n from prices`,
  postgres: `select max(length(prefix)) as n from prices`,
};

/**
 * Price rows by prefix, for `pickIn`: a walk down one number's prefixes, not over every row.
 * `longest`: no prefix in the list is longer, so the walk starts there.
 */
export interface PriceIndex {
  readonly rows: Map<string, PriceRow[]>;
  readonly longest: number;
}

/** The digits of a number: E.164 `+digits` without a scan, anything else without its non-digits. */
function digitsOf(number: string): string {
  return number.charCodeAt(0) === 43 && /^\+\d+$/.test(number) ? number.slice(1) : number.replace(/\D/g, '');
}

/**
 * The price rows that can match any of the numbers, indexed by prefix: two fixed queries for
 * the whole batch (store/compiled.ts), the list's longest prefix and then the rows of the
 * numbers' prefixes up to that length. For the accepting transaction; `pricesFor` + `pick`
 * answer a single quote. Every prefix of every number (a 12-digit number has 12) cost about
 * 1 µs a recipient in slices, JSON and index probes; a list whose longest prefix has 2 digits
 * now costs 2 probes a number (bench/policy.ts).
 */
export async function priceIndexFor(target: SqlTarget, numbers: readonly string[]): Promise<PriceIndex> {
  const [top] = await runSql<{ n: number | string | null }>(target, LONGEST_PREFIX, []);
  if (top?.n == null) return { rows: new Map(), longest: 0 };
  const longest = Number(top.n);
  const prefixes = new Set<string>(['']);
  for (const n of numbers) {
    const digits = digitsOf(n);
    for (let i = Math.min(digits.length, longest); i >= 1; i--) {
      const p = digits.slice(0, i);
      if (prefixes.has(p)) break; // its shorter prefixes are in already
      prefixes.add(p);
    }
  }
  const rows = await runSql<PriceRow>(target, PRICES_OF, [listParam(target.dialect, [...prefixes])]);
  return { rows: indexOf(rows).rows, longest };
}

/** The whole price list, at most `limit` rows (a list longer than the cache holds has limit + 1). */
const ALL_PRICES = {
  sqlite: `select prefix, encoding, per_segment from prices limit ?`,
  postgres: `select prefix, encoding, per_segment from prices limit $1`,
};

/**
 * The price list of this node, for the accepting transaction: the whole list as one PriceIndex,
 * read at most once every `ttlMs`. Prices are admin configuration, changed by hand and rarely,
 * while the two queries of `priceIndexFor` (the longest prefix, then the batch's prefixes) ran in
 * every accepting transaction of a prepaid sender — 2 of the credits rule's 6 statements a batch,
 * 10–30 µs each (docs/benchmarks.md, issue 14). A change made through this node's store
 * (`PolicyRepo.setPrice`/`removePrice`) applies at once, even to a read in flight (on
 * store/owner-cache.ts, whose stamp fences it); one made on another node or by the CLI (its own
 * process) within `ttlMs`, the contract of the policy settings and templates (docs/scale-out.md).
 * A list longer than `maxRows` is not held: each batch reads its prefixes as before. Balances
 * are never cached: they are read in the accepting transaction (policy/credits.ts).
 */
export class PriceCache {
  /** One entry, the whole list (`index` undefined: longer than `maxRows`), on OwnerCache's fencing. */
  private readonly cache: OwnerCache<{ index: PriceIndex | undefined }>;

  constructor(
    ttlMs = 2_000,
    private readonly maxRows = 10_000,
  ) {
    this.cache = new OwnerCache(ttlMs, 1);
  }

  /** The prices that can match the numbers (the whole list while it is held). */
  async indexFor(target: SqlTarget, numbers: readonly string[], now = Date.now()): Promise<PriceIndex> {
    let e = this.cache.get(LIST, now);
    if (!e) {
      const stamp = this.cache.stamp();
      const rows = await runSql<PriceRow>(target, ALL_PRICES, [this.maxRows + 1]);
      e = { index: rows.length > this.maxRows ? undefined : indexOf(rows) };
      this.cache.set(LIST, e, stamp, now);
    }
    return e.index ?? priceIndexFor(target, numbers);
  }

  /** After a write to the price list. */
  forget(): void {
    this.cache.forget();
  }
}

/** The price list is one, shared by every owner: its key in the cache. */
const LIST = '';

function indexOf(rows: readonly PriceRow[]): PriceIndex {
  const index = new Map<string, PriceRow[]>();
  let longest = 0;
  for (const r of rows) {
    const at = index.get(r.prefix);
    if (at) at.push(r);
    else index.set(r.prefix, [r]);
    longest = Math.max(longest, r.prefix.length);
  }
  return { rows: index, longest };
}

/** `pick` over a PriceIndex: the same answer (longest prefix, then the encoding's own price). */
export function pickIn(
  index: PriceIndex,
  number: string,
  encoding: string,
  segments: number,
): Quote | undefined {
  if (index.rows.size === 0) return undefined;
  const digits = digitsOf(number);
  for (let len = Math.min(digits.length, index.longest); len >= 0; len--) {
    const rows = index.rows.get(len === 0 ? '' : digits.slice(0, len));
    if (!rows) continue;
    const best = rows.find((r) => r.encoding === encoding) ?? rows.find((r) => r.encoding === 'any');
    if (!best) continue;
    const perSegment = Number(best.per_segment);
    return {
      prefix: best.prefix,
      encoding: best.encoding,
      perSegment,
      segments,
      total: perSegment * segments,
    };
  }
  return undefined;
}

/** The price rows that can match any of the numbers (one query per chunk of prefixes). */
export async function pricesFor(
  trx: Transaction<Database> | Kysely<Database>,
  numbers: readonly string[],
): Promise<PriceRow[]> {
  const prefixes = [...new Set(numbers.flatMap(prefixesOf))];
  const out: PriceRow[] = [];
  for (let i = 0; i < prefixes.length; i += INSERT_CHUNK) {
    out.push(
      ...(await trx
        .selectFrom('prices')
        .select(['prefix', 'encoding', 'per_segment'])
        .where('prefix', 'in', prefixes.slice(i, i + INSERT_CHUNK))
        .execute()),
    );
  }
  return out;
}

/**
 * Gives back what the messages were charged, once each (the ledger's unique (message, kind)
 * makes a second refund of the same message a no-op). For messages that end without leaving:
 * failed before any submit succeeded, canceled, expired while waiting. Only definite failures:
 * a message with `outcome_unknown` (a submit handed over with no answer, or some parts taken)
 * may have been delivered and keeps its charge, as operators and Kannel bill on submit.
 */
export async function refundMessages(
  trx: Transaction<Database>,
  ids: readonly string[],
  now: number,
  note: string,
): Promise<number> {
  let refunded = 0;
  for (let i = 0; i < ids.length; i += INSERT_CHUNK) {
    // What each message was charged in the end: its charge (messages.charge, migration 027) and
    // any adjustments (replace_sm, in the ledger).
    const charges = await trx
      .selectFrom('messages as m')
      .select([
        'm.id as message_id',
        'm.owner_id as user_id',
        sql<number | string>`m.charge + coalesce((select sum(l.amount) from credit_ledger l
          where l.message_id = m.id and l.kind = 'adjust'), 0)`.as('amount'),
      ])
      .where('m.id', 'in', ids.slice(i, i + INSERT_CHUNK))
      .where('m.charge', 'is not', null)
      .where((eb) => eb.or([eb('m.outcome_unknown', 'is', null), eb('m.outcome_unknown', '<>', 1)]))
      // Balances in one order (user id), so two refunds of several owners cannot deadlock.
      .orderBy('m.owner_id')
      .execute();
    for (const c of charges) {
      const back = -Number(c.amount);
      if (!(back > 0)) continue;
      const inserted = await trx
        .insertInto('credit_ledger')
        .values({
          user_id: c.user_id,
          kind: 'refund',
          amount: back,
          balance_after: 0,
          message_id: c.message_id,
          note,
          created_at: now,
        })
        // The unique index leaves repeatable adjustments out (migration 023): name its predicate.
        .onConflict((oc) =>
          oc
            .columns(['message_id', 'kind'])
            .where(sql<boolean>`kind <> 'adjust'`)
            .doNothing(),
        )
        .returning('id')
        .executeTakeFirst();
      if (!inserted) continue;
      const bal = await trx
        .updateTable('account_policy')
        .set((eb) => ({ balance: eb('balance', '+', back), updated_at: now }))
        .where('user_id', '=', c.user_id)
        .returning('balance')
        .executeTakeFirst();
      await trx
        .updateTable('credit_ledger')
        .set({ balance_after: Number(bal?.balance ?? 0) })
        .where('id', '=', inserted.id)
        .execute();
      refunded++;
    }
  }
  return refunded;
}

/**
 * The account's prepaid balance, locked for the rest of the transaction on PostgreSQL (`lock`:
 * a no-op update takes the row lock; SQLite's one writer needs none). Lock order: a transaction
 * that changes both an account's balance and its messages takes the balance first, as accepting
 * does (the policy's credits rule, then replace_if_present's cancels); cancel and replace_sm
 * call this before touching the message, so two of them cannot deadlock (a 40P01 would be a 500).
 */
export async function lockBalance(
  trx: Transaction<Database>,
  userId: string,
  lock: boolean,
): Promise<number> {
  if (!lock) {
    const r = await trx
      .selectFrom('account_policy')
      .select('balance')
      .where('user_id', '=', userId)
      .where('prepaid', '=', 1)
      .executeTakeFirst();
    return Number(r?.balance ?? 0);
  }
  const row = await trx
    .updateTable('account_policy')
    .set((eb) => ({ balance: eb.ref('balance') }))
    .where('user_id', '=', userId)
    .where('prepaid', '=', 1)
    .returning('balance')
    .executeTakeFirst();
  return Number(row?.balance ?? 0);
}

/**
 * A queued message's text was replaced (SMPP replace_sm) and its segments went from `from` to
 * `to`: a prepaid account pays the difference at the rate the message was charged (what it paid
 * per segment), or gets it back, as an `adjust` ledger row in the caller's transaction. False
 * (nothing written) when the balance does not cover a rise. A message that was not charged (no
 * prepaid balance, a free destination) is not adjusted.
 */
export async function adjustCharge(
  trx: Transaction<Database>,
  messageId: string,
  from: number,
  to: number,
  now: number,
  lock: boolean,
): Promise<boolean> {
  if (from === to || from <= 0) return true;
  const charge = await trx
    .selectFrom('messages')
    .select(['owner_id as user_id', 'charge as amount'])
    .where('id', '=', messageId)
    .where('charge', 'is not', null)
    .executeTakeFirst();
  if (!charge) return true;
  const rows = await trx
    .selectFrom('credit_ledger')
    .select(['amount', 'kind'])
    .where('message_id', '=', messageId)
    .where('kind', 'in', ['adjust', 'refund'])
    .execute();
  if (rows.some((r) => r.kind === 'refund')) return true;
  const account = await trx
    .selectFrom('account_policy')
    .select('prepaid')
    .where('user_id', '=', charge.user_id)
    .executeTakeFirst();
  if (account?.prepaid !== 1) return true;
  const paid = -rows.reduce((sum, r) => sum + Number(r.amount), Number(charge.amount));
  const perSegment = paid / from;
  const diff = Math.round(perSegment * (to - from));
  if (diff === 0) return true;
  const balance = await lockBalance(trx, charge.user_id, lock);
  if (diff > balance) return false;
  const after = await trx
    .updateTable('account_policy')
    .set((eb) => ({ balance: eb('balance', '-', diff), updated_at: now }))
    .where('user_id', '=', charge.user_id)
    .returning('balance')
    .executeTakeFirstOrThrow();
  await trx
    .insertInto('credit_ledger')
    .values({
      user_id: charge.user_id,
      kind: 'adjust',
      amount: -diff,
      balance_after: Number(after.balance),
      message_id: messageId,
      note: `replaced: ${from} → ${to} segment(s) × ${perSegment}`,
      created_at: now,
    })
    .execute();
  return true;
}

/**
 * Counts an `unknown_subscriber` failure of a number for its sender, and blacklists the number
 * on the sender's list when the sender turned the automatic blacklist on and the count reaches
 * the setting. Returns true when the number was blacklisted now.
 */
export async function noteUnknownSubscriber(
  trx: Transaction<Database>,
  ownerId: string,
  number: string,
  now: number,
): Promise<boolean> {
  const policy = await trx
    .selectFrom('account_policy')
    .select('auto_blacklist_after')
    .where('user_id', '=', ownerId)
    .executeTakeFirst();
  const after = policy?.auto_blacklist_after;
  if (after == null || after <= 0) return false;
  const row = await trx
    .insertInto('unknown_subscriber_counts')
    .values({ owner_id: ownerId, number, failures: 1, updated_at: now })
    .onConflict((oc) =>
      oc.columns(['owner_id', 'number']).doUpdateSet((eb) => ({
        failures: eb('unknown_subscriber_counts.failures', '+', 1),
        updated_at: now,
      })),
    )
    .returning('failures')
    .executeTakeFirst();
  if (!row || row.failures < after) return false;
  const added = await trx
    .insertInto('number_lists')
    .values({
      kind: 'black',
      owner_id: ownerId,
      number,
      reason: `unknown_subscriber ${row.failures} times`,
      source: 'auto',
      created_at: now,
    })
    .onConflict((oc) => oc.columns(['kind', 'owner_id', 'number']).doNothing())
    .executeTakeFirst();
  return Number(added.numInsertedOrUpdatedRows ?? 0) > 0;
}
