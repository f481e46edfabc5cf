/**
 * The send loop: claim due messages under a lease, route each to a channel, submit, record the
 * outcome. Retries: `tries_per_attempt` immediate tries on the same channel (the seed's
 * `attempts`), then exponential backoff and, where one exists, another channel, up to
 * `max_attempts`. Nothing is lost on a crash: a claimed message whose node dies comes back to
 * the queue when its lease runs out. Leases are renewed while submits run, and every outcome is
 * fenced by the claim token it was submitted under (see store/outcomes.ts).
 */
import { IdleBackoff } from '../core/backoff.js';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { DeliveryReport, OutboundSms, SubmitResult } from '../channels/port.js';
import { SubmitError } from '../channels/port.js';
import { encodingOn } from '../codec/index.js';
import type { Config } from '../config.js';
import type { ChannelSnapshot } from '../core/routing.js';
import { backoffMs, route, unitsFor } from '../core/routing.js';
import { WriteBatcher } from '../store/batcher.js';
import type { Store } from '../store/index.js';
import { monthOf } from '../store/ids.js';
import type { ClaimScope } from '../store/claim-scope.js';
import type { AcceptClaimer } from '../store/messages.js';
import type { Outcome, OutcomeSummary } from '../store/outcomes.js';
import type { MessageRow } from '../store/schema.js';
import type { ChannelRegistry, RunningChannel } from './registry.js';

/**
 * Writes of a submit's outcome before giving up: waits of 100 ms doubling, 3.1 s in all, enough
 * for a dropped connection to be replaced; the submit still counts as in flight meanwhile, so
 * its lease keeps being renewed.
 */
const SENT_WRITE_TRIES = 6;

/**
 * Longest wait between two looks (a read, `nextDueIn`) for work nobody told this node about:
 * another node's release or retry, a row another tool wrote, a lost notification. Work this node
 * accepted or was told of (`poke`), and retries and releases it wrote, are claimed without one.
 * Each look that finds nothing due doubles the wait from `pollMs` up to this.
 */
const IDLE_PROBE_MS = 4_000;

/**
 * Waiting delivery reports are swept (matched to parts stored since, or dropped when expired)
 * every 5 s for this long after this node last kept one waiting, else once a minute: the sweep is
 * a transaction, and every 5 s it was the largest share of an idle gateway's CPU once the polls
 * backed off (22.6 of 57.7 busy ms in 12 s under --cpu-prof). A report another node kept is
 * swept by that node; one a dead node left is matched or dropped within the minute.
 */
const PENDING_SWEEP_WINDOW_MS = 10 * 60_000;
const IDLE_SWEEP_MS = 60_000;

export interface DispatchStats {
  sent: Map<string, number>;
  failed: Map<string, number>;
  /** Reports that matched no part when they came (kept pending for a late match), per channel. */
  unmatchedReports: Map<string, number>;
  /** Reports about parts already final (duplicates, recorded and not applied), per channel. */
  duplicateReports: Map<string, number>;
  /** Submit outcomes refused because the lease had passed to another claim. */
  fencedOutcomes: number;
}

export class Dispatcher {
  private running = false;
  private loopDone: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly outcomes: WriteBatcher<Outcome, void>;
  private timers: NodeJS.Timeout[] = [];
  /** Claim tokens of this process: node id, a boot id (a restarted node never reuses one), a counter. */
  private readonly tokenPrefix: string;
  private claims = 0;
  /**
   * Why a claim may find something: `dirty` (work was poked in, or the last claim was full) or
   * `dueAt` (local time the earliest waiting message is due, as the last look or an outcome this
   * node wrote said; +Infinity: none known). Without either the loop claims nothing: a claim is a
   * write transaction, and two of the three per sequentially sent message found nothing.
   */
  private dirty = true;
  private pokes = 0;
  private dueAt = Number.POSITIVE_INFINITY;
  private probeAt = 0;
  private readonly probeEvery: IdleBackoff;
  /** When this node last kept a delivery report waiting for its part, and last swept them. */
  private lastPendingAt = Number.NEGATIVE_INFINITY;
  private lastSweepAt = 0;
  /** The claim scope of the last look: a channel taken here makes its queued messages claimable. */
  private scopeKey: string | undefined;
  /**
   * A claim is under way, the loop's or an accepting transaction's (acceptClaim): one at a time,
   * since each takes as many messages as the slots counted before it had room for.
   */
  private claiming = false;
  /** Submits running per claim token: their leases are renewed until they finish. */
  private readonly submitting = new Map<string, number>();
  readonly stats: DispatchStats = {
    sent: new Map(),
    failed: new Map(),
    unmatchedReports: new Map(),
    duplicateReports: new Map(),
    fencedOutcomes: 0,
  };
  /** Called with every message that reached a final status (webhooks hook in here). */
  onFinal: (id: string, status: string) => void = () => undefined;

  constructor(
    private readonly store: Store,
    private readonly registry: ChannelRegistry,
    private readonly config: Pick<Config, 'nodeId' | 'dispatch'>,
    private readonly log: Logger,
  ) {
    this.tokenPrefix = `${config.nodeId}/${randomBytes(4).toString('hex')}/`;
    this.probeEvery = new IdleBackoff(config.dispatch.pollMs, IDLE_PROBE_MS);
    this.outcomes = new WriteBatcher<Outcome, void>(async (items) => {
      this.learn(items, await store.outcomes.apply(items));
      return items.map(() => undefined);
    });
  }

  private learn(items: Outcome[], summary: OutcomeSummary): void {
    for (const f of summary.finals) this.onFinal(f.id, f.status);
    for (const f of summary.fenced) {
      this.stats.fencedOutcomes++;
      this.log.warn(
        { message: f.id, outcome: f.kind },
        'outcome not applied: the lease passed to another claim (the message was sent again)',
      );
    }
    if (summary.pending.length > 0) this.lastPendingAt = Date.now();
    for (const p of summary.pending) {
      this.count(this.stats.unmatchedReports, p.channelId);
      this.log.info(
        { channel: p.channelId, remoteId: p.remoteId },
        'delivery report matches no part yet; kept for a late match',
      );
    }
    if (summary.duplicates > 0) {
      const channel = items.find((i) => i.kind === 'report')?.channelId ?? 'unknown';
      this.count(this.stats.duplicateReports, channel, summary.duplicates);
    }
  }

  /** Starts the loop. `recoverAll`: this is the only node (SQLite), so every old lease is dead. */
  async start(recoverAll: boolean): Promise<void> {
    const recovered = await this.store.messages.recoverLeases(recoverAll);
    if (recovered > 0)
      this.log.warn({ recovered }, 'returned messages left in flight by a previous run to the queue');
    this.running = true;
    this.loopDone = this.loop();
    const every = (ms: number, fn: () => Promise<unknown>) => {
      const t = setInterval(
        () => void fn().catch((err) => this.log.error({ err }, 'periodic task failed')),
        ms,
      );
      t.unref();
      this.timers.push(t);
    };
    every(Math.max(1000, this.config.dispatch.leaseMs / 4), async () => {
      if ((await this.store.messages.recoverLeases()) > 0) this.poke();
    });
    // Renewed three times per lease: a submit that takes minutes keeps its message.
    every(Math.max(200, this.config.dispatch.leaseMs / 3), () =>
      this.store.messages.renewLeases([...this.submitting.keys()], this.config.dispatch.leaseMs),
    );
    every(5_000, async () => {
      const now = Date.now();
      if (now - this.lastPendingAt > PENDING_SWEEP_WINDOW_MS && now - this.lastSweepAt < IDLE_SWEEP_MS)
        return;
      this.lastSweepAt = now;
      const { dropped } = await this.store.outcomes.sweepPending(Date.now());
      if (dropped > 0)
        this.log.warn({ dropped }, 'delivery reports that never matched a sent part were dropped');
    });
    every(30_000, () => this.store.messages.expireDue());
    every(60_000, () => this.registry.sync());
  }

  /** New work was committed: look now instead of at the next poll. */
  poke(): void {
    this.dirty = true;
    this.pokes++;
    this.wake?.();
  }

  /** A message of this node's outcome waits until `at`: claim it then, without a look first. */
  private expect(at: number): void {
    if (at < this.dueAt) {
      this.dueAt = at;
      this.wake?.();
    }
  }

  /**
   * A driver reported on a part; correlated and applied in order with the send outcomes. The
   * promise resolves when the report is committed (the driver acknowledges it only then).
   */
  report(channelId: string, r: DeliveryReport): Promise<void> {
    return this.outcomes.submit({
      kind: 'report',
      channelId,
      remoteId: r.remoteId,
      altIds: r.altIds,
      idReuseWindowMs: r.idReuseWindowMs,
      state: r.state,
      errorCode: r.errorCode,
      rawError: r.rawError,
      at: r.at.getTime(),
      receivedAt: Date.now(),
    });
  }

  /** Stops claiming, lets in-flight submits finish and their outcomes reach the database. */
  async stop(): Promise<void> {
    this.running = false;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.wake?.();
    await this.loopDone;
    await Promise.allSettled([...this.inFlight]);
    await this.outcomes.idle();
  }

  /** Waits until every outcome so far is written (tests and shutdown). */
  settled(): Promise<void> {
    return this.outcomes.idle();
  }

  private async loop(): Promise<void> {
    const pollMs = this.config.dispatch.pollMs;
    while (this.running) {
      // Slots are counted in memory every poll (a channel that came up is not announced).
      let waitMs = pollMs;
      try {
        const now = Date.now();
        // Only channels whose lease this node holds right now (checked before every claim).
        const snapshot = this.registry.routingSnapshot(now);
        const slots = freeSlots(snapshot, now);
        const scope = this.registry.claimScope(now);
        const scopeKey = scope === undefined ? '' : JSON.stringify(scope);
        if (scopeKey !== this.scopeKey) {
          this.scopeKey = scopeKey;
          this.dirty = true;
        }
        if (this.claiming) {
          // An accepting transaction is claiming: its end wakes the loop.
        } else if (slots > 0) {
          if (!this.dirty && this.dueAt > now && now >= this.probeAt) await this.probe(scope);
          // Checked again after the look: an accept may have started claiming meanwhile, and two
          // claims would each take the slots counted before either.
          if (!this.claiming && (this.dirty || this.dueAt <= Date.now())) {
            const { limit, token } = this.claimTerms(slots);
            const pokes = this.pokes;
            this.claiming = true;
            let claimed: MessageRow[];
            try {
              claimed = await this.store.messages.claim(
                token,
                limit,
                Date.now(),
                this.config.dispatch.leaseMs,
                scope,
              );
            } finally {
              this.claiming = false;
            }
            for (const msg of claimed) this.dispatchOne(msg, token, Date.now());
            const full = claimed.length === limit;
            // A poke during the claim may be for a row committed after it looked.
            this.dirty = full || this.pokes !== pokes;
            if (!full) this.dueAt = Number.POSITIVE_INFINITY;
            if (claimed.length === 0) {
              // Poked for nothing claimable now (scheduled, or another node's): look for the
              // earliest due time soon, at most once a poll so a row the claim cannot take
              // (locked by another node's claim) never makes this a busy loop.
              this.probeEvery.reset();
              this.probeAt = Math.min(this.probeAt, Date.now() + pollMs);
            }
          }
          const at = Date.now();
          waitMs = this.dirty ? 0 : Math.min(pollMs, Math.max(1, Math.min(this.dueAt, this.probeAt) - at));
        } else {
          // Every channel is busy or pacing: come back when the soonest interval ends.
          const soonest = Math.min(
            ...snapshot
              .filter((c) => c.up && c.enabled && c.minIntervalMs > 0)
              .map((c) => c.lastSendAt + c.minIntervalMs),
          );
          if (Number.isFinite(soonest)) waitMs = Math.min(waitMs, Math.max(1, soonest - now));
        }
      } catch (err) {
        this.log.error({ err }, 'dispatch loop error; retrying');
        waitMs = 1000;
      }
      if (waitMs > 0 && this.running) await this.sleep(waitMs);
      else await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /**
   * The accepting transaction's claim (MessageService.claimOnAccept → store acceptBatch): takes
   * what this node can send now, in the transaction that stores the messages, so one commit
   * stores and claims them. A message sent one request at a time cost two fsync'd commits before
   * the dispatcher could submit it, the accept's and the loop's claim's, and the reply to the
   * next request waited behind the claim's. Claims nothing while the loop claims, or with no
   * free slot; the loop takes those messages as before (the accept pokes it).
   */
  readonly acceptClaim: AcceptClaimer = async (trx) => {
    if (!this.running || this.claiming) return undefined;
    const now = Date.now();
    const slots = freeSlots(this.registry.routingSnapshot(now), now);
    if (slots === 0) return undefined;
    const { limit, token } = this.claimTerms(slots);
    this.claiming = true;
    let claimed: MessageRow[];
    try {
      const scope = this.registry.claimScope(now);
      claimed = await this.store.messages.claimIn(
        trx,
        token,
        limit,
        now,
        this.config.dispatch.leaseMs,
        scope,
      );
    } catch (err) {
      this.claiming = false;
      this.log.warn({ err }, 'claim in an accepting transaction failed; the loop claims instead');
      this.wake?.();
      throw err;
    }
    return {
      all: claimed.length < limit,
      committed: () => {
        this.claiming = false;
        const at = Date.now();
        if (!this.running) {
          // Stopped meanwhile: the messages go back to the queue, unsent.
          for (const msg of claimed) {
            void this.record({
              kind: 'release',
              id: msg.id,
              lease: token,
              nextAt: at,
              reason: 'stopping',
              at,
            });
          }
          return;
        }
        for (const msg of claimed) this.dispatchOne(msg, token, at);
        if (claimed.length === limit) this.poke();
        else this.wake?.();
      },
      rolledBack: () => {
        this.claiming = false;
        this.wake?.();
      },
    };
  };

  /** A claim's size for `slots` free places, and its own lease token. */
  private claimTerms(slots: number): { limit: number; token: string } {
    return {
      limit: Math.min(slots, this.config.dispatch.batchSize),
      token: `${this.tokenPrefix}${++this.claims}`,
    };
  }

  /**
   * Reads when the earliest claimable message is due (a read instead of a claim that finds
   * nothing); each look that finds nothing due doubles the time to the next, up to IDLE_PROBE_MS.
   */
  private async probe(scope: ClaimScope | undefined): Promise<void> {
    const inMs = await this.store.messages.nextDueIn(scope);
    const at = Date.now();
    if (inMs !== undefined) this.dueAt = Math.min(this.dueAt, at + inMs);
    this.probeEvery.step(inMs === 0);
    this.probeAt = at + this.probeEvery.ms;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = () => {
        this.wake = undefined;
        done();
      };
    });
  }

  private dispatchOne(msg: MessageRow, lease: string, now: number): void {
    const decision = route(
      {
        ownerId: msg.owner_id,
        to: msg.to,
        segments: msg.segments,
        flash: msg.flash === 1,
        replaceId: msg.replace_id,
        avoidChannelId: msg.avoid_channel_id,
        pinnedChannelId: msg.pinned_channel_id,
      },
      this.registry.routingSnapshot(now),
      now,
    );
    if (decision.kind !== 'channel') {
      const nextAt = decision.kind === 'wait' ? decision.until : now + this.config.dispatch.noChannelDelayMs;
      const reason = decision.kind === 'wait' ? 'channels busy' : decision.reason;
      const errorCode = decision.kind === 'none' ? 'no_channel' : undefined;
      void this.record({ kind: 'release', id: msg.id, lease, nextAt, reason, errorCode, at: now });
      return;
    }
    const ch = this.registry.get(decision.channelId) as RunningChannel;
    // Taken synchronously so the next message in this batch sees the channel as busy.
    ch.inFlight++;
    ch.lastSendAt = now;
    this.submitting.set(lease, (this.submitting.get(lease) ?? 0) + 1);
    const p = this.send(msg, ch, lease)
      .catch((err) => this.log.error({ err, message: msg.id }, 'send failed unexpectedly'))
      .finally(() => {
        ch.inFlight--;
        const left = (this.submitting.get(lease) ?? 1) - 1;
        if (left > 0) this.submitting.set(lease, left);
        else this.submitting.delete(lease);
        this.inFlight.delete(p);
        // A slot is free: claim now if work is known to wait (a wake, not a poke: no new work).
        this.wake?.();
      });
    this.inFlight.add(p);
  }

  private async send(msg: MessageRow, ch: RunningChannel, lease: string): Promise<void> {
    const startedAt = Date.now();
    if (!this.registry.mayUse(ch.row.id, startedAt)) {
      // The channel's lease ran out since the claim: another node may hold it now. Never send.
      await this.record({
        kind: 'release',
        id: msg.id,
        lease,
        nextAt: startedAt,
        reason: 'channel lease lost',
        at: startedAt,
      });
      return;
    }
    // The channel may carry the text in fewer segments than counted at ingest (a shift table).
    const out = encodingOn(msg, ch.driver.capabilities.shiftTables);
    const units = unitsFor({ countMode: ch.row.count_mode }, out.segments);
    const limited = ch.row.monthly_limit !== null;
    const month = monthOf(Date.now());
    if (limited && !(await this.store.channels.reserve(ch.row.id, month, units, ch.row.monthly_limit))) {
      // Another node (or the CLI) used the allowance: learn it and route the message again.
      ch.usedThisMonth = ch.row.monthly_limit ?? ch.usedThisMonth;
      await this.record({
        kind: 'release',
        id: msg.id,
        lease,
        nextAt: Date.now(),
        reason: 'monthly limit reached',
        at: Date.now(),
      });
      return;
    }
    ch.usedThisMonth += units;
    const sms: OutboundSms = {
      id: msg.id,
      to: msg.to,
      from: msg.from ?? undefined,
      text: msg.text,
      encoding: out.encoding,
      shiftTable: out.shiftTable,
      segments: out.segments,
      flash: msg.flash === 1,
      replaceId: msg.replace_id ?? undefined,
      validityMinutes: msg.validity_minutes ?? undefined,
      // Asked of the network only where the message wants one and the channel can deliver it.
      deliveryReport: msg.report_requested === 1 && ch.receipts && ch.driver.capabilities.deliveryReports,
    };
    const tries = Math.max(1, msg.tries_per_attempt);
    let lastError: SubmitError | undefined;
    // Any try handed over without an answer may have left, even if a later try was refused.
    let outcomeUnknown = false;
    for (let t = 0; t < tries; t++) {
      let res: SubmitResult;
      try {
        res = await ch.driver.submit(sms);
      } catch (err) {
        lastError =
          err instanceof SubmitError ? err : new SubmitError('channel_error', (err as Error).message);
        outcomeUnknown ||= lastError.outcomeUnknown;
        this.log.warn(
          { message: msg.id, channel: ch.row.name, code: lastError.code, try: t + 1 },
          lastError.message,
        );
        if (lastError.permanent) break;
        continue;
      }
      this.count(this.stats.sent, ch.row.id);
      // Outside the submit's try: the channel took the message, so a failure to record that is
      // not a failed submit (it was sent a second time). The write is retried; if it never
      // lands, the message stays `sending` until its lease runs out (the in-flight window).
      await this.record({
        kind: 'sent',
        id: msg.id,
        ownerId: msg.owner_id,
        lease,
        channelId: ch.row.id,
        awaitsReport: sms.deliveryReport,
        remoteIds: res.remoteIds,
        countUnits: limited ? 0 : units,
        sentAs: out.shiftTable ? { encoding: out.encoding, segments: out.segments } : undefined,
        startedAt,
        at: Date.now(),
      });
      return;
    }
    this.count(this.stats.failed, ch.row.id);
    ch.usedThisMonth -= units;
    if (limited) await this.store.channels.release(ch.row.id, month, units);
    const err = lastError as SubmitError;
    const attempt = msg.attempts + 1;
    const now = Date.now();
    if (err.permanent || attempt >= msg.max_attempts || now >= msg.expires_at) {
      await this.record({
        kind: 'failed',
        id: msg.id,
        ownerId: msg.owner_id,
        lease,
        channelId: ch.row.id,
        errorCode: err.code,
        error: err.message,
        outcomeUnknown,
        startedAt,
        at: now,
      });
    } else {
      await this.record({
        kind: 'retry',
        id: msg.id,
        ownerId: msg.owner_id,
        lease,
        channelId: ch.row.id,
        nextAt: now + backoffMs(attempt, this.config.dispatch.retryBaseMs, this.config.dispatch.retryMaxMs),
        errorCode: err.code,
        error: err.message,
        outcomeUnknown,
        startedAt,
        at: now,
      });
    }
  }

  /**
   * Writes a submit's outcome, or the release of a message that was never handed over, again on
   * a failure (fenced by its lease, so a repeat is harmless). Not written at all, the message
   * would wait for its lease to run out and then count as an unknown outcome (charged, sent
   * again) even after a definite refusal or without having left at all.
   */
  private async record(
    o: Extract<Outcome, { kind: 'sent' | 'retry' | 'failed' | 'release' }>,
  ): Promise<void> {
    for (let i = 0; ; i++) {
      try {
        await this.outcomes.submit(o);
        if (o.kind === 'retry' || o.kind === 'release') this.expect(o.nextAt);
        return;
      } catch (err) {
        if (i >= SENT_WRITE_TRIES - 1) {
          this.log.error({ err, message: o.id, outcome: o.kind }, 'a submit outcome could not be recorded');
          return;
        }
        this.log.warn(
          { err, message: o.id, outcome: o.kind },
          'recording a submit outcome failed; trying again',
        );
        await new Promise((r) => setTimeout(r, 100 * 2 ** i));
      }
    }
  }

  private count(m: Map<string, number>, channelId: string, n = 1): void {
    m.set(channelId, (m.get(channelId) ?? 0) + n);
  }
}

/** Messages the channels can take now: free in-flight places, one for a paced channel whose interval ended. */
function freeSlots(snapshot: readonly ChannelSnapshot[], now: number): number {
  let n = 0;
  for (const c of snapshot) {
    if (!c.up || !c.enabled) continue;
    if (c.minIntervalMs > 0) n += c.inFlight === 0 && c.lastSendAt + c.minIntervalMs <= now ? 1 : 0;
    else n += Math.max(0, c.maxInFlight - c.inFlight);
  }
  return n;
}
