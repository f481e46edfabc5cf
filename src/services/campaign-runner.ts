/**
 * Runs campaigns: claims due ones (store/campaigns.ts, leased and fenced), turns recipients into
 * messages through the normal accept path (MessageService.prepare + commitPrepared: the sending
 * policy applies) at most `rate` per second, holds recipients outside their send window until it
 * opens, and fires the occurrences of recurring campaigns. Any node may run any campaign; a
 * killed node's campaign is claimed again when its lease runs out and resumes where its last
 * commit left off.
 */
import { IdleBackoff } from '../core/backoff.js';
import { Cron } from 'croner';
import type { Logger } from 'pino';
import { nextInWindow, renderText, variablesOf } from '../core/campaign.js';
import { ApiError } from '../core/errors.js';
import { zoneForNumber } from '../core/number-zone.js';
import type { CampaignRow, DueRecipient } from '../store/campaigns.js';
import { LeaseLost } from '../store/campaigns.js';
import { newId } from '../store/ids.js';
import { yieldLoop } from '../store/slices.js';
import type { Store } from '../store/index.js';
import type { NewMessage } from '../store/schema.js';
import type { Principal } from './auth.js';
import type { MessageService } from './messages.js';

export interface RunnerOptions {
  /** A campaign whose node stops renewing is claimed by another after this. */
  leaseMs: number;
  /** Campaigns one node runs at once. */
  maxCampaigns: number;
  /** How often to look for due campaigns when nothing pokes the runner. */
  pollMs: number;
  /** Recipients committed per transaction at most. */
  maxBatch: number;
}

export const RUNNER_DEFAULTS: RunnerOptions = {
  leaseMs: 15_000,
  maxCampaigns: 4,
  pollMs: 1_000,
  maxBatch: 2_000,
};

/**
 * Idle (nothing claimed, nothing running), the look for due campaigns backs off from `pollMs`,
 * doubling, up to this: a campaign created or resumed through this node pokes its runner at
 * once (and that node claims it), so the back-off delays only a start time coming due or another
 * node's expired lease, by up to this. The 1 s poll was 3.5 of an idle gateway's 19 busy ms per
 * second (--cpu-prof, 12 s idle).
 */
const IDLE_POLL_MAX_MS = 4_000;

/** Shortest pause between two batches: at 200 msg/s, batches of 10 every 50 ms. */
const MIN_STEP_MS = 50;

/** The next occurrence of a cron schedule after `after`, or null when there is none. */
export function nextOccurrence(cron: string, tz: string, after: number): number | null {
  return new Cron(cron, { timezone: tz, paused: true }).nextRun(new Date(after))?.getTime() ?? null;
}

export class CampaignRunner {
  private readonly active = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;
  private started = false;
  private ticking: Promise<void> | undefined;
  private readonly token = newId();
  /** The poll period now: `pollMs`, doubling while idle up to IDLE_POLL_MAX_MS. */
  private readonly poll: IdleBackoff;

  constructor(
    private readonly store: Store,
    private readonly messages: MessageService,
    private readonly logger: Logger,
    private readonly opts: RunnerOptions = RUNNER_DEFAULTS,
    /** The time campaigns are scheduled by (a fake clock in tests). Leases use the database's. */
    private readonly clock: () => number = Date.now,
  ) {
    this.poll = new IdleBackoff(opts.pollMs, IDLE_POLL_MAX_MS);
  }

  start(): void {
    this.started = true;
    this.stopping = false;
    this.schedule(0);
  }

  /** Something changed (a campaign created or resumed): look now. */
  poke(): void {
    this.poll.reset();
    // Not started (tests driving tick() with a fake clock): no timer of its own.
    if (this.started && !this.stopping) this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    await this.ticking;
    await Promise.allSettled([...this.active.values()]);
  }

  /** Campaigns this node runs now. */
  get running(): number {
    return this.active.size;
  }

  /** One look for due work (tests with a fake clock call it directly). */
  async tick(): Promise<void> {
    const free = this.opts.maxCampaigns - this.active.size;
    if (free <= 0 || this.stopping) return;
    const claim = `${this.token}:${newId()}`;
    const claimed = await this.store.campaigns.claim(claim, this.clock(), this.opts.leaseMs, free);
    this.poll.step(claimed.length > 0 || this.active.size > 0);
    for (const c of claimed) {
      const job = (c.cron ? this.fire(c, claim) : this.run(c, claim))
        .catch((err: unknown) => this.logger.error({ err, campaign: c.id }, 'campaign run failed'))
        .finally(() => {
          this.active.delete(c.id);
          this.poke();
        });
      this.active.set(c.id, job);
    }
  }

  /** Waits until the campaigns running on this node hand their lease back (tests). */
  async idle(): Promise<void> {
    while (this.active.size > 0) await Promise.allSettled([...this.active.values()]);
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.ticking) return this.schedule(MIN_STEP_MS);
      this.ticking = this.tick()
        .catch((err: unknown) => this.logger.error({ err }, 'campaign claim failed'))
        .finally(() => {
          this.ticking = undefined;
          if (!this.stopping) this.schedule(this.poll.ms);
        });
    }, ms);
    this.timer.unref?.();
  }

  /** A recurring campaign's occurrence is due: its child campaign is created (once) and runs like any other. */
  private async fire(parent: CampaignRow, claim: string): Promise<void> {
    const now = this.clock();
    const occurrence = parent.next_run_at ?? now;
    // After downtime the missed occurrences are not all sent: the latest one is, then the next.
    const next = nextOccurrence(parent.cron as string, parent.time_zone, Math.max(now, occurrence));
    const child: CampaignRow = {
      ...parent,
      id: newId(),
      name: `${parent.name} (${new Date(occurrence).toISOString()})`,
      status: 'scheduled',
      cron: null,
      parent_id: parent.id,
      occurrence_at: occurrence,
      next_run_at: now,
      lease_owner: null,
      lease_until: null,
      recipients_total: 0,
      recipients_done: 0,
      created_at: now,
      updated_at: now,
      started_at: null,
      finished_at: null,
    };
    const fired = await this.store.campaigns.fireOccurrence(parent, claim, child, next, now);
    if (fired)
      this.logger.info({ campaign: parent.id, child: child.id, occurrence }, 'recurring campaign fired');
  }

  private async run(c: CampaignRow, claim: string): Promise<void> {
    const started = Date.now();
    let sent = 0;
    let renewedAt = Date.now();
    while (!this.stopping) {
      const elapsed = Date.now() - started;
      // Token bucket over the whole run: one message may go at once, then `rate` per second.
      const allowed = Math.min(this.opts.maxBatch, Math.floor((c.rate * elapsed) / 1000) + 1 - sent);
      if (allowed <= 0) {
        const wait = Math.max(MIN_STEP_MS, ((sent + 1) * 1000) / c.rate - elapsed);
        if (Date.now() - renewedAt > this.opts.leaseMs / 3) {
          if (!(await this.store.campaigns.renew(c.id, claim, this.opts.leaseMs))) return;
          renewedAt = Date.now();
        }
        await sleep(Math.min(wait, this.opts.leaseMs / 3));
        continue;
      }
      // The owner is read again before every batch: one blocked mid-run sends nothing more.
      const user = await this.store.users.byId(c.owner_id);
      if (!user || user.status !== 'active') {
        // Fenced by the claim like every other way out of `running`: a node whose lease was taken
        // over (or a campaign canceled meanwhile) changes nothing.
        if (await this.store.campaigns.release(c.id, claim, 'paused', this.clock()))
          this.logger.info({ campaign: c.id, owner: c.owner_id }, 'campaign paused: its owner is blocked');
        return;
      }
      const principal: Principal = { user, apiKeyId: null };
      const now = this.clock();
      // The contact's details serve the text's variables and the window's time zone only.
      const contacts = variablesOf(c.text).length > 0 || (c.window_start !== null && c.window_end !== null);
      const due = await this.store.campaigns.due(c, now, allowed, contacts);
      if (due.length === 0) {
        const next = await this.store.campaigns.nextPending(c.id);
        if (next === undefined) {
          if (await this.store.campaigns.release(c.id, claim, 'completed', now)) {
            this.logger.info({ campaign: c.id, sent }, 'campaign completed');
          }
        } else {
          await this.store.campaigns.release(c.id, claim, 'scheduled', now, next);
        }
        return;
      }
      const ready = await this.window(c, due, now);
      if (ready.length === 0) continue;
      try {
        await this.commit(c, claim, principal, ready);
      } catch (err) {
        if (err instanceof LeaseLost) return; // paused, canceled or taken over: stop quietly
        throw err;
      }
      sent += ready.length;
      renewedAt = Date.now();
      // better-sqlite3 answers synchronously: a runner below its cap would chain batches in
      // microtasks and starve HTTP (the 1M bench's poll waited 300 s). Let I/O in between.
      await yieldLoop();
    }
  }

  /** Recipients outside the send window (their local time) wait until it opens. */
  private async window(c: CampaignRow, due: DueRecipient[], now: number): Promise<DueRecipient[]> {
    if (c.window_start === null || c.window_end === null) return due;
    const ready: DueRecipient[] = [];
    const wait: { number: string; until: number }[] = [];
    for (const r of due) {
      const tz = r.time_zone ?? zoneForNumber(r.number) ?? c.time_zone;
      const until = nextInWindow(now, tz, c.window_start, c.window_end);
      if (until > now) wait.push({ number: r.number, until });
      else ready.push(r);
    }
    if (wait.length > 0) await this.store.campaigns.defer(c.id, wait);
    return ready;
  }

  /** One batch: messages accepted and recipients marked in one transaction, fenced by the claim. */
  private async commit(
    c: CampaignRow,
    claim: string,
    principal: Principal,
    due: DueRecipient[],
  ): Promise<void> {
    const rows: NewMessage[] = [];
    const marks: { number: string; messageId: string | null; errorCode: string | null }[] = [];
    const personal = variablesOf(c.text).length > 0;
    const items = due.map((r) => ({
      to: r.number,
      text: personal ? renderText(c.text, valuesOf(r)).text : c.text,
    }));
    try {
      // One pass for the batch (it was MessageService.prepare per personalised recipient).
      const built = await this.messages.prepareMany(
        principal,
        { from: c.from ?? undefined, channelId: c.channel_id ?? undefined, clientRef: `campaign:${c.id}` },
        items,
        c.id,
      );
      built.forEach((b, i) => {
        const number = (due[i] as DueRecipient).number;
        if ('row' in b) {
          rows.push(b.row);
          marks.push({ number, messageId: b.row.id, errorCode: null });
        } else marks.push({ number, messageId: null, errorCode: b.error });
      });
    } catch (err) {
      // What the recipients share is refused (the sender, the pinned channel): none gets a message.
      if (!(err instanceof ApiError)) throw err;
      for (const r of due) marks.push({ number: r.number, messageId: null, errorCode: err.code });
    }
    // A campaign from a template carries its category to the policy (consent, quiet hours).
    const template = c.template_id
      ? await this.store.templates.byId('template', c.template_id, c.owner_id)
      : undefined;
    await this.messages.commitPrepared({
      messages: rows,
      policy: template ? { category: template.category ?? undefined } : undefined,
      within: async (trx) => {
        await this.store.campaigns.fence(trx, c.id, claim, this.opts.leaseMs, marks.length, this.clock());
        await this.store.campaigns.markRecipients(trx, c.id, marks);
      },
    });
  }
}

function valuesOf(r: DueRecipient): Record<string, string> {
  const out: Record<string, string> = { number: r.number };
  if (r.fields) Object.assign(out, JSON.parse(r.fields) as Record<string, string>);
  if (r.name) out.name = r.name;
  if (r.language) out.language = r.language;
  if (r.vars) Object.assign(out, JSON.parse(r.vars) as Record<string, string>);
  return out;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
