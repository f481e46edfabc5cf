/**
 * The messages table is the queue. This module owns every query on messages, their parts,
 * their events and idempotency records: accepting (group-committed), claiming under a lease,
 * recording outcomes and delivery reports, listing history.
 */
import type SQLite from 'better-sqlite3';
import type { ClaimScope } from './claim-scope.js';
import { scopeCondition } from './claim-scope.js';
import type { ExpressionBuilder, Kysely, Transaction } from 'kysely';
import { sql } from 'kysely';
import type { FeedPosition } from '../core/feed-cursor.js';
import { fromStatuses } from '../core/message.js';
import { containsPattern } from '../core/search.js';
import { foldedContains } from './search.js';
import type { MessagePolicyInfo, PolicyRule, Refusal } from '../policy/index.js';
import { BYPASS_CATEGORY, DEFAULT_RULES, applyPolicy } from '../policy/index.js';
import type { Capabilities, Dialect } from './db.js';
import { OwnerCache } from './owner-cache.js';
import type { CapsCache } from './policy.js';
import type { BulkInsert } from './rows.js';
import type { SliceKey } from './slices.js';
import { inSlice, messageSlices, yieldLoop } from './slices.js';
import { idFloor } from './stats.js';
import { keepAcceptFields } from './accept-rows.js';
import { PriceCache, adjustCharge, lockBalance, refundMessages } from './credits.js';
import { event, insertChunked } from './rows.js';
import type {
  Database,
  MessageEventRow,
  MessagePartRow,
  MessageRow,
  NewMessage,
  NewMessageEvent,
} from './schema.js';

export interface IdempotencyRecord {
  userId: string;
  key: string;
  requestHash: string;
  statusCode: number;
}

export interface AcceptItem {
  messages: NewMessage[];
  idempotency?: IdempotencyRecord | undefined;
  /** The answer to store for the idempotency key, given the recipients the policy refused. */
  respond?: ((refused: ReadonlyMap<string, Refusal>) => string) | undefined;
  /** What the policy rules may know beyond the rows (template category; bypass for STOP replies). */
  policy?: MessagePolicyInfo | undefined;
  /**
   * The caller's own writes in the accepting transaction, after the messages are inserted (a
   * campaign marks its recipients sent); throwing rolls the whole accept back.
   */
  within?: ((trx: Transaction<Database>) => Promise<void>) | undefined;
}

/**
 * A claim made in the accepting transaction (dispatch/dispatcher.ts acceptClaim), told how that
 * transaction ended: only a committed claim's messages may be handed to a channel.
 */
export interface AcceptClaim {
  /** It took fewer than it had room for: every message this node could send now is claimed. */
  readonly all: boolean;
  committed(): void;
  rolledBack(): void;
}

/** Claims in the accepting transaction, after the messages are stored; undefined: claims nothing. */
export type AcceptClaimer = (trx: Transaction<Database>) => Promise<AcceptClaim | undefined>;

/**
 * `replay`: the same key was used before; answer with what we answered then. `claimedAll`: the
 * accepting commit also claimed every message this node could send now (AcceptClaim.all).
 */
export type AcceptResult =
  | { kind: 'accepted'; refused: Map<string, Refusal>; claimedAll: boolean }
  | { kind: 'replay'; statusCode: number; response: string }
  | { kind: 'conflict' };

export interface ListFilter {
  ownerId?: string | undefined;
  status?: string[] | undefined;
  to?: string | undefined;
  /** Text contains, case folded in every script (core/search.ts). */
  textContains?: string | undefined;
  /** The number contains these digits (a partial number: core/search.ts numberQuery)... */
  toContains?: string | undefined;
  /** ...or is this number (the same digits read as a national number). */
  toOr?: string | undefined;
  since?: number | undefined;
  until?: number | undefined;
  channelId?: string | undefined;
  batchId?: string | undefined;
  /** Id of the last message of the previous page (ids sort by creation time). */
  before?: string | undefined;
  limit: number;
}

/**
 * Rows a history query scans per slice: a text search over 5,000 rows took 1.8 ms (1M messages,
 * 2 × EPYC), so a search that finds little never holds the loop longer than that per query.
 */
const SCAN_SLICE = 5_000;
/** Rows counted per query by countByStatus: 10,000 took 5.5–7.7 ms on the shared 2-core box. */
const COUNT_SLICE = 5_000;

/**
 * A claim's terms: its token (unique per claim, the lease owner every outcome is fenced by), how
 * many rows at most, the node's time for `updated_at`, the lease's length, and the claim scope
 * (only messages a channel this node holds can send, store/claim-scope.ts; all when absent).
 */
export type ClaimArgs = [token: string, limit: number, now: number, leaseMs: number, scope?: ClaimScope];

/** A replace the balance does not cover: its transaction is rolled back. */
class ReplaceRefused extends Error {}

/**
 * The claimer's work under a savepoint: a claim that fails is undone alone and the accept commits
 * without it (the dispatcher's loop claims those messages then), so a claim never costs an accept.
 */
async function claimApart(
  trx: Transaction<Database>,
  claimer: AcceptClaimer,
): Promise<AcceptClaim | undefined> {
  await sql`savepoint accept_claim`.execute(trx);
  let claim: AcceptClaim | undefined;
  try {
    claim = await claimer(trx);
    await sql`release savepoint accept_claim`.execute(trx);
    return claim;
  } catch {
    claim?.rolledBack();
    await sql`rollback to savepoint accept_claim`.execute(trx);
    return undefined;
  }
}

export class MessageRepo {
  /** The sending policy checked in every accepting transaction (policy/index.ts). */
  policyRules: readonly PolicyRule[] = DEFAULT_RULES;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
    private readonly caps: Capabilities,
    private readonly bulkInsert: BulkInsert,
    private readonly sqlite?: SQLite.Database,
    /** The price list for the credits rule, shared with PolicyRepo (which forgets it on a write). */
    private readonly prices: PriceCache = new PriceCache(),
    /** The frequency caps for the caps rule, shared with PolicyRepo (which forgets an owner's). */
    private readonly capsConfig: CapsCache = new OwnerCache(),
  ) {}

  /**
   * One transaction for many requests: each request's idempotency record, the sending policy
   * over all their recipients (policy/: opt-out and the rules after it), the messages and their
   * first events. Refused recipients are stored as `rejected` (the history keeps them), held
   * ones as `scheduled`, and both reported to `respond`.
   */
  async acceptBatch(items: AcceptItem[], claimer?: AcceptClaimer): Promise<AcceptResult[]> {
    // Rolled back: the rows go back as they came, for the batcher's retry item by item.
    const restore = keepAcceptFields(items.flatMap((i) => i.messages));
    let claim: AcceptClaim | undefined;
    let results: AcceptResult[];
    try {
      results = await this.db.transaction().execute(async (trx) => {
        const out = await this.accept(trx, items);
        // Why here: a message sent one request at a time was committed twice, by the accept and
        // then by the dispatcher's claim, each with its fsync; claimed in the same transaction,
        // one commit does both.
        if (claimer && out.some((r) => r.kind === 'accepted')) claim = await claimApart(trx, claimer);
        return out;
      });
    } catch (err) {
      claim?.rolledBack();
      restore();
      throw err;
    }
    claim?.committed();
    for (const r of results) if (r.kind === 'accepted') r.claimedAll = claim?.all ?? false;
    return results;
  }

  private async accept(trx: Transaction<Database>, items: AcceptItem[]): Promise<AcceptResult[]> {
    const results: AcceptResult[] = [];
    const accepted: AcceptItem[] = [];
    for (const item of items) {
      const idem = item.idempotency;
      if (idem) {
        // Insert first: the key's row lock makes a concurrent duplicate (another node) wait and then replay.
        const inserted = await trx
          .insertInto('idempotency_keys')
          .values({
            user_id: idem.userId,
            key: idem.key,
            request_hash: idem.requestHash,
            status_code: idem.statusCode,
            response: '',
            created_at: Date.now(),
          })
          .onConflict((oc) => oc.columns(['user_id', 'key']).doNothing())
          .executeTakeFirst();
        if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0) {
          const prior = await trx
            .selectFrom('idempotency_keys')
            .selectAll()
            .where('user_id', '=', idem.userId)
            .where('key', '=', idem.key)
            .executeTakeFirst();
          results.push(
            prior && prior.request_hash === idem.requestHash
              ? { kind: 'replay', statusCode: prior.status_code, response: prior.response }
              : { kind: 'conflict' },
          );
          continue;
        }
      }
      accepted.push(item);
      results.push({ kind: 'accepted', refused: new Map(), claimedAll: false });
    }
    const refused = await applyPolicy(
      this.policyRules,
      {
        trx,
        dialect: this.dialect,
        caps: this.caps,
        now: Date.now(),
        sqlite: this.sqlite,
        prices: this.prices,
        capsConfig: this.capsConfig,
      },
      accepted.flatMap((i) => i.messages.map((message) => ({ message, info: i.policy ?? {} }))),
    );
    const acceptedResults = results.filter(
      (r): r is Extract<AcceptResult, { kind: 'accepted' }> => r.kind === 'accepted',
    );
    accepted.forEach((item, i) => {
      const result = acceptedResults[i] as Extract<AcceptResult, { kind: 'accepted' }>;
      for (const m of item.messages) {
        const r = refused.get(m.id);
        if (r) result.refused.set(m.id, r);
      }
    });
    const rows: NewMessage[] = [];
    for (const item of accepted) {
      const category = item.policy?.bypass ? BYPASS_CATEGORY : (item.policy?.category ?? null);
      // Every row gets both columns: SQLite inserts all rows with the first row's columns
      // (store/rows.ts), and the credits rule sets a charge on some rows only.
      for (const m of item.messages) {
        m.category = category;
        m.charge ??= null;
        rows.push(m);
      }
    }
    await this.bulkInsert(trx, 'messages', rows);
    await this.bulkInsert(
      trx,
      'message_events',
      rows.map((m): NewMessageEvent => ({
        message_id: m.id,
        owner_id: m.owner_id,
        status: m.status,
        error_code: m.error_code ?? null,
        detail: m.error_message ?? null,
        channel_id: null,
        created_at: m.created_at,
      })),
    );
    for (const item of accepted) await item.within?.(trx);
    for (const [i, item] of accepted.entries()) {
      if (!item.idempotency || !item.respond) continue;
      const rejected = (acceptedResults[i] as Extract<AcceptResult, { kind: 'accepted' }>).refused;
      await trx
        .updateTable('idempotency_keys')
        .set({ response: item.respond(rejected) })
        .where('user_id', '=', item.idempotency.userId)
        .where('key', '=', item.idempotency.key)
        .execute();
    }
    return results;
  }

  byId(id: string, ownerId?: string): Promise<MessageRow | undefined> {
    let q = this.db.selectFrom('messages').selectAll().where('id', '=', id);
    if (ownerId) q = q.where('owner_id', '=', ownerId);
    return q.executeTakeFirst();
  }

  events(messageId: string): Promise<MessageEventRow[]> {
    return this.db
      .selectFrom('message_events')
      .selectAll()
      .where('message_id', '=', messageId)
      .orderBy('id')
      .execute();
  }

  parts(messageId: string): Promise<MessagePartRow[]> {
    return this.db
      .selectFrom('message_parts')
      .selectAll()
      .where('message_id', '=', messageId)
      .orderBy('seq')
      .execute();
  }

  /**
   * The filtered history, newest first, at most `f.limit` rows. Read in slices (store/slices.ts):
   * a filter that matches little (a text search, a rare status) scans at most SCAN_SLICE rows
   * per query instead of the whole table in one go (446 ms over 1M messages before).
   */
  async list(f: ListFilter): Promise<MessageRow[]> {
    const out: MessageRow[] = [];
    if (f.limit <= 0) return out;
    for await (const rows of this.pages(f, f.limit)) {
      out.push(...rows.slice(0, f.limit - out.length));
      if (out.length >= f.limit) break;
    }
    return out;
  }

  /**
   * Every message of the filter, newest first, in pages of at most `pageRows` (the CSV export).
   * Keyset pagination on the id within slices of SCAN_SLICE rows, a yield to the event loop
   * between queries, so no query holds the loop for long and the caller holds one page at a
   * time. Pages may be shorter than `pageRows`; none is empty.
   */
  async *pages(f: Omit<ListFilter, 'limit'>, pageRows: number): AsyncGenerator<MessageRow[]> {
    const size = Math.max(1, Math.trunc(pageRows));
    // Ids are UUIDv7 taken right after created_at: a created_at range is nearly an id range.
    // A minute of slack on both sides keeps every row in; the created_at tests stay exact.
    const lo = f.since !== undefined ? idFloor(f.since - 60_000) : undefined;
    let hi = f.before;
    if (f.until !== undefined) {
      const top = idFloor(f.until + 60_000);
      if (hi === undefined || top < hi) hi = top;
    }
    // Walk the index that the narrowest equality filter has: (to, id), (owner_id, id) or the key.
    const key: SliceKey | undefined = f.to
      ? { column: 'to', value: f.to }
      : f.ownerId
        ? { column: 'owner_id', value: f.ownerId }
        : undefined;
    for await (const slice of messageSlices(this.db, this.caps, { lo, hi, key, rows: SCAN_SLICE })) {
      let cursor = slice.to;
      for (;;) {
        let q = this.filtered(f);
        if (slice.from !== undefined) q = q.where('id', '>=', slice.from);
        if (cursor !== undefined) q = q.where('id', '<', cursor);
        const rows = await q.orderBy('id', 'desc').limit(size).execute();
        if (rows.length > 0) yield rows;
        if (rows.length < size) break;
        cursor = rows[rows.length - 1]?.id;
        await yieldLoop();
      }
    }
  }

  private filtered(f: Omit<ListFilter, 'limit' | 'before'>) {
    let q = this.db.selectFrom('messages').selectAll();
    if (f.ownerId) q = q.where('owner_id', '=', f.ownerId);
    const statuses = f.status;
    if (statuses?.length) q = q.where((eb) => eb(inSlice(this.caps, 'status'), 'in', statuses));
    if (f.to) q = q.where('to', '=', f.to);
    if (f.channelId) q = q.where('channel_id', '=', f.channelId);
    if (f.batchId) q = q.where('batch_id', '=', f.batchId);
    if (f.since !== undefined) q = q.where('created_at', '>=', f.since);
    if (f.until !== undefined) q = q.where('created_at', '<', f.until);
    if (f.textContains) q = q.where(foldedContains('text', f.textContains));
    const toContains = f.toContains;
    if (toContains !== undefined) {
      const or = f.toOr;
      q = q.where((eb) =>
        or !== undefined
          ? eb.or([eb('to', 'like', containsPattern(toContains)), eb('to', '=', or)])
          : eb('to', 'like', containsPattern(toContains)),
      );
    }
    return q;
  }

  /**
   * Messages per status, whole table. Over 1M messages one group-by held the event loop
   * 56–78 ms; in slices of COUNT_SLICE rows each query takes a few ms, the whole count 1.4 s
   * spread out (a busy loop on the shared box). For the metrics: sampled, in the background.
   */
  async countByStatus(): Promise<{ status: string; n: number }[]> {
    const counts = new Map<string, number>();
    for await (const slice of messageSlices(this.db, this.caps, { rows: COUNT_SLICE })) {
      // Grouped by inSlice(status): grouping by the plain column, SQLite walked all of
      // messages_due for the first and the last slice (open on one side), 537 ms over 1M.
      const status = inSlice(this.caps, 'status');
      let q = this.db
        .selectFrom('messages')
        .select([status.as('status'), (eb) => eb.fn.countAll<number>().as('n')]);
      if (slice.from !== undefined) q = q.where('id', '>=', slice.from);
      if (slice.to !== undefined) q = q.where('id', '<', slice.to);
      for (const r of await q.groupBy(status).execute()) {
        counts.set(r.status, (counts.get(r.status) ?? 0) + Number(r.n));
      }
    }
    return [...counts].map(([status, n]) => ({ status, n }));
  }

  /**
   * Replaces the text (and schedule, validity, receipt request) of a message that has not left
   * yet (SMPP replace_sm). A prepaid sender pays the difference in segments, or gets it back, in
   * the same transaction (store/credits.ts adjustCharge); a rise the balance does not cover is
   * refused and changes nothing.
   */
  async replaceText(
    id: string,
    ownerId: string,
    change: { text: string; encoding: string; segments: number } & Partial<
      Pick<
        MessageRow,
        'send_at' | 'next_attempt_at' | 'validity_minutes' | 'expires_at' | 'smpp_receipt_mask'
      >
    >,
  ): Promise<'replaced' | 'not_replaceable' | 'insufficient_balance'> {
    return this.db
      .transaction()
      .execute(async (trx) => {
        const now = Date.now();
        // The balance before the message (lock order: credits.ts lockBalance).
        if (this.caps.concurrentWriters) await lockBalance(trx, ownerId, true);
        // Taken while it can still be replaced (PostgreSQL: the no-op UPDATE locks the row until
        // commit, so a claim or a cancel waits for the charge), with its segments as charged.
        const cur = await trx
          .updateTable('messages')
          .set((eb) => ({ updated_at: eb.ref('updated_at') }))
          .where('id', '=', id)
          .where('owner_id', '=', ownerId)
          .where('status', 'in', fromStatuses('sending'))
          // Queued again after a submit that may have left: replacing it could put a second,
          // different text on the handset (its retry), so SMPP answers ESME_RREPLACEFAIL.
          .where((eb) => eb.or([eb('outcome_unknown', 'is', null), eb('outcome_unknown', '=', 0)]))
          .returning('segments')
          .executeTakeFirst();
        if (!cur) return 'not_replaceable' as const;
        const caps = this.caps;
        if (
          !(await adjustCharge(trx, id, Number(cur.segments), change.segments, now, caps.concurrentWriters))
        )
          throw new ReplaceRefused();
        await trx
          .updateTable('messages')
          .set({ ...change, updated_at: now })
          .where('id', '=', id)
          .execute();
        await trx
          .insertInto('message_events')
          .values(event(id, ownerId, 'queued', null, 'text replaced (replace_sm)', null, now))
          .execute();
        return 'replaced' as const;
      })
      .catch((err: unknown) => {
        if (err instanceof ReplaceRefused) return 'insufficient_balance' as const;
        throw err;
      });
  }

  /**
   * Cancels a message that has not left yet. Returns the message after the attempt, with
   * `changed` telling whether this call canceled it (false when it had already left or was canceled).
   */
  async cancel(
    id: string,
    ownerId: string | undefined,
    reason: string,
  ): Promise<(MessageRow & { changed: boolean }) | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const now = Date.now();
      if (this.caps.concurrentWriters) {
        // The balance before the message (lock order: credits.ts lockBalance).
        const owner =
          ownerId ??
          (await trx.selectFrom('messages').select('owner_id').where('id', '=', id).executeTakeFirst())
            ?.owner_id;
        if (owner) await lockBalance(trx, owner, true);
      }
      let q = trx
        .updateTable('messages')
        .set({ status: 'canceled', final_at: now, updated_at: now, lease_owner: null, lease_until: null })
        .where('id', '=', id)
        .where('status', 'in', fromStatuses('canceled'));
      if (ownerId) q = q.where('owner_id', '=', ownerId);
      const res = await q.executeTakeFirst();
      const row = await trx
        .selectFrom('messages')
        .selectAll()
        .where('id', '=', id)
        .$if(ownerId !== undefined, (qb) => qb.where('owner_id', '=', ownerId as string))
        .executeTakeFirst();
      const changed = Number(res.numUpdatedRows) === 1;
      if (changed && row) {
        await trx
          .insertInto('message_events')
          .values(event(row.id, row.owner_id, 'canceled', null, reason, null, now))
          .execute();
        // Canceled before leaving: what it was charged goes back (policy/credits.ts).
        await refundMessages(trx, [row.id], now, 'canceled');
      }
      return row ? { ...row, changed } : undefined;
    });
  }

  /**
   * SMPP replace_if_present: the messages of this owner to the same number from the same
   * source and service_type that have not left yet are canceled in favour of `byId`. Returns
   * the ids canceled; one already claimed for sending is not among them. With `within`, in that
   * transaction (the one accepting `byId`: the new message and the cancel commit together).
   */
  async cancelReplaced(
    byId: string,
    match: { ownerId: string; to: string; from: string | null; serviceType: string },
    within?: Transaction<Database>,
  ): Promise<string[]> {
    const run = async (trx: Transaction<Database>) => {
      const now = Date.now();
      const rows = await trx
        .updateTable('messages')
        .set({ status: 'canceled', final_at: now, updated_at: now, lease_owner: null, lease_until: null })
        .where('owner_id', '=', match.ownerId)
        .where('to', '=', match.to)
        .where((eb) => (match.from === null ? eb('from', 'is', null) : eb('from', '=', match.from)))
        .where('smpp_service_type', '=', match.serviceType)
        .where('id', '!=', byId)
        .where('status', 'in', fromStatuses('canceled'))
        .returning('id')
        .execute();
      if (rows.length > 0) {
        await trx
          .insertInto('message_events')
          .values(
            rows.map((r) =>
              event(
                r.id,
                match.ownerId,
                'canceled',
                null,
                `replaced by ${byId} (replace_if_present)`,
                null,
                now,
              ),
            ),
          )
          .execute();
        // Replaced before it left: what it was charged goes back, as a cancel does.
        await refundMessages(
          trx,
          rows.map((r) => r.id),
          now,
          'replaced',
        );
      }
      return rows.map((r) => r.id);
    };
    return within ? run(within) : this.db.transaction().execute(run);
  }

  /**
   * replace_if_present for messages being accepted in `trx` (MessageService.send's `within`):
   * each one not refused replaces the earlier ones to its number from its source and
   * service_type, in the accepting transaction. Returns the ids canceled.
   */
  async replacePresent(trx: Transaction<Database>, rows: readonly NewMessage[]): Promise<string[]> {
    const out: string[] = [];
    for (const m of rows) {
      if (m.status === 'rejected') continue;
      const match = {
        ownerId: m.owner_id,
        to: m.to,
        from: m.from ?? null,
        serviceType: m.smpp_service_type ?? '',
      };
      out.push(...(await this.cancelReplaced(m.id, match, trx)));
    }
    return out;
  }

  /**
   * Takes up to `limit` due messages: status becomes `sending` under a lease held by `token`
   * (unique per claim, so an outcome can be fenced to the claim it belongs to) until the
   * database's clock passes `now + leaseMs`. PostgreSQL: SKIP LOCKED lets several nodes claim
   * side by side without waiting on each other.
   */
  claim(...args: ClaimArgs): Promise<MessageRow[]> {
    if (args[1] <= 0) return Promise.resolve([]);
    // Committed with the disk's wait like any acknowledged write, unlike a webhook claim
    // (lease-commit.ts): a claim lost in an OS crash would bring a message that may have left back
    // as plain `queued`, so it would be sent again without being marked outcome_unknown, and a
    // later failure would refund a message that may have been delivered.
    return this.db.transaction().execute((trx) => this.claimIn(trx, ...args));
  }

  /**
   * `claim` inside the caller's transaction: the accepting transaction claims what its node can
   * send at once (dispatch/dispatcher.ts acceptClaim), so one commit stores and claims.
   */
  async claimIn(
    trx: Transaction<Database>,
    ...[token, limit, now, leaseMs, scope]: ClaimArgs
  ): Promise<MessageRow[]> {
    if (limit <= 0) return [];
    const claimed = await trx
      .updateTable('messages')
      .set({
        status: 'sending',
        lease_owner: token,
        lease_until: sql<number>`${this.caps.now()} + ${leaseMs}`,
        updated_at: now,
      })
      .where('id', 'in', (eb) =>
        this.caps.claimLock(
          eb
            .selectFrom('messages')
            .select('id')
            .where('status', 'in', fromStatuses('sending'))
            // Due by the database's clock, as leases are: a node whose clock runs ahead
            // must not send a scheduled message or a retry early.
            .where('next_attempt_at', '<=', this.caps.now())
            .$if(scope !== undefined, (q) => q.where((eb) => scopeCondition(eb, scope as ClaimScope)))
            .orderBy('next_attempt_at')
            .limit(limit),
        ),
      )
      .returningAll()
      .execute();
    return claimed.sort((a, b) => a.next_attempt_at - b.next_attempt_at);
  }

  /**
   * Extends the leases of claims whose submits are still running (a modem or Gammu send can
   * take minutes), so they do not run out and send the message a second time. Returns how
   * many rows are still held.
   */
  async renewLeases(tokens: readonly string[], leaseMs: number): Promise<number> {
    if (tokens.length === 0) return 0;
    const res = await this.db
      .updateTable('messages')
      .set({ lease_until: sql<number>`${this.caps.now()} + ${leaseMs}` })
      .where('lease_owner', 'in', tokens)
      .where('status', '=', 'sending')
      .executeTakeFirst();
    return Number(res.numUpdatedRows);
  }

  /**
   * Messages whose lease ran out by the database's clock (their node died or hung) go back to
   * the queue. A single SQLite node recovering at start passes `everyLease` to take back all of
   * them at once, since no other node can hold one. Their node may have handed them to a channel
   * before it died: they are marked `outcome_unknown` and keep their charge (store/credits.ts).
   */
  async recoverLeases(everyLease = false): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      const now = Date.now();
      let q = trx
        .selectFrom('messages')
        .select(['id', 'owner_id', 'lease_owner'])
        .where('status', '=', 'sending');
      if (!everyLease) q = q.where('lease_until', '<', this.caps.now());
      const rows = await q.execute();
      if (rows.length === 0) return 0;
      const recovered: typeof rows = [];
      for (const r of rows) {
        // Fenced by the lease seen: a renewal or an outcome that landed meanwhile wins.
        const res = await trx
          .updateTable('messages')
          .set({
            status: 'queued',
            lease_owner: null,
            lease_until: null,
            next_attempt_at: this.caps.now(),
            outcome_unknown: 1,
            updated_at: now,
          })
          .where('id', '=', r.id)
          .where('status', 'in', fromStatuses('queued'))
          .where('lease_owner', '=', r.lease_owner as string)
          .$if(!everyLease, (u) => u.where('lease_until', '<', this.caps.now()))
          .executeTakeFirst();
        if (Number(res.numUpdatedRows) === 1) recovered.push(r);
      }
      await insertChunked(
        trx,
        'message_events',
        recovered.map((r) =>
          event(r.id, r.owner_id, 'queued', null, 'lease expired: returned to the queue', null, now),
        ),
      );
      return recovered.length;
    });
  }

  /**
   * Sent messages with no final report, and queued ones never sent, past their validity (by the
   * database's clock). Claimed like queue work: the rows are locked as they are read (SKIP LOCKED
   * on PostgreSQL), so nodes expiring at once take disjoint rows, and an event is written only
   * for a row this update changed — never twice for one expiry. `asOf` (tests, tools) judges
   * validity at that time instead of the database's clock.
   */
  async expireDue(asOf?: number): Promise<number> {
    const now = asOf ?? Date.now();
    const clock = asOf === undefined ? this.caps.now() : sql<number>`${asOf}`;
    return this.db.transaction().execute(async (trx) => {
      // A `sent` message that asked for no report is final already (final_at is set).
      const due = (eb: ExpressionBuilder<Database, 'messages'>) =>
        eb.and([eb('status', 'in', fromStatuses('expired')), eb('final_at', 'is', null)]);
      const rows = await this.caps
        .claimLock(
          trx
            .selectFrom('messages')
            .select(['id', 'owner_id', 'status'])
            .where(due)
            .where('expires_at', '<', clock)
            .limit(1000),
        )
        .execute();
      if (rows.length === 0) return 0;
      const changed = await trx
        .updateTable('messages')
        .set({ status: 'expired', error_code: 'expired', final_at: now, updated_at: now })
        .where(
          'id',
          'in',
          rows.map((r) => r.id),
        )
        .where(due)
        .returning('id')
        .execute();
      const done = new Set(changed.map((r) => r.id));
      const expired = rows.filter((r) => done.has(r.id));
      await insertChunked(
        trx,
        'message_events',
        expired.map((r) =>
          event(r.id, r.owner_id, 'expired', 'expired', `validity ran out while ${r.status}`, null, now),
        ),
      );
      // Never left: what they were charged goes back (policy/credits.ts).
      const unsent = expired
        .filter((r) => r.status === 'queued' || r.status === 'scheduled')
        .map((r) => r.id);
      if (unsent.length > 0) await refundMessages(trx, unsent, now, 'expired before leaving');
      return expired.length;
    });
  }

  /**
   * How long until the earliest waiting message this node may claim is due, by the database's
   * clock (0: due now; undefined: none waits). A read, never a write: the dispatcher asks this
   * instead of running a claim, a write transaction, that most of the time finds nothing.
   */
  async nextDueIn(scope?: ClaimScope): Promise<number | undefined> {
    const r = await this.db
      .selectFrom('messages')
      .select((eb) => [eb.fn.min<number>('next_attempt_at').as('t'), this.caps.now().as('now')])
      .where('status', 'in', fromStatuses('sending'))
      .$if(scope !== undefined, (q) => q.where((eb) => scopeCondition(eb, scope as ClaimScope)))
      .executeTakeFirst();
    return r?.t == null ? undefined : Math.max(0, Number(r.t) - Number(r.now));
  }
}

/** The change feed and conversations read the same tables; kept here with the other message queries. */
export class MessageFeed {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect = 'sqlite',
  ) {}

  /**
   * Events after a position, in feed order, with the position after the last one. PostgreSQL:
   * (transaction, id) order, only through transactions older than every one still running, so
   * an event of a transaction that commits late is returned when it commits, never skipped, and
   * nothing is held back when nothing runs (core/feed-cursor.ts). SQLite: id order.
   */
  async eventsAfter(
    ownerId: string | undefined,
    after: FeedPosition,
    limit: number,
  ): Promise<{ rows: MessageEventRow[]; next: FeedPosition }> {
    if (this.dialect !== 'postgres') {
      let q = this.db
        .selectFrom('message_events')
        .selectAll()
        .where('id', '>', Math.max(after.id, after.floor));
      if (ownerId) q = q.where('owner_id', '=', ownerId);
      const rows = await q.orderBy('id').limit(limit).execute();
      const last = rows[rows.length - 1];
      return { rows, next: last ? { tx: '0', id: Number(last.id), floor: 0 } : after };
    }
    // The head first: every event at or before it is final (its transaction and every older
    // one have ended, and new transactions get higher ids), so reading up to it is stable, and
    // a page with fewer than `limit` of this owner's events moves the cursor to it. Otherwise a
    // tenant with no new events would rescan every other tenant's on each poll.
    const head = await this.latest(undefined);
    if (!isAfter(head, after)) return { rows: [], next: after };
    let q = this.db
      .selectFrom('message_events as e')
      .selectAll('e')
      .select(sql<string>`e.tx::text`.as('tx_text'))
      .where(sql<boolean>`(e.tx, e.id) > (${after.tx}::xid8, ${after.id}::bigint)`)
      .where(sql<boolean>`(e.tx, e.id) <= (${head.tx}::xid8, ${head.id}::bigint)`);
    if (after.floor > 0) q = q.where('e.id', '>', after.floor);
    if (ownerId) q = q.where('e.owner_id', '=', ownerId);
    const found = await q
      .orderBy(sql`e.tx`)
      .orderBy('e.id')
      .limit(limit)
      .execute();
    const rows = found.map(({ tx_text: _tx, ...row }) => row as MessageEventRow);
    const last = found[found.length - 1];
    const next =
      last && found.length === limit
        ? { tx: last.tx_text, id: Number(last.id), floor: after.floor }
        : { tx: head.tx, id: head.id, floor: after.floor };
    return { rows, next };
  }

  /**
   * Where a client that wants only new events starts: after the newest event it can see now.
   * PostgreSQL: the newest event of every owner whose transaction is older than every one still
   * running — a position in the one (tx, id) order, valid for any owner's feed, found one step
   * down the index instead of searching through other owners' events.
   */
  async latest(ownerId: string | undefined): Promise<FeedPosition> {
    if (this.dialect !== 'postgres') return { tx: '0', id: await this.latestEventId(ownerId), floor: 0 };
    const r = await this.db
      .selectFrom('message_events as e')
      .select([sql<string>`e.tx::text`.as('tx'), 'e.id'])
      .where(sql<boolean>`e.tx < pg_snapshot_xmin(pg_current_snapshot())`)
      .orderBy(sql`e.tx`, 'desc')
      .orderBy('e.id', 'desc')
      .limit(1)
      .executeTakeFirst();
    return r ? { tx: r.tx, id: Number(r.id), floor: 0 } : { tx: '0', id: 0, floor: 0 };
  }

  /** The newest event id visible to an owner (SQLite's feed position). */
  async latestEventId(ownerId: string | undefined): Promise<number> {
    let q = this.db.selectFrom('message_events').select((eb) => eb.fn.max('id').as('id'));
    if (ownerId) q = q.where('owner_id', '=', ownerId);
    const r = await q.executeTakeFirst();
    return r?.id == null ? 0 : Number(r.id);
  }

  outboundTo(ownerId: string | undefined, number: string, limit: number): Promise<MessageRow[]> {
    let q = this.db.selectFrom('messages').selectAll().where('to', '=', number);
    if (ownerId) q = q.where('owner_id', '=', ownerId);
    return q.orderBy('id', 'desc').limit(limit).execute();
  }

  /** Recipients of a batch whose messages are in one of the statuses (follow-ups). */
  async recipientsOf(ownerId: string | undefined, batchId: string, statuses: string[]): Promise<string[]> {
    let q = this.db
      .selectFrom('messages')
      .select('to')
      .where('batch_id', '=', batchId)
      .where('status', 'in', statuses);
    if (ownerId) q = q.where('owner_id', '=', ownerId);
    return (await q.orderBy('id').execute()).map((r) => r.to);
  }
}

/** Whether position `a` comes after position `b` in the feed's (tx, id) order. */
function isAfter(a: FeedPosition, b: FeedPosition): boolean {
  const ta = BigInt(a.tx);
  const tb = BigInt(b.tx);
  return ta !== tb ? ta > tb : a.id > b.id;
}
