/**
 * Campaigns and their recipients. A campaign's job is claimed like queue work: a lease with a
 * token (unique per claim), renewed with every batch it commits, fenced (a batch commits only
 * while its claim holds the lease and the campaign is still running), and on PostgreSQL taken
 * with SKIP LOCKED so two nodes never run it together. Each recipient row gets its message id
 * in the transaction that accepts the message, so a crash between batches resumes where the
 * last commit left off and no recipient gets two messages.
 */
import type { Kysely, Transaction } from 'kysely';
import { sql } from 'kysely';
import type { CampaignStatus } from '../core/campaign.js';
import { campaignFrom } from '../core/campaign.js';
import { fromStatuses } from '../core/message.js';
import type SQLite from 'better-sqlite3';
import type { Capabilities, Dialect } from './db.js';
import type { DialectSql } from './compiled.js';
import { runSql } from './compiled.js';
import { event } from './rows.js';
import { yieldLoop } from './slices.js';
import type { CampaignsTable, Database } from './schema.js';
import type { Selectable } from 'kysely';

export type CampaignRow = Selectable<CampaignsTable>;

/** Who gets the campaign (stored as JSON with it; copied for each occurrence of a recurring one). */
export type Audience =
  | { type: 'groups'; group_ids: string[] }
  | { type: 'contacts'; tag?: string | undefined; q?: string | undefined }
  | { type: 'recipients'; recipients: { number: string; vars?: Record<string, string> | undefined }[] }
  | { type: 'campaign'; campaign_id: string; outcome: FollowUpOutcome };

export type FollowUpOutcome = 'delivered' | 'failed' | 'replied' | 'sent';

/** Message statuses that make a recipient part of a follow-up segment. */
export const OUTCOME_STATUSES: Record<Exclude<FollowUpOutcome, 'replied'>, string[]> = {
  delivered: ['delivered', 'partially_delivered'],
  failed: ['failed', 'undelivered', 'expired', 'rejected'],
  sent: ['sent', 'delivered', 'partially_delivered'],
};

export interface DueRecipient {
  number: string;
  seq: number;
  vars: string | null;
  not_before: number;
  name: string | null;
  language: string | null;
  time_zone: string | null;
  fields: string | null;
}

/** The claim lost its lease, or the campaign was paused or canceled: nothing was committed. */
export class LeaseLost extends Error {
  constructor() {
    super('campaign lease lost');
  }
}

const CHUNK = 500;

/**
 * The batch's recipients marked (markRecipients), one statement over the batch as one parameter.
 * SQLite: the row of each batch entry is found through its primary key by rowid: with
 * `campaign_id = ?` in the UPDATE's own WHERE the planner scanned the campaign's recipients
 * once per entry (39 ms a row at 2,000 rows of a 200,000-recipient campaign); this way 5–6 µs a
 * row, as one prepared UPDATE per row was (`npx tsx` of a 6-round microbench, 2026-11-30).
 */
const MARK: DialectSql = {
  sqlite: `update campaign_recipients set message_id = j.message_id, error_code = j.error_code
    from (select json_extract(value, '$[0]') as number, json_extract(value, '$[1]') as message_id,
                 json_extract(value, '$[2]') as error_code from json_each(?)) as j
    where campaign_recipients.rowid =
        (select r.rowid from campaign_recipients r where r.campaign_id = ? and r.number = j.number)
      and +campaign_recipients.message_id is null and +campaign_recipients.error_code is null
    returning 1 as n`,
  postgres: `update campaign_recipients set message_id = v.message_id, error_code = v.error_code
    from unnest($1::text[], $2::text[], $3::text[]) as v(number, message_id, error_code)
    where campaign_recipients.campaign_id = $4 and campaign_recipients.number = v.number
      and campaign_recipients.message_id is null and campaign_recipients.error_code is null
    returning 1 as n`,
};
/** Recipients counted per query by `progress` on SQLite (one slice: a few ms, see there). */
const PROGRESS_SLICE = 5_000;

export class CampaignRepo {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly caps: Capabilities,
    private readonly dialect: Dialect,
    /** SQLite's handle (the connection under every transaction): statements run on it directly. */
    private readonly sqlite?: SQLite.Database,
  ) {}

  async create(row: CampaignRow, audience: Audience | undefined, now: number): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      await trx.insertInto('campaigns').values(row).execute();
      if (!audience) return 0;
      const n = await this.materialize(trx, row.id, row.owner_id, audience, now);
      await trx.updateTable('campaigns').set({ recipients_total: n }).where('id', '=', row.id).execute();
      return n;
    });
  }

  /** Writes the audience's recipients (each number once); returns how many. */
  async materialize(
    trx: Transaction<Database>,
    campaignId: string,
    ownerId: string,
    audience: Audience,
    now: number,
  ): Promise<number> {
    const common = sql`${campaignId}, ${now}`;
    switch (audience.type) {
      case 'recipients': {
        for (let i = 0; i < audience.recipients.length; i += CHUNK) {
          await trx
            .insertInto('campaign_recipients')
            .values(
              audience.recipients.slice(i, i + CHUNK).map((r, j) => ({
                campaign_id: campaignId,
                number: r.number,
                seq: i + j,
                vars: r.vars ? JSON.stringify(r.vars) : null,
                not_before: now,
                message_id: null,
                error_code: null,
              })),
            )
            .onConflict((oc) => oc.doNothing())
            .execute();
        }
        break;
      }
      case 'groups':
        // `where true`: SQLite needs it to tell an upsert's ON from a join's.
        await sql`insert into campaign_recipients (campaign_id, not_before, number, seq, vars, message_id, error_code)
          select ${common}, m.number, 0, null, null, null from group_members m
          where m.owner_id = ${ownerId} and m.group_id in (${sql.join(audience.group_ids)}) and true
          on conflict do nothing`.execute(trx);
        break;
      case 'contacts': {
        const like = audience.q ? `%${audience.q.toLowerCase()}%` : null;
        const tag = audience.tag ? `%${JSON.stringify(audience.tag)}%` : null;
        await sql`insert into campaign_recipients (campaign_id, not_before, number, seq, vars, message_id, error_code)
          select ${common}, c.number, 0, null, null, null from contacts c
          where c.owner_id = ${ownerId}
            and (cast(${like} as text) is null or c.number like ${like} or lower(c.name) like ${like})
            and (cast(${tag} as text) is null or c.tags like ${tag})
          on conflict do nothing`.execute(trx);
        break;
      }
      case 'campaign': {
        const src = sql`from campaign_recipients r join campaigns k on k.id = r.campaign_id`;
        if (audience.outcome === 'replied') {
          await sql`insert into campaign_recipients (campaign_id, not_before, number, seq, vars, message_id, error_code)
            select ${common}, r.number, r.seq, r.vars, null, null ${src}
            where r.campaign_id = ${audience.campaign_id} and k.owner_id = ${ownerId} and r.message_id is not null
              and exists (select 1 from inbound_messages i where i.owner_id = k.owner_id and i."from" = r.number
                          and i.received_at >= coalesce(k.started_at, k.created_at))
            on conflict do nothing`.execute(trx);
        } else {
          await sql`insert into campaign_recipients (campaign_id, not_before, number, seq, vars, message_id, error_code)
            select ${common}, r.number, r.seq, r.vars, null, null ${src} join messages m on m.id = r.message_id
            where r.campaign_id = ${audience.campaign_id} and k.owner_id = ${ownerId}
              and m.status in (${sql.join(OUTCOME_STATUSES[audience.outcome])})
            on conflict do nothing`.execute(trx);
        }
        break;
      }
    }
    const r = await trx
      .selectFrom('campaign_recipients')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('campaign_id', '=', campaignId)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async countActive(ownerId: string): Promise<number> {
    const r = await this.db
      .selectFrom('campaigns')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('owner_id', '=', ownerId)
      .where('status', 'not in', ['completed', 'canceled'])
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  byId(id: string, ownerId?: string): Promise<CampaignRow | undefined> {
    let q = this.db.selectFrom('campaigns').selectAll().where('id', '=', id);
    if (ownerId) q = q.where('owner_id', '=', ownerId);
    return q.executeTakeFirst();
  }

  list(ownerId: string | undefined, opts: { before?: string | undefined; limit: number; parentId?: string }) {
    let q = this.db.selectFrom('campaigns').selectAll();
    if (ownerId) q = q.where('owner_id', '=', ownerId);
    if (opts.before) q = q.where('id', '<', opts.before);
    if (opts.parentId) q = q.where('parent_id', '=', opts.parentId);
    return q.orderBy('id', 'desc').limit(opts.limit).execute();
  }

  /**
   * Moves a campaign to `to` if the transition table allows it from where it is. Pause and
   * cancel drop the lease: the runner holding it finds out at its next commit (fenced).
   */
  async move(
    id: string,
    ownerId: string | undefined,
    to: CampaignStatus,
    now: number,
    nextRunAt?: number,
    from: readonly CampaignStatus[] = campaignFrom(to),
  ): Promise<boolean> {
    let q = this.db
      .updateTable('campaigns')
      .set({
        status: to,
        updated_at: now,
        lease_owner: null,
        lease_until: null,
        ...(nextRunAt !== undefined ? { next_run_at: nextRunAt } : {}),
        ...(to === 'canceled' || to === 'completed' ? { finished_at: now } : {}),
      })
      .where('id', '=', id)
      .where(
        'status',
        'in',
        campaignFrom(to).filter((s) => from.includes(s)),
      );
    if (ownerId) q = q.where('owner_id', '=', ownerId);
    const r = await q.executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Cancels the campaign's messages that have not left yet; returns how many. */
  async cancelMessages(id: string, now: number): Promise<number> {
    let canceled = 0;
    let after = '';
    for (;;) {
      const ids = await this.db
        .selectFrom('campaign_recipients as r')
        .innerJoin('messages as m', 'm.id', 'r.message_id')
        .select(['m.id', 'm.owner_id'])
        .where('r.campaign_id', '=', id)
        .where('m.status', 'in', fromStatuses('canceled'))
        .where('m.id', '>', after)
        .orderBy('m.id')
        .limit(CHUNK)
        .execute();
      if (ids.length === 0) return canceled;
      after = (ids[ids.length - 1] as { id: string }).id;
      await this.db.transaction().execute(async (trx) => {
        const done = await trx
          .updateTable('messages')
          .set({ status: 'canceled', final_at: now, updated_at: now, lease_owner: null, lease_until: null })
          .where(
            'id',
            'in',
            ids.map((r) => r.id),
          )
          .where('status', 'in', fromStatuses('canceled'))
          .returning(['id', 'owner_id'])
          .execute();
        canceled += done.length;
        if (done.length > 0) {
          await trx
            .insertInto('message_events')
            .values(
              done.map((r) => event(r.id, r.owner_id, 'canceled', null, 'campaign canceled', null, now)),
            )
            .execute();
        }
      });
    }
  }

  /**
   * Claims due campaigns: scheduled ones whose time came, and running ones whose lease ran out
   * by the database's clock (their node died). The token fences everything the claim commits.
   */
  async claim(token: string, now: number, leaseMs: number, limit: number): Promise<CampaignRow[]> {
    return this.db.transaction().execute(async (trx) => {
      const due = await this.caps
        .claimLock(
          trx
            .selectFrom('campaigns')
            .select('id')
            .where((eb) =>
              eb.or([
                eb.and([eb('status', '=', 'scheduled'), eb('next_run_at', '<=', now)]),
                eb.and([eb('status', '=', 'running'), eb('lease_until', '<', this.caps.now())]),
              ]),
            )
            .orderBy('next_run_at')
            .limit(limit),
        )
        .execute();
      if (due.length === 0) return [];
      return trx
        .updateTable('campaigns')
        .set({
          status: 'running',
          lease_owner: token,
          lease_until: sql<number>`${this.caps.now()} + ${leaseMs}`,
          started_at: sql<number>`coalesce(started_at, ${now})`,
          updated_at: now,
        })
        .where(
          'id',
          'in',
          due.map((d) => d.id),
        )
        .where('status', 'in', ['scheduled', 'running'])
        .returningAll()
        .execute();
    });
  }

  /** Inside an accepting transaction: fails (rolling it back) unless this claim still runs the campaign. */
  async fence(
    trx: Transaction<Database>,
    id: string,
    token: string,
    leaseMs: number,
    done: number,
    now: number,
  ): Promise<void> {
    const r = await trx
      .updateTable('campaigns')
      .set({
        recipients_done: sql<number>`recipients_done + ${done}`,
        lease_until: sql<number>`${this.caps.now()} + ${leaseMs}`,
        updated_at: now,
      })
      .where('id', '=', id)
      .where('lease_owner', '=', token)
      .where('status', '=', 'running')
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) throw new LeaseLost();
  }

  /**
   * Marks recipients done (their message id, or the code that kept them from getting one), in
   * the accepting transaction, with one statement for the batch (MARK): a row per recipient cost
   * a round trip each on PostgreSQL (the run fell to 139 msg/s under a 200 msg/s cap on the
   * loaded test box), and the Kysely-built `UPDATE … FROM (VALUES …)` 42 µs a row on SQLite.
   */
  async markRecipients(
    trx: Transaction<Database>,
    id: string,
    rows: readonly { number: string; messageId: string | null; errorCode: string | null }[],
  ): Promise<void> {
    if (rows.length === 0) return;
    const numbers = rows.map((r) => r.number);
    const messageIds = rows.map((r) => r.messageId);
    const errorCodes = rows.map((r) => r.errorCode);
    const marked = await runSql<{ n: number }>(
      { trx, dialect: this.dialect, sqlite: this.sqlite },
      MARK,
      this.dialect === 'sqlite'
        ? [JSON.stringify(rows.map((r) => [r.number, r.messageId, r.errorCode])), id]
        : [numbers, messageIds, errorCodes, id],
    );
    // Another claim already turned one of them into a message: never a second one.
    if (marked.length !== rows.length) throw new LeaseLost();
  }

  /** Renews the lease while the campaign waits (no commit to carry it); false when lost. */
  async renew(id: string, token: string, leaseMs: number): Promise<boolean> {
    const r = await this.db
      .updateTable('campaigns')
      .set({ lease_until: sql<number>`${this.caps.now()} + ${leaseMs}` })
      .where('id', '=', id)
      .where('lease_owner', '=', token)
      .where('status', '=', 'running')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /**
   * Recipients due now, oldest first, with their contact's details when `contacts` (a text with
   * variables, a send window by the contact's time zone). Without them the read skips the join:
   * 3.4–5.5 µs a recipient against 9–13 µs with it (2,000-row reads through better-sqlite3 on a
   * copy of a 100,000-recipient campaign's database, load ~15).
   */
  due(c: CampaignRow, now: number, limit: number, contacts = true): Promise<DueRecipient[]> {
    const q = this.db
      .selectFrom('campaign_recipients as r')
      .where('r.campaign_id', '=', c.id)
      .where('r.message_id', 'is', null)
      .where('r.error_code', 'is', null)
      .where('r.not_before', '<=', now)
      .orderBy('r.not_before')
      .orderBy('r.seq')
      .limit(limit);
    if (!contacts) {
      return q
        .select([
          'r.number',
          'r.seq',
          'r.vars',
          'r.not_before',
          sql<null>`null`.as('name'),
          sql<null>`null`.as('language'),
          sql<null>`null`.as('time_zone'),
          sql<null>`null`.as('fields'),
        ])
        .execute();
    }
    return q
      .leftJoin('contacts as c', (j) =>
        j.on('c.owner_id', '=', c.owner_id).onRef('c.number', '=', 'r.number'),
      )
      .select([
        'r.number',
        'r.seq',
        'r.vars',
        'r.not_before',
        'c.name',
        'c.language',
        'c.time_zone',
        'c.fields',
      ])
      .execute() as Promise<DueRecipient[]>;
  }

  /** Recipients outside their send window wait until it opens. */
  async defer(id: string, rows: readonly { number: string; until: number }[]): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      for (const r of rows) {
        await trx
          .updateTable('campaign_recipients')
          .set({ not_before: r.until })
          .where('campaign_id', '=', id)
          .where('number', '=', r.number)
          .where('message_id', 'is', null)
          .execute();
      }
    });
  }

  /** The earliest time a pending recipient may go; undefined when none is pending. */
  async nextPending(id: string): Promise<number | undefined> {
    const r = await this.db
      .selectFrom('campaign_recipients')
      .select((eb) => eb.fn.min<number>('not_before').as('t'))
      .where('campaign_id', '=', id)
      .where('message_id', 'is', null)
      .where('error_code', 'is', null)
      .executeTakeFirst();
    return r?.t === null || r?.t === undefined ? undefined : Number(r.t);
  }

  /** Hands the campaign back: completed, scheduled again for `nextRunAt`, or paused. Fenced by the token. */
  async release(
    id: string,
    token: string,
    to: 'completed' | 'scheduled' | 'paused',
    now: number,
    nextRunAt?: number,
  ): Promise<boolean> {
    const r = await this.db
      .updateTable('campaigns')
      .set({
        status: to,
        lease_owner: null,
        lease_until: null,
        updated_at: now,
        ...(to === 'completed'
          ? { finished_at: now }
          : to === 'scheduled'
            ? { next_run_at: nextRunAt ?? now }
            : {}),
      })
      .where('id', '=', id)
      .where('lease_owner', '=', token)
      .where('status', '=', 'running')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /**
   * Fires one occurrence of a recurring campaign: its child (unique per parent and occurrence,
   * so a second node firing the same one inserts nothing) with its recipients, and the
   * parent's next occurrence, in one transaction fenced by the claim.
   */
  async fireOccurrence(
    parent: CampaignRow,
    token: string,
    child: CampaignRow,
    next: number | null,
    now: number,
  ): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const held = await trx
        .updateTable('campaigns')
        .set({
          status: next === null ? 'completed' : 'scheduled',
          next_run_at: next,
          lease_owner: null,
          lease_until: null,
          updated_at: now,
          ...(next === null ? { finished_at: now } : {}),
        })
        .where('id', '=', parent.id)
        .where('lease_owner', '=', token)
        .where('status', '=', 'running')
        .executeTakeFirst();
      if (Number(held.numUpdatedRows) !== 1) return false;
      const ins = await trx
        .insertInto('campaigns')
        .values(child)
        .onConflict((oc) => oc.columns(['parent_id', 'occurrence_at']).doNothing())
        .executeTakeFirst();
      if (Number(ins.numInsertedOrUpdatedRows ?? 0) !== 1) return false;
      const n = await this.materialize(
        trx,
        child.id,
        child.owner_id,
        JSON.parse(child.audience) as Audience,
        now,
      );
      await trx.updateTable('campaigns').set({ recipients_total: n }).where('id', '=', child.id).execute();
      return true;
    });
  }

  /**
   * Recipients per message status (`pending`: no message yet; `skipped`: refused before one).
   * SQLite runs a query on the event loop, and counting a 1,000,000-recipient campaign in one
   * join held it for about 0.4 s (0.16 s per 400,000, docs/benchmarks.md): the count goes in
   * slices of PROGRESS_SLICE recipients along the primary key (campaign, number), other work
   * running between them (store/slices.ts). PostgreSQL counts in one query on its own server.
   */
  async progress(id: string): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    let after: string | undefined;
    for (;;) {
      let upTo: string | undefined;
      if (this.caps.blockingReads) {
        let edge = this.db
          .selectFrom('campaign_recipients')
          .select('number')
          .where('campaign_id', '=', id)
          .orderBy('number')
          .limit(1)
          .offset(PROGRESS_SLICE - 1);
        if (after !== undefined) edge = edge.where('number', '>', after);
        upTo = (await edge.executeTakeFirst())?.number;
      }
      let q = this.db
        .selectFrom('campaign_recipients as r')
        .leftJoin('messages as m', 'm.id', 'r.message_id')
        .select([
          sql<string>`case when r.message_id is null then (case when r.error_code is not null then 'skipped' else 'pending' end) else m.status end`.as(
            'k',
          ),
          (eb) => eb.fn.countAll<number>().as('n'),
        ])
        .where('r.campaign_id', '=', id)
        // A message gone from the history (retention) is counted nowhere, as before.
        .where((eb) => eb.or([eb('r.message_id', 'is', null), eb('m.id', 'is not', null)]));
      if (after !== undefined) q = q.where('r.number', '>', after);
      if (upTo !== undefined) q = q.where('r.number', '<=', upTo);
      for (const r of await q.groupBy('k').execute()) out[r.k] = (out[r.k] ?? 0) + Number(r.n);
      if (upTo === undefined) return out;
      after = upTo;
      await yieldLoop();
    }
  }

  /** A page of a campaign's recipient numbers, by number (the cost estimate prices them). */
  async numbers(id: string, afterNumber: string, limit: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('campaign_recipients')
      .select('number')
      .where('campaign_id', '=', id)
      .where('number', '>', afterNumber)
      .orderBy('number')
      .limit(limit)
      .execute();
    return rows.map((r) => r.number);
  }

  /** A page of results: recipient, message id, status and error, by number. */
  results(id: string, afterNumber: string, limit: number) {
    return this.db
      .selectFrom('campaign_recipients as r')
      .leftJoin('messages as m', 'm.id', 'r.message_id')
      .select([
        'r.number',
        'r.message_id',
        'm.status',
        'm.error_code',
        'r.error_code as skip_code',
        'm.sent_at',
        'm.final_at',
      ])
      .where('r.campaign_id', '=', id)
      .where('r.number', '>', afterNumber)
      .orderBy('r.number')
      .limit(limit)
      .execute();
  }
}
