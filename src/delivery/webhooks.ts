/**
 * Delivers the webhook outbox: fans new message events out into outbox rows, then POSTs due
 * rows, signed (Kannel dlr-url callbacks: a GET of the filled URL), and records every attempt. Failures (non-2xx, timeout, refused) retry with
 * exponential backoff until 24 h after the event; the outbox is in the database, so a restart
 * resumes where it stopped, and an event keeps its event_id across retries.
 *
 * Slots are a pool, not rounds: a delivery frees its slot when it ends, and one account holds at
 * most `perAccount` of the `concurrency` slots. Before, a round of 16 waited for its slowest
 * delivery, so one tenant's dead receiver (10 s timeout) stalled every tenant's webhooks.
 *
 * Every connection goes through the URL guard (url-guard.ts): IP literals are checked before the
 * request, names when the socket resolves them, so the address connected to is the one checked.
 */
import { IdleBackoff } from '../core/backoff.js';
import type { Logger } from 'pino';
import { HttpExchanges } from './http-exchange.js';
import type { Exchange } from './http-exchange.js';
import { redactUrl } from '../core/redact.js';
import { WriteBatcher } from '../store/batcher.js';
import type { Store } from '../store/index.js';
import type { AttemptOutcome, AttemptResult } from '../store/webhooks.js';
import type { DlrRequest } from '../core/jasmin-dlr.js';
import type { WebhookOutboxRow } from '../store/schema.js';
import { sign } from './signing.js';
import type { UrlGuard } from './url-guard.js';

export interface WebhookOptions {
  /** First retry delay; doubles per attempt up to maxRetryMs. 10 s gives a flapping receiver a moment. */
  retryBaseMs: number;
  maxRetryMs: number;
  /** Retry for a day, as the issue asks; then the row is `failed` and visible in the delivery log. */
  giveUpMs: number;
  /** A receiver that has not answered in 10 s is treated as down. */
  timeoutMs: number;
  pollMs: number;
  /** Deliveries in flight at once, and at most perAccount of them for one account. */
  concurrency: number;
  perAccount: number;
}

export const WEBHOOK_DEFAULTS: WebhookOptions = {
  retryBaseMs: 10_000,
  maxRetryMs: 3_600_000,
  giveUpMs: 24 * 3_600_000,
  timeoutMs: 10_000,
  pollMs: 500,
  concurrency: 16,
  perAccount: 4,
};

/**
 * How often, at most, new events are fanned out while deliveries run (a poke does not wait).
 * Each fan-out that finds events is a write transaction with its own fsync: run at every ended
 * delivery, as before, 5,000 messages with receipts and status webhooks (`HOT_PROF=… HOT_N=5000
 * HOT_MODE=receipts npm run bench:hot`) spent most of their 41 s in COMMIT there.
 */
const FAN_OUT_EVERY_MS = 20;

/**
 * Idle slots an account at its share waits for before a claim borrows them: one claim (a lease
 * transaction and its query) per four deliveries instead of one per delivery. With 2, a
 * 3,000-message receipts run (`HOT_N=3000 HOT_MODE=receipts npm run bench:hot`) made 2,861
 * borrowing claims for 5,732 rows.
 */
const BORROW_BATCH = 4;
/**
 * Idle, the poll (a fan-out and a claim, two lease transactions) backs off from `pollMs`,
 * doubling each round that found nothing, up to this: idle, it was four transactions a second and
 * the largest share of an idle gateway's CPU (87 of 233 busy ms in 12 s under --cpu-prof). New
 * events and new rows poke the worker, so the back-off delays only what nobody announces: a retry
 * coming due, rows another node fanned out.
 */
const IDLE_POLL_MAX_MS = 4_000;

/** An exchange slower than this (or failed) stops its account borrowing idle slots. */
const BORROW_MAX_MS = 1_000;

export class WebhookWorker {
  private running = false;
  private loopDone: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  /** Called after a fan-out round read new events (SMPP receipts may be queued). */
  onFannedOut: () => void = () => undefined;
  private secrets = new Map<string, { secret: string; at: number }>();
  /** HTTP exchanges in flight per account, and all of them (the slots). */
  private readonly inFlight = new Map<string, number>();
  private readonly running_ = new Set<Promise<void>>();
  /** Ended exchanges whose attempt is being recorded (the row stays leased until then). */
  private readonly recording = new Set<Promise<void>>();
  /** Keep-alive connections to the receivers, through the URL guard's lookup (http-exchange.ts). */
  private readonly http: HttpExchanges;
  private stopped: Promise<void> | undefined;
  /** Attempts of deliveries that ended together are recorded in one transaction. */
  private readonly attempts: WriteBatcher<
    { row: WebhookOutboxRow; result: AttemptResult; retryAt: number },
    AttemptOutcome
  >;
  /**
   * Why a claim may find something the last one did not; a claim runs only for a reason.
   * `dirty` (work poked in, a poll period passed): any account. An account in `dirtyOwners`
   * (events of its were fanned out, or an attempt of its was recorded so the next event of
   * that message may be due) or in `blocked` (the last claim saw due rows of it and left them
   * for its limit): when it can take a row now, below its share or with `BORROW_BATCH` idle
   * slots to borrow. Before, each ended delivery of a busy account led to a claim that scanned
   * all of that account's pending rows for nothing: 5,000 messages with receipts and status
   * webhooks spent 38 of 182 busy seconds in that query.
   */
  private dirty = true;
  private readonly dirtyOwners = new Set<string>();
  private blocked = new Set<string>();
  /** Last claim that left no account out (`dirty`): hidden rows are looked for once a poll period. */
  private lastFullClaim = 0;
  private lastFanOut = 0;
  private fanOutWanted = true;
  /** The poll period now: `pollMs` while there is work, doubling up to IDLE_POLL_MAX_MS idle. */
  private readonly poll: IdleBackoff;

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
    private readonly opts: WebhookOptions = WEBHOOK_DEFAULTS,
    private readonly guard?: UrlGuard,
  ) {
    this.attempts = new WriteBatcher((items) => this.store.webhooks.recordAttempts(items), 500);
    this.poll = new IdleBackoff(opts.pollMs, IDLE_POLL_MAX_MS);
    this.http = new HttpExchanges(guard?.lookup);
  }

  start(): void {
    this.running = true;
    this.loopDone = this.loop();
  }

  poke(): void {
    this.dirty = true;
    this.fanOutWanted = true;
    this.poll.reset();
    this.wake?.();
  }

  /** New message events were committed: fan them out now (the fan-out says whose they are). */
  eventsAdded(): void {
    this.fanOutWanted = true;
    this.poll.reset();
    this.wake?.();
  }

  /** Stops taking work, waits for deliveries in flight; can be called twice. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.running = false;
      this.wake?.();
      await this.loopDone;
      await Promise.all(this.running_);
      await Promise.all(this.recording);
      await this.attempts.idle();
      this.http.close();
    })();
    return this.stopped;
  }

  /** Deliveries in flight now (all accounts). */
  get active(): number {
    return this.running_.size;
  }

  /**
   * Slots an account at its share may borrow: every free slot but `perAccount`, which stay free
   * for an account with nothing in flight, so a newcomer is served at once even while a busy
   * (or dead) receiver holds the rest. Fairness only binds under contention.
   */
  private borrowable(free: number): number {
    return Math.max(0, free - this.opts.perAccount);
  }

  /**
   * Accounts whose receiver answered its last exchange with a 2xx within BORROW_MAX_MS: only they
   * borrow. A borrowed slot is given back when its exchange ends, so a fast receiver holds idle
   * slots for milliseconds; a dead or slow one would hold them for the whole timeout and shut out
   * the accounts that come meanwhile (all slots but `perAccount` for 10 s), so it keeps its share.
   */
  private readonly fast = new Set<string>();

  /**
   * What a claim now could take that the last one could not (see `dirty`): undefined, nothing;
   * 'fair', rows of accounts below their share (accounts at it are left out in SQL); 'borrow',
   * rows of accounts at their share, in idle slots (nobody is left out: the oldest come first).
   */
  private claimKind(now: number, free: number): 'fair' | 'borrow' | undefined {
    if (free <= 0) return undefined;
    if (this.dirty || now - this.lastFullClaim >= this.poll.ms) return 'fair';
    const below = (o: string) => (this.inFlight.get(o) ?? 0) < this.opts.perAccount;
    let atShare = false;
    for (const set of [this.dirtyOwners, this.blocked])
      for (const o of set) {
        if (below(o)) return 'fair';
        if (this.fast.has(o)) atShare = true; // only they may borrow
      }
    const borrow = this.borrowable(free) >= Math.min(BORROW_BATCH, this.opts.perAccount);
    return atShare && borrow ? 'borrow' : undefined;
  }

  /**
   * One step: fan out, then start as many due deliveries as there are free slots (fairly across
   * accounts). Returns how many were started; they finish in the background.
   */
  async runOnce(): Promise<number> {
    const now = Date.now();
    const sinceFanOut = now - this.lastFanOut;
    let read = 0;
    if (
      this.fanOutWanted ||
      sinceFanOut >= this.poll.ms ||
      (sinceFanOut >= FAN_OUT_EVERY_MS && this.running_.size + this.recording.size > 0)
    ) {
      this.fanOutWanted = false;
      this.lastFanOut = now;
      // Catch up in pages; a page shorter than the limit means we are at the head of the log.
      for (let page = 0; page < 20; page++) {
        const n = await this.store.webhooks.fanOut(now, 500, this.opts.giveUpMs, this.dirtyOwners);
        read += n;
        if (n < 500) break;
        if (page === 19) this.fanOutWanted = true;
      }
      if (read > 0) this.onFannedOut();
    }
    const free = this.opts.concurrency - this.running_.size;
    const kind = this.claimKind(now, free);
    if (!kind) {
      this.idleStep(read);
      return 0;
    }
    const anyAtShare = [...this.inFlight.values()].some((n) => n >= this.opts.perAccount);
    // The lease outlives the longest delivery (cut at 3× the timeout below), so this node, which
    // keeps claiming while deliveries run, and other nodes never claim a row still in flight.
    const fair: Parameters<Store['webhooks']['claimDue']>[3] & object = {
      perOwner: this.opts.perAccount,
      inFlight: this.inFlight,
      // A fair claim leaves the accounts at their share out, unless there are none: then it
      // may as well fill idle slots.
      borrow: kind === 'borrow' || !anyAtShare ? this.borrowable(free) : 0,
      mayBorrow: (owner) => this.fast.has(owner),
    };
    this.dirty = false;
    this.dirtyOwners.clear();
    if (kind === 'fair') this.lastFullClaim = now;
    let due: WebhookOutboxRow[];
    try {
      due = await this.store.webhooks.claimDue(now, now + this.opts.timeoutMs * 4, free, fair);
    } catch (err) {
      this.dirty = true;
      throw err;
    }
    // Rows a look-ahead cut short hid are looked for by the next fair claim, within a poll period.
    this.blocked = fair.blocked ?? new Set();
    for (const row of due) this.launch(row);
    this.idleStep(read + due.length);
    return due.length;
  }

  /** A round found `found` events and rows: none and nothing in flight, the poll backs off. */
  private idleStep(found: number): void {
    const busy = found > 0 || this.running_.size + this.recording.size > 0 || this.blocked.size > 0;
    this.poll.step(busy);
  }

  private launch(row: WebhookOutboxRow): void {
    this.inFlight.set(row.owner_id, (this.inFlight.get(row.owner_id) ?? 0) + 1);
    const p: Promise<void> = this.exchange(row).then(
      (result) => {
        this.release(row, p);
        this.record(row, result);
      },
      (err: unknown) => {
        // Not expected (exchange turns failures into results); the lease runs out and it is retried.
        this.release(row, p);
        this.log.error({ err, event: row.event_id }, 'webhook delivery failed');
      },
    );
    this.running_.add(p);
  }

  /** The HTTP exchange ended: its slot is free (the row stays leased until its attempt is recorded). */
  private release(row: WebhookOutboxRow, p: Promise<void>): void {
    this.running_.delete(p);
    const left = (this.inFlight.get(row.owner_id) ?? 1) - 1;
    if (left <= 0) this.inFlight.delete(row.owner_id);
    else this.inFlight.set(row.owner_id, left);
    this.wake?.();
  }

  private async loop(): Promise<void> {
    while (this.running) {
      let started = 0;
      let failed = false;
      try {
        started = await this.runOnce();
      } catch (err) {
        failed = true;
        this.log.error({ err }, 'webhook round failed');
      }
      if (started === 0 && this.running) {
        const free = this.opts.concurrency - this.running_.size;
        // Something became claimable during the round (its wake-up came while none was set):
        // look again at once instead of sleeping. Not after a failed round: a database that is
        // down would be asked again in a tight loop; the next try waits a poll period.
        if (!failed && this.claimKind(Date.now(), free)) continue;
        // While deliveries run, new events are fanned out every FAN_OUT_EVERY_MS.
        const busy = this.running_.size + this.recording.size > 0;
        await new Promise<void>((resolve) => {
          const t = setTimeout(done, busy ? FAN_OUT_EVERY_MS : this.poll.ms);
          function done() {
            clearTimeout(t);
            resolve();
          }
          this.wake = done;
        });
      }
    }
  }

  /** Settings changed (on any node): signing secrets are read again. */
  forgetSecrets(): void {
    this.secrets.clear();
  }

  private async secretFor(ownerId: string): Promise<string> {
    const cached = this.secrets.get(ownerId);
    // Secrets can be rotated; a minute-old copy is fresh enough and saves a query per delivery.
    if (cached && Date.now() - cached.at < 60_000) return cached.secret;
    const { webhook_secret } = await this.store.webhooks.settings(ownerId);
    this.secrets.set(ownerId, { secret: webhook_secret, at: Date.now() });
    return webhook_secret;
  }

  /** One HTTP attempt; never rejects (a failure is its result). */
  private async exchange(row: WebhookOutboxRow): Promise<AttemptResult> {
    const started = performance.now();
    let statusCode: number | null = null;
    let error: string | null = null;
    try {
      // Stored before the guard existed, or set while the operator allowed it: checked again now.
      this.guard?.checkLiteral(row.url);
      const ts = Math.floor(Date.now() / 1000);
      // A Kannel dlr-url callback is a GET whose URL carries everything (as Kannel calls it);
      // a Jasmin one is a GET or a form POST, acknowledged by a fixed answer (dlrRequest).
      const dlr = row.kind === 'dlr' ? dlrRequest(row.payload) : undefined;
      const res: Exchange = await this.http.request(row.url, {
        method: dlr ? dlr.method : 'POST',
        ...(dlr ? (dlr.form !== undefined ? { body: dlr.form } : {}) : { body: row.payload }),
        headers: dlr
          ? {
              'user-agent': 'smsgw-dlr/1',
              'x-smsgw-event-id': row.event_id,
              ...(dlr.form !== undefined
                ? { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/plain' }
                : {}),
            }
          : {
              'content-type': 'application/json',
              'user-agent': 'smsgw-webhooks/1',
              'x-smsgw-event-id': row.event_id,
              'x-smsgw-timestamp': String(ts),
              'x-smsgw-signature': sign(await this.secretFor(row.owner_id), ts, row.payload),
            },
        // Connect, headers and body each wait at most this; all together three times it.
        timeoutMs: this.opts.timeoutMs,
      });
      statusCode = res.statusCode;
      if (dlr?.ack !== undefined && statusCode >= 200 && statusCode < 300) {
        // Read at most a few KiB: the acknowledgement is a short word.
        const answer = await res.text(4096);
        if (answer.trim() !== dlr.ack) {
          error = `receiver answered ${statusCode} without ${dlr.ack}`;
          // A failed attempt (retried), as Jasmin retries an unacknowledged DLR.
        }
      } else await res.dump();
      if (error === null && (statusCode < 200 || statusCode >= 300))
        error = `receiver answered ${statusCode}`;
    } catch (err) {
      error = errorText(err);
    }
    return { statusCode, error, durationMs: performance.now() - started, at: Date.now() };
  }

  /**
   * Frees the slot, then records the attempt (group-committed with the others that ended
   * meanwhile). The next event of the message becomes due only once this is committed.
   */
  private record(row: WebhookOutboxRow, result: AttemptResult): void {
    const ok = result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300;
    if (ok && result.durationMs < BORROW_MAX_MS) this.fast.add(row.owner_id);
    else this.fast.delete(row.owner_id);
    const retryAt = result.at + Math.min(this.opts.maxRetryMs, this.opts.retryBaseMs * 2 ** row.attempts);
    const p = this.attempts.submit({ row, result, retryAt }).then(
      (outcome) => {
        if (outcome === 'failed')
          this.log.warn({ url: redactUrl(row.url), event: row.event_id }, 'webhook given up after retries');
      },
      (err: unknown) => this.log.error({ err, event: row.event_id }, 'webhook attempt not recorded'),
    );
    const done = p.finally(() => {
      this.recording.delete(done);
      this.dirtyOwners.add(row.owner_id);
      this.wake?.();
    });
    this.recording.add(done);
  }
}

/** A `dlr` row's request: an empty payload is a Kannel GET; else core/jasmin-dlr's DlrRequest. */
function dlrRequest(payload: string): DlrRequest {
  if (payload === '') return { method: 'GET' };
  return JSON.parse(payload) as DlrRequest;
}

/** The reason to record for a failed delivery (a refused lookup says which address and why). */
function errorText(err: unknown): string {
  const e = err as Error & { cause?: Error & { code?: string }; code?: string };
  if (e.code === 'EUNSAFEADDR') return e.message;
  if (e.cause?.code === 'EUNSAFEADDR') return e.cause.message;
  if (e instanceof Error && 'code' in e && e.code === 'unsafe_url') return `refused: ${e.message}`;
  return e.message;
}
