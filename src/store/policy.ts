/**
 * The sending policy's settings as the API and the CLI manage them: blacklists and whitelists,
 * per-user switches, frequency caps, prices, balances and the ledger. The checks themselves run
 * in the accepting transaction (policy/); this repository only reads and writes the settings.
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { PriceCache } from './credits.js';
import type { OwnerCache } from './owner-cache.js';
import { pick, pricesFor } from './credits.js';
import type { Quote } from './credits.js';
import type {
  AccountPolicyTable,
  CreditLedgerTable,
  Database,
  FrequencyCapsTable,
  NumberListsTable,
  PricesTable,
} from './schema.js';
import type { Selectable } from 'kysely';

export type ListKind = 'black' | 'white';
export type ListEntry = Selectable<NumberListsTable>;
export type CapRow = Selectable<FrequencyCapsTable>;

/** A cap as the frequency rule reads it. */
export type CapConfig = Pick<CapRow, 'owner_id' | 'category' | 'period' | 'max_count'>;

/**
 * The caps of each owner ('' = the global defaults) as this node's accepting transactions read
 * them: held 2 s, forgotten at once on this node's `replaceCaps`, another node's change seen
 * within 2 s (store/owner-cache.ts; policy/frequency.ts).
 */
export type CapsCache = OwnerCache<readonly CapConfig[]>;
export type PriceEntry = Selectable<PricesTable>;
export type LedgerRow = Selectable<CreditLedgerTable>;
export type AccountPolicy = Selectable<AccountPolicyTable>;

export interface NewListEntry {
  number: string;
  reason: string | null;
}

export class ListFullError extends Error {
  constructor(readonly max: number) {
    super(`The list holds at most ${max} numbers.`);
  }
}

/** Rows per multi-row insert of list entries (6 columns; far under SQLite's parameter limit). */
const LIST_CHUNK = 500;

export class PolicyRepo {
  constructor(
    private readonly db: Kysely<Database>,
    /** The accepting transactions' price list: forgotten on every write to the prices. */
    private readonly priceCache?: PriceCache,
    /** The accepting transactions' caps: an owner's forgotten when they are replaced. */
    private readonly capsCache?: CapsCache,
  ) {}

  // ---- lists

  /**
   * Adds entries to one list (owner '' = global) in one transaction; existing numbers keep their
   * first entry. Over `max` entries in all, nothing is added (ListFullError). Concurrent adds on
   * PostgreSQL may pass the check together and overshoot by the entries in flight: bounded.
   */
  async addToList(
    kind: ListKind,
    ownerId: string,
    entries: readonly NewListEntry[],
    source: string,
    max: number,
  ): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      const now = Date.now();
      let added = 0;
      for (let i = 0; i < entries.length; i += LIST_CHUNK) {
        const res = await trx
          .insertInto('number_lists')
          .values(
            entries.slice(i, i + LIST_CHUNK).map((e) => ({
              kind,
              owner_id: ownerId,
              number: e.number,
              reason: e.reason,
              source,
              created_at: now,
            })),
          )
          .onConflict((oc) => oc.columns(['kind', 'owner_id', 'number']).doNothing())
          .executeTakeFirst();
        added += Number(res.numInsertedOrUpdatedRows ?? 0);
      }
      if (added > 0 && (await this.countIn(trx, kind, ownerId)) > max) throw new ListFullError(max);
      return added;
    });
  }

  private async countIn(db: Kysely<Database>, kind: ListKind, ownerId: string): Promise<number> {
    const r = await db
      .selectFrom('number_lists')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('kind', '=', kind)
      .where('owner_id', '=', ownerId)
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  count(kind: ListKind, ownerId: string): Promise<number> {
    return this.countIn(this.db, kind, ownerId);
  }

  async removeFromList(kind: ListKind, ownerId: string, number: string): Promise<boolean> {
    const r = await this.db
      .deleteFrom('number_lists')
      .where('kind', '=', kind)
      .where('owner_id', '=', ownerId)
      .where('number', '=', number)
      .executeTakeFirst();
    if (kind === 'black') {
      // A number taken off by hand starts counting its failures again.
      await this.db
        .deleteFrom('unknown_subscriber_counts')
        .where('owner_id', '=', ownerId)
        .where('number', '=', number)
        .execute();
    }
    return Number(r.numDeletedRows) > 0;
  }

  entry(kind: ListKind, ownerId: string, number: string): Promise<ListEntry | undefined> {
    return this.db
      .selectFrom('number_lists')
      .selectAll()
      .where('kind', '=', kind)
      .where('owner_id', '=', ownerId)
      .where('number', '=', number)
      .executeTakeFirst();
  }

  /** One page of a list, ordered by number; `after` is the last number of the previous page. */
  listPage(kind: ListKind, ownerId: string, limit: number, after?: string): Promise<ListEntry[]> {
    let q = this.db
      .selectFrom('number_lists')
      .selectAll()
      .where('kind', '=', kind)
      .where('owner_id', '=', ownerId);
    if (after !== undefined) q = q.where('number', '>', after);
    return q.orderBy('number').limit(limit).execute();
  }

  /** Every entry of a list in pages (the CSV export holds one page at a time). */
  async *listAll(kind: ListKind, ownerId: string, pageRows = 1000): AsyncGenerator<ListEntry[]> {
    let after: string | undefined;
    for (;;) {
      const rows = await this.listPage(kind, ownerId, pageRows, after);
      if (rows.length > 0) yield rows;
      if (rows.length < pageRows) return;
      after = rows[rows.length - 1]?.number;
    }
  }

  // ---- per-user switches and credit

  async account(userId: string): Promise<AccountPolicy> {
    const row = await this.db
      .selectFrom('account_policy')
      .selectAll()
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return (
      row ?? {
        user_id: userId,
        test_mode: 0,
        auto_blacklist_after: null,
        prepaid: 0,
        balance: 0,
        updated_at: 0,
      }
    );
  }

  async updateAccount(
    userId: string,
    change: { test_mode?: number; auto_blacklist_after?: number | null; prepaid?: number },
  ): Promise<AccountPolicy> {
    const now = Date.now();
    await this.db
      .insertInto('account_policy')
      .values({
        user_id: userId,
        test_mode: change.test_mode ?? 0,
        auto_blacklist_after: change.auto_blacklist_after ?? null,
        prepaid: change.prepaid ?? 0,
        balance: 0,
        updated_at: now,
      })
      .onConflict((oc) => oc.column('user_id').doUpdateSet({ ...change, updated_at: now }))
      .execute();
    return this.account(userId);
  }

  /**
   * Adds (or with a negative amount takes) credit, recorded in the ledger with the balance after.
   * `prepaid` switches the account's mode in the same transaction.
   */
  async credit(
    userId: string,
    amount: number,
    note: string | null,
    prepaid?: boolean,
  ): Promise<{ balance: number; prepaid: boolean }> {
    return this.db.transaction().execute(async (trx) => {
      const now = Date.now();
      await trx
        .insertInto('account_policy')
        .values({
          user_id: userId,
          test_mode: 0,
          auto_blacklist_after: null,
          prepaid: prepaid === false ? 0 : 1,
          balance: 0,
          updated_at: now,
        })
        .onConflict((oc) => oc.column('user_id').doNothing())
        .execute();
      const row = await trx
        .updateTable('account_policy')
        .set((eb) => ({
          balance: eb('balance', '+', amount),
          updated_at: now,
          ...(prepaid !== undefined ? { prepaid: prepaid ? 1 : 0 } : {}),
        }))
        .where('user_id', '=', userId)
        .returning(['balance', 'prepaid'])
        .executeTakeFirstOrThrow();
      if (amount !== 0) {
        await trx
          .insertInto('credit_ledger')
          .values({
            user_id: userId,
            kind: 'topup',
            amount,
            balance_after: Number(row.balance),
            message_id: null,
            note,
            created_at: now,
          })
          .execute();
      }
      return { balance: Number(row.balance), prepaid: row.prepaid === 1 };
    });
  }

  ledger(userId: string, limit: number, before?: number): Promise<LedgerRow[]> {
    let q = this.db.selectFrom('credit_ledger').selectAll().where('user_id', '=', userId);
    if (before !== undefined) q = q.where('id', '<', before);
    return q.orderBy('id', 'desc').limit(limit).execute();
  }

  // ---- frequency caps

  caps(ownerId: string): Promise<CapRow[]> {
    return this.db
      .selectFrom('frequency_caps')
      .selectAll()
      .where('owner_id', '=', ownerId)
      .orderBy('category')
      .orderBy('period')
      .execute();
  }

  /** Replaces every cap of an owner ('' = the global defaults) in one transaction. */
  async replaceCaps(
    ownerId: string,
    caps: readonly { category: string; period: CapRow['period']; max_count: number }[],
  ): Promise<CapRow[]> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('frequency_caps').where('owner_id', '=', ownerId).execute();
      const now = Date.now();
      if (caps.length > 0) {
        await trx
          .insertInto('frequency_caps')
          .values(caps.map((c) => ({ owner_id: ownerId, ...c, updated_at: now })))
          .execute();
      }
    });
    this.capsCache?.forget(ownerId);
    return this.caps(ownerId);
  }

  /**
   * Frequency counter rows of months that started before `before` are of no further use (every
   * calendar period restarts with the month); the month leads their key, so this is a range.
   */
  async pruneCounters(before: number, limit = 5000): Promise<number> {
    const r = await sql`delete from frequency_state
      where (month_at, owner_id, number, category) in (
        select month_at, owner_id, number, category from frequency_state where month_at < ${before} limit ${limit})`.execute(
      this.db,
    );
    return Number(r.numAffectedRows ?? 0);
  }

  // ---- prices

  prices(): Promise<PriceEntry[]> {
    return this.db
      .selectFrom('prices')
      .selectAll()
      .orderBy('prefix')
      .orderBy('encoding')
      .limit(10_000)
      .execute();
  }

  async setPrice(prefix: string, encoding: string, perSegment: number): Promise<PriceEntry> {
    const now = Date.now();
    await this.db
      .insertInto('prices')
      .values({ prefix, encoding, per_segment: perSegment, updated_at: now })
      .onConflict((oc) =>
        oc.columns(['prefix', 'encoding']).doUpdateSet({ per_segment: perSegment, updated_at: now }),
      )
      .execute();
    this.priceCache?.forget();
    return { prefix, encoding, per_segment: perSegment, updated_at: now };
  }

  async removePrice(prefix: string, encoding: string): Promise<boolean> {
    const r = await this.db
      .deleteFrom('prices')
      .where('prefix', '=', prefix)
      .where('encoding', '=', encoding)
      .executeTakeFirst();
    this.priceCache?.forget();
    return Number(r.numDeletedRows) > 0;
  }

  async priceCount(): Promise<number> {
    const r = await this.db
      .selectFrom('prices')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  /** What a message would cost: undefined when no price matches. */
  async quote(number: string, encoding: string, segments: number): Promise<Quote | undefined> {
    return pick(await pricesFor(this.db, [number]), number, encoding, segments);
  }
}
