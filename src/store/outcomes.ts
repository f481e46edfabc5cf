/**
 * What happens to a message after it is claimed: the outcome of its submit and the delivery
 * reports of its parts, applied in batches (group commit) in arrival order.
 *
 * - Every status change names its target and takes the allowed sources from the state machine
 *   (`fromStatuses`), so nothing goes backwards and a late or duplicate event changes nothing.
 * - A submit's outcome is fenced by its lease: it applies only to a row still `sending` under
 *   the claim token it was submitted with. A node whose lease ran out (and whose message
 *   another claim took) cannot overwrite the new holder's outcome.
 * - A report is matched in the database against the remote id stored per part: exactly first,
 *   then by the forms the channel's id conversion gave (only when one part matches). One that
 *   matches no part yet (its submit's outcome is still on its way) waits in `pending_reports`
 *   and is applied in the same transaction that stores the part.
 */
import { randomUUID } from 'node:crypto';
import type SQLite from 'better-sqlite3';
import type { Kysely, Transaction } from 'kysely';
import { sql } from 'kysely';
import type { DeliveryReport, ReportState } from '../channels/port.js';
import type { MessageStatus } from '../core/message.js';
import { PART_FINAL, finalStatusOf, fromStatuses } from '../core/message.js';
import type { SqlTarget } from './compiled.js';
import { noteUnknownSubscriber, refundMessages } from './credits.js';
import type { Dialect } from './db.js';
import { monthOf } from './ids.js';
import type { BulkInsert } from './rows.js';
import { event } from './rows.js';
import type { Database, MessagePartRow, NewMessageEvent } from './schema.js';
import type { FinalChange, PartChange } from './report-batch.js';
import { finalizeMessages, matchParts, partsOf, updateParts } from './report-batch.js';
import { insertParts, markSent, waitingReports } from './sent-batch.js';

/** How long a report that matched nothing is kept for a late match (ids that are not reused). */
export const PENDING_REPORT_TTL_MS = 24 * 3_600_000;
/** How far apart a part's storing and a waiting report's arrival may be for the sweep to pair them. */
const SWEEP_SKEW_MS = 10 * 60_000;

/**
 * A part still waiting for its report: not final, and its message wants one (no `final_at`).
 * With reused references (TP-MR) only such a part can be the one a report is about.
 */
function waitingForReport(part: 'p' | 'message_parts') {
  return sql<boolean>`${sql.ref(`${part}.status`)} not in (${sql.join([...PART_FINAL])})
    and exists (select 1 from messages m where m.id = ${sql.ref(`${part}.message_id`)} and m.final_at is null)`;
}

/** What the dispatcher learned about one message or part; applied in batches. */
export type Outcome =
  | {
      kind: 'sent';
      id: string;
      ownerId: string;
      /** The claim token the message was submitted under (fences the update). */
      lease: string;
      channelId: string;
      remoteIds: string[];
      /** Units to add to the channel's monthly counter (0 when reserved up front). */
      countUnits: number;
      /** Set when the channel sent it otherwise than stored (a shift table kept it GSM-7). */
      sentAs?: { encoding: string; segments: number } | undefined;
      /** A delivery report was requested: the message waits for it. Otherwise `sent` is final. */
      awaitsReport: boolean;
      /** When the submit started: recorded as the `sending` event. */
      startedAt: number;
      at: number;
    }
  | {
      kind: 'retry';
      id: string;
      ownerId: string;
      lease: string;
      channelId: string | null;
      nextAt: number;
      errorCode: string;
      error: string;
      /** A try of this attempt may have reached the network (SubmitError.outcomeUnknown). */
      outcomeUnknown?: boolean | undefined;
      startedAt: number;
      at: number;
    }
  | {
      kind: 'failed';
      id: string;
      ownerId: string;
      lease: string;
      channelId: string | null;
      errorCode: string;
      error: string;
      /** A try of this attempt may have reached the network: the message keeps its charge. */
      outcomeUnknown?: boolean | undefined;
      startedAt: number;
      at: number;
    }
  /**
   * Not sent and not counted as an attempt: no channel was free for it. With `errorCode`
   * (no channel at all), the reason is shown on the message while it waits.
   */
  | {
      kind: 'release';
      id: string;
      lease: string;
      nextAt: number;
      reason: string;
      errorCode?: string | undefined;
      at: number;
    }
  | ReportOutcome;

/** A channel's delivery report as the store applies it: times as epoch ms, and when it came. */
export interface ReportOutcome extends Omit<DeliveryReport, 'at'> {
  kind: 'report';
  channelId: string;
  /** The time the report states (done date). */
  at: number;
  /** When we received it. */
  receivedAt: number;
}

export interface OutcomeSummary {
  finals: { id: string; status: MessageStatus }[];
  /** Submit outcomes not applied: the row is no longer `sending` under that lease. */
  fenced: { id: string; kind: string }[];
  /** Reports that matched no part and wait for one. */
  pending: { channelId: string; remoteId: string }[];
  /** Reports about parts that were already final: recorded in the count, not applied. */
  duplicates: number;
}

type SentOutcome = Extract<Outcome, { kind: 'sent' }>;

export class OutcomeRepo {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly bulkInsert: BulkInsert,
    private readonly dialect: Dialect,
    private readonly sqlite?: SQLite.Database | undefined,
  ) {}

  /**
   * Applies outcomes and reports in one transaction, in order. Events are collected and written
   * together at the end (in order), and monthly counters are summed per channel: a batch of
   * thousands costs a handful of statements more than one message does.
   */
  async apply(outcomes: Outcome[]): Promise<OutcomeSummary> {
    return this.db.transaction().execute(async (trx) => {
      const run = new Run(trx, { trx, dialect: this.dialect, sqlite: this.sqlite });
      const counters = new Map<string, { channel_id: string; month: string; count: number }>();
      // Consecutive `sent` outcomes are applied together (three statements for the lot), and so
      // are consecutive reports (four, store/report-batch.ts); any other kind, or a second
      // outcome for the same message (a second report with the same id), ends the group, so the
      // order of application is the order of arrival as before.
      let group: SentOutcome[] = [];
      const groupIds = new Set<string>();
      let reports: ReportOutcome[] = [];
      const reportIds = new Set<string>();
      const flushSent = async () => {
        if (group.length === 0) return;
        const applied = await run.sentAll(group);
        group.forEach((o, i) => {
          if (!applied[i] || o.countUnits <= 0) return;
          const key = `${o.channelId}|${monthOf(o.at)}`;
          const c = counters.get(key) ?? { channel_id: o.channelId, month: monthOf(o.at), count: 0 };
          c.count += o.countUnits;
          counters.set(key, c);
        });
        group = [];
        groupIds.clear();
      };
      const flushReports = async () => {
        if (reports.length === 0) return;
        await run.reportAll(reports);
        reports = [];
        reportIds.clear();
      };
      const flush = async () => {
        await flushSent();
        await flushReports();
      };
      for (const o of outcomes) {
        if (o.kind === 'sent') {
          await flushReports();
          if (groupIds.has(o.id)) await flushSent();
          group.push(o);
          groupIds.add(o.id);
          continue;
        }
        // A reused reference (a modem's TP-MR) is matched one report at a time (Run.report).
        if (o.kind === 'report' && o.idReuseWindowMs === undefined) {
          await flushSent();
          const key = `${o.channelId}|${o.remoteId}`;
          if (reportIds.has(key)) await flushReports();
          reports.push(o);
          reportIds.add(key);
          continue;
        }
        await flush();
        switch (o.kind) {
          case 'retry':
          case 'failed':
            await run.unsent(o);
            break;
          case 'release':
            await run.release(o);
            break;
          case 'report':
            await run.report(o);
            break;
        }
      }
      await flush();
      await this.bulkInsert(trx, 'message_events', run.events);
      await run.settle(Date.now());
      for (const c of counters.values()) {
        await trx
          .insertInto('channel_counters')
          .values(c)
          .onConflict((oc) =>
            oc.columns(['channel_id', 'month']).doUpdateSet((eb) => ({
              count: eb('channel_counters.count', '+', eb.ref('excluded.count')),
            })),
          )
          .execute();
      }
      return run.summary;
    });
  }

  /**
   * Applies waiting reports whose part now exists (another node stored it, or the report's id
   * matched only in a converted form), and drops those whose time ran out. Returns how many
   * were applied and how many dropped.
   */
  async sweepPending(now: number, limit = 500): Promise<{ applied: number; dropped: number }> {
    return this.db.transaction().execute(async (trx) => {
      const expired = await trx
        .deleteFrom('pending_reports')
        .where('expires_at', '<', now)
        .returning('report_id')
        .execute();
      const dropped = new Set(expired.map((r) => r.report_id)).size;
      const matches = await trx
        .selectFrom('pending_reports as r')
        .innerJoin('message_parts as p', (j) =>
          j.onRef('p.channel_id', '=', 'r.channel_id').onRef('p.remote_id', '=', 'r.remote_id'),
        )
        // The part was stored around the time the report came (by another node, or in a
        // converted form); not a later reuse of the same id.
        .where((eb) =>
          eb.and([
            eb('p.created_at', '>=', eb('r.received_at', '-', SWEEP_SKEW_MS)),
            eb('p.created_at', '<=', eb('r.received_at', '+', SWEEP_SKEW_MS)),
          ]),
        )
        // Only a part still waiting for a report: with reused references (TP-MR) an older part
        // with the same id may be in range, and the report is about the one being stored.
        .where(waitingForReport('p'))
        .select(['r.report_id', 'p.message_id', 'p.seq'])
        .orderBy('r.id')
        .limit(limit)
        .execute();
      const run = new Run(trx, { trx, dialect: this.dialect, sqlite: this.sqlite });
      const done = new Set<string>();
      for (const m of matches) {
        if (done.has(m.report_id)) continue;
        done.add(m.report_id);
        await run.applyPending(m.report_id, m.message_id, m.seq);
      }
      await this.bulkInsert(trx, 'message_events', run.events);
      return { applied: done.size, dropped };
    });
  }

  /** How many reports wait for their part (a metric). */
  async pendingCount(): Promise<number> {
    const r = await this.db
      .selectFrom('pending_reports')
      .select((eb) => eb.fn.count<number>('report_id').distinct().as('n'))
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  }
}

/** One transaction's worth of applying: the events it will write and what it found. */
class Run {
  readonly events: NewMessageEvent[] = [];
  readonly summary: OutcomeSummary = { finals: [], fenced: [], pending: [], duplicates: 0 };
  /**
   * Messages that failed: their charge is refunded unless a submit of theirs may have left
   * (`outcome_unknown`, checked by refundMessages).
   */
  private readonly unsentFailures: string[] = [];
  /** Messages that ended as `unknown_subscriber`: counted for the automatic blacklist. */
  private readonly unknownSubscribers: string[] = [];

  constructor(
    private readonly trx: Transaction<Database>,
    /** The same transaction for the fixed statements of store/sent-batch.ts. */
    private readonly target: SqlTarget,
  ) {}

  /** The sending policy's part of the outcome, in the same transaction: refunds, auto-blacklist. */
  async settle(now: number): Promise<void> {
    if (this.unsentFailures.length > 0) {
      await refundMessages(this.trx, this.unsentFailures, now, 'failed before leaving');
    }
    if (this.unknownSubscribers.length === 0) return;
    const rows = await this.trx
      .selectFrom('messages')
      .select(['owner_id', 'to'])
      .where('id', 'in', this.unknownSubscribers)
      .execute();
    for (const r of rows) await noteUnknownSubscriber(this.trx, r.owner_id, r.to, now);
  }

  /**
   * Applies `sent` outcomes of distinct messages; returns, per outcome, whether it applied.
   * Each is fenced by its lease exactly as a single UPDATE would be (store/sent-batch.ts).
   */
  async sentAll(os: readonly SentOutcome[]): Promise<boolean[]> {
    const changed = await markSent(
      this.target,
      os.map((o) => ({
        id: o.id,
        lease: o.lease,
        channelId: o.channelId,
        at: o.at,
        // No report will come: `sent` is this message's final state.
        finalAt: o.awaitsReport ? null : o.at,
        encoding: o.sentAs?.encoding ?? null,
        segments: o.sentAs?.segments ?? null,
      })),
    );
    const applied = os.map((o) => changed.has(o.id));
    const parts: Parameters<typeof insertParts>[1][number][] = [];
    const keys: Parameters<typeof waitingReports>[1][number][] = [];
    os.forEach((o, k) => {
      if (!applied[k]) {
        this.summary.fenced.push({ id: o.id, kind: o.kind });
        return;
      }
      // A `sending` submit's event is written with its outcome: a message that was claimed but
      // found no channel leaves no noise in its history.
      this.events.push(event(o.id, o.ownerId, 'sending', null, null, o.channelId, o.startedAt));
      this.events.push(
        event(
          o.id,
          o.ownerId,
          'sent',
          null,
          o.awaitsReport ? null : 'no delivery report requested',
          o.channelId,
          o.at,
        ),
      );
      if (!o.awaitsReport) this.summary.finals.push({ id: o.id, status: 'sent' });
      // A message leaves `sending` once, so it never has parts from an earlier submit here.
      o.remoteIds.forEach((remoteId, seq) => {
        parts.push({ messageId: o.id, seq, channelId: o.channelId, remoteId, at: o.at });
        // A report received before this submit started is about an earlier use of the id.
        keys.push({ k, channelId: o.channelId, remoteId, startedAt: o.startedAt });
      });
    });
    await insertParts(this.target, parts);
    // Reports that raced these outcomes (sent right after submit_sm_resp) are waiting for them.
    const waiting = await waitingReports(this.target, keys);
    const done = new Set<string>();
    for (const w of waiting) {
      const key = `${w.k}|${w.report_id}`;
      if (done.has(key)) continue;
      done.add(key);
      const o = os[w.k] as SentOutcome;
      await this.applyPending(w.report_id, o.id, o.remoteIds.indexOf(w.remote_id));
    }
    return applied;
  }

  async unsent(o: Extract<Outcome, { kind: 'retry' | 'failed' }>): Promise<void> {
    const retry = o.kind === 'retry';
    const res = await this.trx
      .updateTable('messages')
      .set((eb) => ({
        status: retry ? 'queued' : 'failed',
        attempts: eb('attempts', '+', 1),
        lease_owner: null,
        lease_until: null,
        error_code: o.errorCode,
        error_message: o.error,
        updated_at: o.at,
        // Kept for good: a later definite failure does not undo what this try may have sent.
        ...(o.outcomeUnknown ? { outcome_unknown: 1 } : {}),
        ...(retry
          ? { next_attempt_at: o.nextAt, avoid_channel_id: o.channelId }
          : { channel_id: o.channelId, final_at: o.at }),
      }))
      .where('id', '=', o.id)
      .where('lease_owner', '=', o.lease)
      .where('status', 'in', fromStatuses(retry ? 'queued' : 'failed'))
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) {
      this.summary.fenced.push({ id: o.id, kind: o.kind });
      return;
    }
    this.events.push(event(o.id, o.ownerId, 'sending', null, null, o.channelId, o.startedAt));
    if (retry) {
      this.events.push(event(o.id, o.ownerId, 'queued', o.errorCode, `retry: ${o.error}`, o.channelId, o.at));
    } else {
      this.events.push(event(o.id, o.ownerId, 'failed', o.errorCode, o.error, o.channelId, o.at));
      this.summary.finals.push({ id: o.id, status: 'failed' });
      this.unsentFailures.push(o.id);
      if (o.errorCode === 'unknown_subscriber') this.unknownSubscribers.push(o.id);
    }
  }

  async release(o: Extract<Outcome, { kind: 'release' }>): Promise<void> {
    await this.trx
      .updateTable('messages')
      .set({
        status: 'queued',
        next_attempt_at: o.nextAt,
        lease_owner: null,
        lease_until: null,
        updated_at: o.at,
        ...(o.errorCode ? { error_code: o.errorCode, error_message: o.reason } : {}),
      })
      .where('id', '=', o.id)
      .where('lease_owner', '=', o.lease)
      .where('status', 'in', fromStatuses('queued'))
      .execute();
  }

  /**
   * Applies reports with distinct (channel, remote id) and no reuse window, in four statements
   * for the lot (store/report-batch.ts). A report whose exact id names no part goes the
   * one-report way (the converted forms of its id, else pending_reports); when a converted form
   * names a part, the reports before it are applied first, so the group keeps arrival order
   * (an earlier report may have made that part final: then this one is a duplicate).
   */
  async reportAll(os: readonly ReportOutcome[]): Promise<void> {
    const matched = await matchParts(
      this.target,
      os.map((o, k) => ({ k, channelId: o.channelId, remoteId: o.remoteId })),
    );
    const partOf = new Map(matched.map((m) => [m.k, m]));
    let changes: PartChange[] = [];
    /** Report index per changed part, and the part's new status. */
    let byPart = new Map<string, number>();
    for (let k = 0; k < os.length; k++) {
      const o = os[k] as ReportOutcome;
      const part = partOf.get(k);
      if (!part) {
        const found = await this.findConverted(o);
        if (!found) {
          await this.keepPending(o);
          continue;
        }
        // The part as read may be stale here: applyToPart's UPDATE checks its status again.
        await this.applyChanges(os, changes, byPart);
        changes = [];
        byPart = new Map();
        await this.applyToPart(found, o.channelId, o);
        continue;
      }
      const key = `${part.message_id}|${part.seq}`;
      // Already final, or a second report about the same part in this group (two ids that name
      // one part cannot both be its exact id): recorded as a duplicate, as one by one. A part
      // read as not final may have been made final by a converted-id report applied above:
      // updateParts checks the status again and counts it as a duplicate then.
      if (PART_FINAL.has(part.status) || byPart.has(key)) {
        this.summary.duplicates++;
        continue;
      }
      byPart.set(key, k);
      changes.push({
        messageId: part.message_id,
        seq: part.seq,
        status: partStatusOf(o.state),
        errorCode: o.errorCode ?? null,
        at: o.at,
      });
    }
    await this.applyChanges(os, changes, byPart);
  }

  /**
   * Part changes of a run of exactly matched reports, then the messages they made final.
   * `byPart` gives, per changed part, the index in `os` of the report that changed it.
   */
  private async applyChanges(
    os: readonly ReportOutcome[],
    changes: readonly PartChange[],
    byPart: ReadonlyMap<string, number>,
  ): Promise<void> {
    if (changes.length === 0) return;
    const changed = await updateParts(this.target, changes);
    /** Messages a report may have made final: the report (latest in arrival order) that did. */
    const completing = new Map<string, number>();
    for (const c of changes) {
      const key = `${c.messageId}|${c.seq}`;
      if (!changed.has(key)) {
        this.summary.duplicates++;
        continue;
      }
      if (!PART_FINAL.has(c.status)) continue;
      const k = byPart.get(key) as number;
      completing.set(c.messageId, Math.max(k, completing.get(c.messageId) ?? -1));
    }
    if (completing.size === 0) return;
    const parts = await partsOf(this.target, [...completing.keys()]);
    const finals: FinalChange[] = [];
    for (const [id, k] of completing) {
      const ps = parts.get(id) ?? [];
      if (ps.length === 0 || !ps.every((p) => PART_FINAL.has(p.status))) continue;
      const status = finalStatusOf(ps.map((p) => p.status));
      const errorCode =
        status === 'delivered' ? null : (ps.find((p) => p.status !== 'delivered')?.error_code ?? null);
      finals.push({ id, status, errorCode, at: (os[k] as ReportOutcome).at });
    }
    const done = new Map(finals.map((f) => [f.id, f]));
    for (const msg of await finalizeMessages(this.target, finals)) {
      const f = done.get(msg.id) as FinalChange;
      const o = os[completing.get(msg.id) as number] as ReportOutcome;
      const status = f.status as MessageStatus;
      this.events.push(event(msg.id, msg.owner_id, status, f.errorCode, null, o.channelId, f.at));
      this.summary.finals.push({ id: msg.id, status });
      if (f.errorCode === 'unknown_subscriber') this.unknownSubscribers.push(msg.id);
    }
  }

  /** The one part a report's converted id forms name (its exact id named none), if exactly one. */
  private async findConverted(o: ReportOutcome): Promise<MessagePartRow | undefined> {
    const alts = (o.altIds ?? []).filter((a) => a !== o.remoteId);
    if (alts.length === 0) return undefined;
    const found = await this.find(o, alts, 2);
    return found.length === 1 ? found[0] : undefined;
  }

  async report(o: ReportOutcome): Promise<void> {
    // Exact id first, then the converted forms if exactly one part matches; else it waits.
    const [exact] = await this.find(o, [o.remoteId], 1);
    const part = exact ?? (await this.findConverted(o));
    if (!part) {
      await this.keepPending(o);
      return;
    }
    await this.applyToPart(part, o.channelId, o);
  }

  /** The newest parts of the report's channel with one of these ids (within its reuse window). */
  private find(o: ReportOutcome, ids: readonly string[], limit: number): Promise<MessagePartRow[]> {
    const since = o.idReuseWindowMs !== undefined ? o.receivedAt - o.idReuseWindowMs : undefined;
    return (
      this.trx
        .selectFrom('message_parts')
        .selectAll()
        .where('channel_id', '=', o.channelId)
        .where('remote_id', 'in', ids)
        // A reused reference (a modem's TP-MR) names a part still waiting for its report: an
        // earlier part with the same reference that is final, or whose message needs no report,
        // is not it. A report that races its submit then waits in pending_reports for its own
        // part instead of landing on the older one (measured: 100 back-to-back modem messages
        // with TP-MRs already used, reports 20 ms after +CMGS, left some `sent` for ever).
        .$if(since !== undefined, (q) =>
          q.where('created_at', '>=', since as number).where(waitingForReport('message_parts')),
        )
        .orderBy('created_at', 'desc')
        .limit(limit)
        .execute()
    );
  }

  private async keepPending(o: ReportOutcome): Promise<void> {
    const reportId = randomUUID();
    const ids = [...new Set([o.remoteId, ...(o.altIds ?? [])])];
    await this.trx
      .insertInto('pending_reports')
      .values(
        ids.map((remoteId) => ({
          report_id: reportId,
          channel_id: o.channelId,
          remote_id: remoteId,
          state: o.state,
          error_code: o.errorCode ?? null,
          raw_error: o.rawError ?? null,
          reported_at: o.at,
          received_at: o.receivedAt,
          expires_at: o.receivedAt + (o.idReuseWindowMs ?? PENDING_REPORT_TTL_MS),
        })),
      )
      .execute();
    this.summary.pending.push({ channelId: o.channelId, remoteId: o.remoteId });
  }

  /** Applies a waiting report to the part it now matches, and forgets the report. */
  async applyPending(reportId: string, messageId: string, seq: number): Promise<void> {
    // Claimed by deleting it: of two nodes sweeping at once only the one whose DELETE took the
    // rows applies the report (the other waits on the row locks, then deletes nothing).
    const [r] = await this.trx
      .deleteFrom('pending_reports')
      .where('report_id', '=', reportId)
      .returningAll()
      .execute();
    const part = await this.trx
      .selectFrom('message_parts')
      .selectAll()
      .where('message_id', '=', messageId)
      .where('seq', '=', seq)
      .executeTakeFirst();
    if (!r || !part) return;
    await this.applyToPart(part, r.channel_id, {
      state: r.state as ReportState,
      errorCode: r.error_code ?? undefined,
      at: r.reported_at,
    });
  }

  /** A report updates its part; once every part is final, the message gets its final status. */
  private async applyToPart(
    part: MessagePartRow,
    channelId: string,
    o: { state: ReportState; errorCode?: string | undefined; at: number },
  ): Promise<void> {
    if (PART_FINAL.has(part.status)) {
      this.summary.duplicates++;
      return;
    }
    const partStatus = partStatusOf(o.state);
    const changed = await this.trx
      .updateTable('message_parts')
      .set({ status: partStatus, error_code: o.errorCode ?? null, updated_at: o.at })
      .where('message_id', '=', part.message_id)
      .where('seq', '=', part.seq)
      // Checked again in the UPDATE: another transaction may have made the part final since it
      // was read (PostgreSQL re-reads the row after waiting on its lock).
      .where('status', 'not in', [...PART_FINAL])
      .executeTakeFirst();
    if (Number(changed.numUpdatedRows) !== 1) {
      this.summary.duplicates++;
      return;
    }
    if (!PART_FINAL.has(partStatus)) return;
    const parts = await this.trx
      .selectFrom('message_parts')
      .select(['status', 'error_code'])
      .where('message_id', '=', part.message_id)
      .execute();
    if (!parts.every((p) => PART_FINAL.has(p.status))) return;
    const status = finalStatusOf(parts.map((p) => p.status));
    const errorCode =
      status === 'delivered' ? null : (parts.find((p) => p.status !== 'delivered')?.error_code ?? null);
    const msg = await this.trx
      .updateTable('messages')
      .set({ status, error_code: errorCode, final_at: o.at, updated_at: o.at })
      .where('id', '=', part.message_id)
      .where('status', 'in', fromStatuses(status))
      // A message that asked for no report was final when sent.
      .where('final_at', 'is', null)
      .returning(['id', 'owner_id'])
      .executeTakeFirst();
    if (!msg) return;
    this.events.push(event(msg.id, msg.owner_id, status, errorCode, null, channelId, o.at));
    this.summary.finals.push({ id: msg.id, status });
    if (errorCode === 'unknown_subscriber') this.unknownSubscribers.push(msg.id);
  }
}

/** A part's status after a report: a report that is not final leaves the part on its way. */
function partStatusOf(state: ReportState): string {
  return state === 'accepted' || state === 'unknown' ? 'enroute' : state;
}
