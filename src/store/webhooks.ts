/**
 * Status webhooks: per-user settings, the fan-out from message events into the outbox, claiming
 * due deliveries (oldest first per ordering key, so a message's events arrive in order), and the
 * attempt log.
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { randomBytes } from 'node:crypto';
import type { DlrMessage } from '../core/kannel-dlr.js';
import { fillDlrUrl, kannelDlrType, wantsDlr } from '../core/kannel-dlr.js';
import { isJasminFormat, jasminDlrParams, jasminDlrRequest } from '../core/jasmin-dlr.js';
import { FINAL_STATUSES } from '../core/message.js';
import type { Capabilities, Dialect } from './db.js';
import type { DialectSql } from './compiled.js';
import { listParam, runSql } from './compiled.js';
import { leaseTransaction } from './lease-commit.js';
import type { AttemptRow } from './webhook-attempts.js';
import { recordAttemptRows } from './webhook-attempts.js';
import type { Database, UserSettingsRow, WebhookAttemptRow, WebhookOutboxRow } from './schema.js';

/** Statuses that trigger a status webhook: every change a client acts on, not the initial queued. */
export const WEBHOOK_STATUSES: readonly string[] = ['sent', ...FINAL_STATUSES];

/** An event as the fan-out first reads it: enough to tell whether anything is owed for it. */
interface FannedEvent {
  event_id: number;
  status: string;
  message_id: string;
  owner_id: string;
  dlr_url: string | null | undefined;
  dlr_mask: number | null | undefined;
}

/** The rest of an event, read only for those that get a webhook or a dlr-url callback. */
interface EventDetails {
  error_code: string | null;
  created_at: number;
  to: string;
  segments: number;
  client_ref: string | null;
  batch_id: string | null;
}

/**
 * The fan-out's second read (WebhookRepo.eventDetails). The first read of a page took the
 * payload's columns for every event, wanted or not: 4.2–5.8 µs an event against 2.8 without
 * them (a copy of a 100,000-message campaign's database, 500-event pages through better-sqlite3,
 * no webhooks configured), and most events (every `queued`, and all of them when no webhook is
 * set) get nothing.
 */
const EVENT_DETAILS: DialectSql = {
  sqlite: `select e.id as event_id, e.error_code, e.created_at, m."to", m.segments, m.client_ref, m.batch_id
    from message_events e inner join messages m on m.id = e.message_id
    where e.id in (select value from json_each(?))`,
  postgres: `select e.id as event_id, e.error_code, e.created_at, m."to", m.segments, m.client_ref, m.batch_id
    from message_events e inner join messages m on m.id = e.message_id
    where e.id = any($1::bigint[])`,
};

/** What became of a recorded attempt; superseded: the lease ran out and another claim took the row. */
export type AttemptOutcome = 'delivered' | 'pending' | 'failed' | 'superseded';

/** What one delivery attempt gave. */
export interface AttemptResult {
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  at: number;
}

export type NewOutbox = Omit<
  WebhookOutboxRow,
  'id' | 'status' | 'attempts' | 'lease_until' | 'last_status_code' | 'last_error' | 'delivered_at'
>;

export class WebhookRepo {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
    /** Lease times by the database's clock (the one every node shares); none given: this process's. */
    private readonly caps?: Pick<Capabilities, 'now'>,
  ) {}

  async settings(userId: string): Promise<UserSettingsRow> {
    const row = await this.db
      .selectFrom('user_settings')
      .selectAll()
      .where('user_id', '=', userId)
      .executeTakeFirst();
    if (row) return row;
    const fresh: UserSettingsRow = {
      user_id: userId,
      webhook_url: null,
      inbound_webhook_url: null,
      webhook_secret: `whsec_${randomBytes(24).toString('base64url')}`,
      stop_words: null,
      start_words: null,
      stop_reply: null,
      start_reply: null,
      help_reply: null,
      transliterate: 0,
      updated_at: Date.now(),
    };
    await this.db
      .insertInto('user_settings')
      .values(fresh)
      .onConflict((oc) => oc.column('user_id').doNothing())
      .execute();
    return (
      (await this.db
        .selectFrom('user_settings')
        .selectAll()
        .where('user_id', '=', userId)
        .executeTakeFirst()) ?? fresh
    );
  }

  /** Whether the user asked for transliteration (one small read; callers cache it). */
  async transliterates(userId: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('user_settings')
      .select('transliterate')
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return row?.transliterate === 1;
  }

  async updateSettings(
    userId: string,
    patch: Partial<Omit<UserSettingsRow, 'user_id' | 'updated_at'>>,
  ): Promise<UserSettingsRow> {
    await this.settings(userId);
    await this.db
      .updateTable('user_settings')
      .set({ ...patch, updated_at: Date.now() })
      .where('user_id', '=', userId)
      .execute();
    return this.settings(userId);
  }

  /**
   * Turns new message events into outbox rows (webhooks, SMPP receipts), advancing a cursor in
   * the same transaction so each event is fanned out exactly once. On PostgreSQL, ids can commit
   * out of order: events are read in (transaction, id) order and only from transactions older
   * than every one still running, so a late commit is never skipped (see migration 008).
   * Returns how many events were read (not how many became deliveries), so callers can loop;
   * `owners` collects the accounts that got new deliveries.
   *
   * Committed without waiting for the disk on SQLite (lease-commit.ts): everything it writes is
   * derived from events already durable, cursor included, in one transaction, so a commit lost
   * in an OS crash is lost whole and the next fan-out writes it again; nothing it writes is
   * acknowledged to anyone (a delivery it makes possible may repeat after such a crash, as
   * webhooks and receipts already may). Its fsync was one of the four per message on the
   * sequential accept path, each holding the event loop for 2.6–4.4 ms on this disk.
   */
  async fanOut(now: number, limit: number, giveUpMs: number, owners?: Set<string>): Promise<number> {
    return leaseTransaction(this.db, this.dialect, async (trx) => {
      const pg = this.dialect === 'postgres';
      let cur = trx
        .selectFrom('cursors')
        .select(['name', 'position'])
        .where('name', 'in', ['status', 'status_tx']);
      if (pg) cur = cur.forUpdate();
      const cursors = new Map((await cur.execute()).map((c) => [c.name, Number(c.position)]));
      const position = cursors.get('status') ?? 0;
      const txPosition = cursors.get('status_tx') ?? 0;
      let q = trx
        .selectFrom('message_events as e')
        .innerJoin('messages as m', 'm.id', 'e.message_id')
        .leftJoin('user_settings as s', 's.user_id', 'm.owner_id')
        // What decides an event's fate only: the columns a webhook's payload or a dlr-url needs
        // are read below for the events that get one (most events get neither).
        .select([
          'e.id as event_id',
          'e.status',
          'm.id as message_id',
          'm.owner_id',
          'm.callback_url',
          'm.smpp_receipt_mask',
          'm.dlr_url',
          'm.dlr_mask',
          's.webhook_url',
          (pg ? sql<string>`e.tx::text` : sql<string>`null`).as('tx'),
        ]);
      q = pg
        ? q
            .where(sql<boolean>`(e.tx, e.id) > (${String(txPosition)}::xid8, ${position}::bigint)`)
            .where(sql<boolean>`e.tx < pg_snapshot_xmin(pg_current_snapshot())`)
            .orderBy(sql`e.tx`)
            .orderBy('e.id')
        : q.where('e.id', '>', position).orderBy('e.id');
      const events = await q.limit(limit).execute();
      if (events.length === 0) return 0;
      const rows: NewOutbox[] = [];
      const receipts: { owner_id: string; kind: 'receipt'; ref_id: string; created_at: number }[] = [];
      const wanted = events.filter(
        (e) =>
          (e.dlr_url && e.dlr_mask) ||
          ((e.callback_url ?? e.webhook_url) && WEBHOOK_STATUSES.includes(e.status)),
      );
      const details = await this.eventDetails(
        trx,
        wanted.map((e) => e.event_id),
      );
      const dlrs: (FannedEvent & EventDetails)[] = [];
      for (const e of events) {
        if (owesSmppReceipt(e.smpp_receipt_mask, e.status)) {
          receipts.push({ owner_id: e.owner_id, kind: 'receipt', ref_id: e.message_id, created_at: now });
        }
        const d = details.get(Number(e.event_id));
        if (!d) continue;
        if (e.dlr_url && e.dlr_mask) dlrs.push({ ...e, ...d });
        const url = e.callback_url ?? e.webhook_url;
        if (!url || !WEBHOOK_STATUSES.includes(e.status)) continue;
        rows.push({
          event_id: `evt_${e.event_id}`,
          owner_id: e.owner_id,
          kind: 'status',
          ordering_key: e.message_id,
          url,
          payload: JSON.stringify({
            event_id: `evt_${e.event_id}`,
            type: 'message.status',
            message_id: e.message_id,
            batch_id: d.batch_id,
            status: e.status,
            error_code: d.error_code,
            to: d.to,
            segments: d.segments,
            client_ref: d.client_ref,
            occurred_at: new Date(d.created_at).toISOString(),
          }),
          next_attempt_at: now,
          give_up_at: now + giveUpMs,
          created_at: now,
        });
      }
      if (dlrs.length > 0) rows.push(...(await this.dlrRows(trx, dlrs, now, giveUpMs)));
      if (rows.length > 0) await trx.insertInto('webhook_outbox').values(rows.map(pending)).execute();
      for (const r of rows) owners?.add(r.owner_id);
      if (receipts.length > 0) await trx.insertInto('smpp_outbox').values(receipts).execute();
      const last = events[events.length - 1] as { event_id: number; tx: string };
      const positions: [string, number][] = [['status', Number(last.event_id)]];
      if (pg) positions.push(['status_tx', Number(last.tx)]);
      for (const [name, value] of positions) {
        await trx
          .insertInto('cursors')
          .values({ name, position: value })
          .onConflict((oc) => oc.column('name').doUpdateSet({ position: value }))
          .execute();
      }
      return events.length;
    });
  }

  /**
   * What a webhook's payload and a dlr-url callback need of the events that get one, by event id:
   * one statement for the page, the ids as one parameter (store/compiled.ts).
   */
  private async eventDetails(
    trx: Kysely<Database>,
    ids: readonly (number | string)[],
  ): Promise<Map<number, EventDetails>> {
    if (ids.length === 0) return new Map();
    const rows = await runSql<EventDetails & { event_id: number | string }>(
      { trx, dialect: this.dialect },
      EVENT_DETAILS,
      [listParam(this.dialect, ids.map(Number))],
    );
    return new Map(rows.map((r) => [Number(r.event_id), r]));
  }

  /**
   * Kannel dlr-url callbacks for the events that asked for one: what the URL's placeholders
   * name beyond the event (text, sender's login, channel name, the SMSC's id of the first part)
   * is read here, for these few messages only, so the fan-out of every other event stays as
   * cheap as before: it reads two more columns (20,000 events without callbacks, median of 5,
   * three interleaved A/B runs on the shared 2-core box: 8.9–15.3 µs per event, 9.8–13.2 before;
   * reading the event's channel and detail in the main query too measured 13.5–26.5). One GET per event, in the message's order (ordering key = message id).
   */
  private async dlrRows(
    trx: Kysely<Database>,
    dlrs: {
      event_id: number;
      status: string;
      error_code: string | null;
      created_at: number;
      message_id: string;
      owner_id: string;
      dlr_url: string | null | undefined;
      dlr_mask: number | null | undefined;
    }[],
    now: number,
    giveUpMs: number,
  ): Promise<NewOutbox[]> {
    const ids = [...new Set(dlrs.map((d) => d.message_id))];
    const messages = await trx
      .selectFrom('messages as m')
      .innerJoin('users as u', 'u.id', 'm.owner_id')
      .leftJoin('message_parts as p', (j) => j.onRef('p.message_id', '=', 'm.id').on('p.seq', '=', 0))
      .select([
        'm.id',
        'm.to',
        'm.from',
        'm.text',
        'm.encoding',
        'm.flash',
        'm.created_at',
        'm.sent_at',
        'u.login',
        'p.remote_id',
        'm.dlr_format',
      ])
      .where('m.id', 'in', ids)
      .execute();
    const details = await trx
      .selectFrom('message_events')
      .select(['id', 'channel_id', 'detail'])
      .where(
        'id',
        'in',
        dlrs.map((d) => d.event_id),
      )
      .execute();
    const eventById = new Map(details.map((d) => [Number(d.id), d]));
    const byId = new Map(messages.map((m) => [m.id, m]));
    const channelIds = [...new Set(details.flatMap((d) => (d.channel_id ? [d.channel_id] : [])))];
    const channels = channelIds.length
      ? await trx.selectFrom('channels').select(['id', 'name']).where('id', 'in', channelIds).execute()
      : [];
    const names = new Map(channels.map((c) => [c.id, c.name]));
    const rows: NewOutbox[] = [];
    for (const e of dlrs) {
      const m = byId.get(e.message_id);
      if (!m || !e.dlr_url) continue;
      const ev = eventById.get(Number(e.event_id));
      const channelId = ev?.channel_id ?? null;
      const sentAt = m.sent_at === null ? null : Number(m.sent_at);
      const type = kannelDlrType({ status: e.status, channelId, sentAt });
      if (!wantsDlr(e.dlr_mask, type)) continue;
      const values: DlrMessage = {
        messageId: m.id,
        status: e.status,
        to: m.to,
        from: m.from,
        text: m.text,
        encoding: m.encoding,
        flash: m.flash === 1,
        at: Number(e.created_at),
        createdAt: Number(m.created_at),
        sentAt,
        smscId: channelId ? (names.get(channelId) ?? null) : null,
        remoteId: m.remote_id ?? null,
        errorCode: e.error_code,
        detail: ev?.detail ?? null,
        login: m.login,
        dlrUrl: e.dlr_url,
        dlrMask: e.dlr_mask ?? 0,
      };
      // Jasmin's callback: fixed parameters, sent as a query or a form (core/jasmin-dlr.ts).
      let request = { url: '', payload: '' };
      if (isJasminFormat(m.dlr_format)) {
        const params = jasminDlrParams(type, e.dlr_mask ?? 0, values);
        if (!params) continue;
        request = jasminDlrRequest(e.dlr_url, m.dlr_format === 'jasmin-get' ? 'GET' : 'POST', params);
      } else request.url = fillDlrUrl(e.dlr_url, type, values);
      rows.push({
        event_id: `dlr_${e.event_id}`,
        owner_id: e.owner_id,
        kind: 'dlr',
        // Ordered among the message's callbacks only: a slow status webhook does not hold them.
        ordering_key: `dlr:${e.message_id}`,
        url: request.url,
        payload: request.payload,
        next_attempt_at: now,
        give_up_at: now + giveUpMs,
        created_at: now,
      });
    }
    return rows;
  }

  async enqueue(row: NewOutbox): Promise<void> {
    // Idempotent by event id: rules run again after a restart queue the same delivery once.
    await this.db
      .insertInto('webhook_outbox')
      .values(pending(row))
      .onConflict((oc) => oc.column('event_id').doNothing())
      .execute();
  }

  /** Due deliveries that are the oldest pending one of their ordering key, leased to the caller. */
  /**
   * Leases up to `limit` due rows. With `fair`, at most `perOwner` rows per account counting the
   * ones it already has in flight (`inFlight`), and none for accounts at that limit, so one
   * account's slow receiver cannot take every delivery slot (issue 12).
   */
  async claimDue(
    now: number,
    leaseUntil: number,
    limit: number,
    fair?: {
      perOwner: number;
      inFlight: ReadonlyMap<string, number>;
      /**
       * Once every account below its share got its rows, rows beyond `perOwner` (oldest first)
       * fill the claim up to `borrow` rows in all: slots nobody else wants are not left idle.
       * 0 (the default): none, and accounts at their share are left out in SQL.
       */
      borrow?: number;
      /** Which accounts may borrow (default: all). */
      mayBorrow?: (owner: string) => boolean;
      /**
       * Set by the claim: true when it saw every due row of the accounts below their limit (its
       * look-ahead was not cut), so a claim with the same accounts at their limit finds nothing.
       */
      complete?: boolean;
      /** Set by the claim: accounts with due rows it saw and left (limit reached, or left out in SQL). */
      blocked?: Set<string>;
    },
  ): Promise<WebhookOutboxRow[]> {
    const borrow = fair?.borrow ?? 0;
    // Left out in SQL only when they cannot borrow: their rows could not be taken anyway.
    const full =
      fair && borrow === 0 ? [...fair.inFlight].filter(([, n]) => n >= fair.perOwner).map(([o]) => o) : [];
    // Due and leased by the database's clock: `now` only fixes the lease length, so nodes whose
    // clocks differ agree on when a lease ran out.
    const leaseMs = leaseUntil - now;
    const clock = this.caps ? this.caps.now() : sql<number>`${now}`;
    const lookahead = fair ? limit * 4 : limit;
    // A lease, not an acknowledgement: on SQLite it does not wait for the disk (lease-commit.ts).
    return leaseTransaction(this.db, this.dialect, async (trx) => {
      const candidates = await trx
        .selectFrom('webhook_outbox as o')
        .select(['o.id', 'o.owner_id'])
        .where('o.status', '=', 'pending')
        .where('o.next_attempt_at', '<=', clock)
        .where((eb) => eb.or([eb('o.lease_until', 'is', null), eb('o.lease_until', '<', clock)]))
        .$if(full.length > 0, (q) => q.where('o.owner_id', 'not in', full))
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('webhook_outbox as p')
                .select('p.id')
                .whereRef('p.ordering_key', '=', 'o.ordering_key')
                .where('p.status', '=', 'pending')
                .whereRef('p.id', '<', 'o.id'),
            ),
          ),
        )
        .orderBy('o.next_attempt_at')
        // Fair claims look further ahead, so accounts behind a busy one are seen in this round.
        .limit(lookahead)
        .$if(this.dialect === 'postgres', (q) => q.forUpdate().skipLocked())
        .execute();
      let chosen = candidates;
      if (fair) {
        fair.complete = candidates.length < lookahead;
        const taken = new Map(fair.inFlight);
        chosen = [];
        const rest: typeof candidates = [];
        for (const c of candidates) {
          const n = taken.get(c.owner_id) ?? 0;
          if (chosen.length >= limit || n >= fair.perOwner) {
            rest.push(c);
            continue;
          }
          taken.set(c.owner_id, n + 1);
          chosen.push(c);
        }
        // Work-conserving: rows beyond a share fill the claim up to `borrow` rows in all.
        let extra = Math.min(borrow, limit) - chosen.length;
        const blocked = new Set(full);
        for (const c of rest) {
          if (extra > 0 && (fair.mayBorrow?.(c.owner_id) ?? true)) {
            chosen.push(c);
            extra--;
          } else blocked.add(c.owner_id);
        }
        fair.blocked = blocked;
      }
      if (chosen.length === 0) return [];
      return trx
        .updateTable('webhook_outbox')
        .set({ lease_until: sql<number>`${clock} + ${leaseMs}` })
        .where(
          'id',
          'in',
          chosen.map((c) => c.id),
        )
        .returningAll()
        .execute();
    });
  }

  /**
   * Records an attempt and its outcome, fenced by the lease it was made under (`row` as
   * claimDue returned it): when that lease ran out and another claim took the row, nothing is
   * written ('superseded'): the new holder's outcome stands.
   */
  async recordAttempt(
    row: WebhookOutboxRow,
    result: AttemptResult,
    retryAt: number,
  ): Promise<AttemptOutcome> {
    const [status] = await this.recordAttempts([{ row, result, retryAt }]);
    return status as AttemptOutcome;
  }

  /**
   * Records the attempts of several deliveries in one transaction (group commit), each fenced by
   * its lease as recordAttempt says, with two statements for the lot (store/webhook-attempts.ts).
   * With one transaction per delivery the worker spent most of its time in COMMIT (5,000
   * messages with receipts and status webhooks, `HOT_N=5000 HOT_MODE=receipts npm run bench:hot`
   * under `--cpu-prof`: 95 of 182 busy seconds in commitTransaction).
   *
   * Committed without waiting for the disk on SQLite (lease-commit.ts), like the claim that
   * leased the rows: an attempt's record acknowledges nothing to anyone. Lost in an OS crash (not
   * in a process crash: the WAL has it), the rows are still leased under the old lease and are
   * delivered again once it runs out, as webhooks already may be (at least once, by event id);
   * the next synced commit syncs the log up to and including it, so a later event of a message
   * is never recorded while an earlier one's record is lost. Synced, these commits were 510 of
   * the 1,009 fsyncs of 2,000 messages with receipts and status webhooks, 4.1 s of event loop
   * held (\`HOT_N=2000 HOT_MODE=receipts npm run bench:hot\`, COMMIT timed per transaction).
   */
  async recordAttempts(
    items: { row: WebhookOutboxRow; result: AttemptResult; retryAt: number }[],
  ): Promise<AttemptOutcome[]> {
    return leaseTransaction(this.db, this.dialect, async (trx) => {
      const rows: AttemptRow[] = items.map(({ row, result, retryAt }) => {
        // A 2xx with an error is a callback the receiver did not acknowledge (Jasmin's ACK/Jasmin).
        const ok =
          result.error === null &&
          result.statusCode !== null &&
          result.statusCode >= 200 &&
          result.statusCode < 300;
        return {
          id: row.id,
          leaseUntil: row.lease_until,
          status: ok ? 'delivered' : retryAt > row.give_up_at ? 'failed' : 'pending',
          attempts: row.attempts + 1,
          nextAttemptAt: ok ? row.next_attempt_at : retryAt,
          statusCode: result.statusCode,
          error: result.error,
          deliveredAt: ok ? result.at : null,
          durationMs: result.durationMs,
          at: result.at,
        };
      });
      // One row per delivery; a row twice in a group (not expected) goes in a second round.
      const out: AttemptOutcome[] = [];
      let todo = rows.map((r, i) => ({ r, i }));
      while (todo.length > 0) {
        const seen = new Set<number>();
        const now = todo.filter(({ r }) => !seen.has(r.id) && seen.add(r.id));
        todo = todo.filter((t) => !now.includes(t));
        const changed = await recordAttemptRows(
          { trx, dialect: this.dialect },
          now.map((t) => t.r),
        );
        for (const { r, i } of now) out[i] = changed.has(r.id) ? r.status : 'superseded';
      }
      return out;
    });
  }

  list(f: {
    ownerId?: string | undefined;
    messageId?: string | undefined;
    status?: string | undefined;
    limit: number;
    before?: number | undefined;
  }): Promise<WebhookOutboxRow[]> {
    let q = this.db.selectFrom('webhook_outbox').selectAll();
    if (f.ownerId) q = q.where('owner_id', '=', f.ownerId);
    if (f.messageId) q = q.where('ordering_key', '=', f.messageId);
    if (f.status) q = q.where('status', '=', f.status as WebhookOutboxRow['status']);
    if (f.before) q = q.where('id', '<', f.before);
    return q.orderBy('id', 'desc').limit(f.limit).execute();
  }

  attempts(outboxIds: number[]): Promise<WebhookAttemptRow[]> {
    if (outboxIds.length === 0) return Promise.resolve([]);
    return this.db
      .selectFrom('webhook_attempts')
      .selectAll()
      .where('outbox_id', 'in', outboxIds)
      .orderBy('id')
      .execute();
  }
}

function pending(row: NewOutbox) {
  return {
    ...row,
    status: 'pending' as const,
    attempts: 0,
    lease_until: null,
    last_status_code: null,
    last_error: null,
    delivered_at: null,
  };
}

/**
 * SMPP registered_delivery: 1 asks for a receipt on any final outcome, 2 on failure only, 3 on
 * success only (SMPP 5.0; reserved in 3.4, where it used to be read as failure only). A receipt
 * goes out once per message, at its final status, also for a concatenated message.
 */
export function owesSmppReceipt(mask: number | null, status: string): boolean {
  const want = (mask ?? 0) & 0x03;
  if (want === 0 || !FINAL_STATUSES.has(status as never)) return false;
  if (want === 1) return true;
  return want === 3 ? status === 'delivered' : status !== 'delivered';
}
