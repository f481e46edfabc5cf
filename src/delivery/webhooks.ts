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
import type { Logger } from 'pino';
import { Agent, request } from 'undici';
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

export class WebhookWorker {
  private running = false;
  private loopDone: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  /** Called after a fan-out round read new events (SMPP receipts may be queued). */
  onFannedOut: () => void = () => undefined;
  private secrets = new Map<string, { secret: string; at: number }>();
  /** Deliveries in flight per account, and all of them. */
  private readonly inFlight = new Map<string, number>();
  private readonly running_ = new Set<Promise<void>>();
  private readonly agent: Agent | undefined;
  private stopped: Promise<void> | undefined;
  /** Attempts of deliveries that ended together are recorded in one transaction. */
  private readonly attempts: WriteBatcher<
    { row: WebhookOutboxRow; result: AttemptResult; retryAt: number },
    AttemptOutcome
  >;
  /**
   * What the last claim that found nothing more proved: no due row of an account outside `full`
   * (the accounts at their limit then). It holds until new events are fanned out, work is poked
   * in, a delivery of another account ends (its next event may be due now) or a poll period
   * passes (retries come due, other nodes fan out); while every account in `full` is still at its
   * limit, a claim is skipped. Before, each ended delivery of a busy account led to a second claim
   * that scanned all of that account's pending rows for nothing: 5,000 messages with receipts and
   * status webhooks (`HOT_N=5000 HOT_MODE=receipts npm run bench:hot` with HOT_PROF) spent 38 of
   * 182 busy seconds in that query.
   */
  private exhausted: { full: string[]; at: number } | undefined;
  /** Counts what can make rows due (ended deliveries, fan-outs, pokes): a claim that ran while
   * one happened proves nothing (it may have read before the change committed). */
  private changes = 0;

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
    private readonly opts: WebhookOptions = WEBHOOK_DEFAULTS,
    private readonly guard?: UrlGuard,
  ) {
    this.agent = guard ? new Agent({ connect: { lookup: guard.lookup } }) : undefined;
    this.attempts = new WriteBatcher((items) => this.store.webhooks.recordAttempts(items), 500);
  }

  start(): void {
    this.running = true;
    this.loopDone = this.loop();
  }

  poke(): void {
    this.changes++;
    this.exhausted = undefined;
    this.wake?.();
  }

  /** Stops taking work, waits for deliveries in flight; can be called twice. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.running = false;
      this.wake?.();
      await this.loopDone;
      await Promise.all(this.running_);
      await this.attempts.idle();
      await this.agent?.close();
    })();
    return this.stopped;
  }

  /** Deliveries in flight now (all accounts). */
  get active(): number {
    return this.running_.size;
  }

  /**
   * One step: fan out, then start as many due deliveries as there are free slots (fairly across
   * accounts). Returns how many were started; they finish in the background.
   */
  async runOnce(): Promise<number> {
    const now = Date.now();
    // Catch up in pages; a page shorter than the limit means we are at the head of the log.
    let read = 0;
    for (let page = 0; page < 20; page++) {
      const n = await this.store.webhooks.fanOut(now, 500, this.opts.giveUpMs);
      read += n;
      if (n < 500) break;
    }
    if (read > 0) {
      this.changes++;
      this.exhausted = undefined;
      this.onFannedOut();
    }
    const free = this.opts.concurrency - this.running_.size;
    if (free <= 0) return 0;
    const full = (): string[] =>
      [...this.inFlight].filter(([, n]) => n >= this.opts.perAccount).map(([o]) => o);
    if (this.exhausted && now - this.exhausted.at >= this.opts.pollMs) this.exhausted = undefined;
    const atLimit = full();
    if (this.exhausted?.full.every((o) => atLimit.includes(o))) return 0;
    // The lease outlives the longest delivery (cut at 3× the timeout below), so this node, which
    // keeps claiming while deliveries run, and other nodes never claim a row still in flight.
    const fair = { perOwner: this.opts.perAccount, inFlight: this.inFlight, complete: false };
    const changes = this.changes;
    const due = await this.store.webhooks.claimDue(now, now + this.opts.timeoutMs * 4, free, fair);
    for (const row of due) this.launch(row);
    // Every due row of the accounts below their limit was seen and, up to the limit, taken:
    // until something changes, a claim with these accounts at their limit would find nothing.
    if (fair.complete && due.length < free && changes === this.changes)
      this.exhausted = { full: full(), at: now };
    return due.length;
  }

  private launch(row: WebhookOutboxRow): void {
    this.inFlight.set(row.owner_id, (this.inFlight.get(row.owner_id) ?? 0) + 1);
    const p: Promise<void> = this.deliver(row)
      .catch((err: unknown) => this.log.error({ err, event: row.event_id }, 'webhook delivery failed'))
      .finally(() => {
        this.running_.delete(p);
        const left = (this.inFlight.get(row.owner_id) ?? 1) - 1;
        if (left <= 0) this.inFlight.delete(row.owner_id);
        else this.inFlight.set(row.owner_id, left);
        // The next delivery of its message may be due now: a claim must look for it.
        this.changes++;
        if (!this.exhausted?.full.includes(row.owner_id)) this.exhausted = undefined;
        this.wake?.();
      });
    this.running_.add(p);
  }

  private async loop(): Promise<void> {
    while (this.running) {
      let started = 0;
      const changes = this.changes;
      try {
        started = await this.runOnce();
      } catch (err) {
        this.log.error({ err }, 'webhook round failed');
      }
      // A delivery that ended during the round (its wake-up came while none was set) may have
      // made the next event of its message due: look again at once instead of sleeping.
      if (started === 0 && this.running && changes === this.changes) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(done, this.opts.pollMs);
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

  private async deliver(row: WebhookOutboxRow): Promise<void> {
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
      const res = await request(row.url, {
        ...(this.agent ? { dispatcher: this.agent } : {}),
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
        headersTimeout: this.opts.timeoutMs,
        bodyTimeout: this.opts.timeoutMs,
        // Connect, headers and body each have a timeout; this bounds them together.
        signal: AbortSignal.timeout(this.opts.timeoutMs * 3),
      });
      statusCode = res.statusCode;
      if (dlr?.ack !== undefined && statusCode >= 200 && statusCode < 300) {
        // Read at most a few KiB: the acknowledgement is a short word.
        const answer = await readPrefix(res.body, 4096);
        if (answer.trim() !== dlr.ack) {
          error = `receiver answered ${statusCode} without ${dlr.ack}`;
          // A failed attempt (retried), as Jasmin retries an unacknowledged DLR.
        }
      } else await res.body.dump();
      if (error === null && (statusCode < 200 || statusCode >= 300))
        error = `receiver answered ${statusCode}`;
    } catch (err) {
      error = errorText(err);
    }
    const at = Date.now();
    const retryAt = at + Math.min(this.opts.maxRetryMs, this.opts.retryBaseMs * 2 ** row.attempts);
    const outcome = await this.attempts.submit({
      row,
      result: { statusCode, error, durationMs: performance.now() - started, at },
      retryAt,
    });
    if (outcome === 'failed')
      this.log.warn({ url: redactUrl(row.url), event: row.event_id }, 'webhook given up after retries');
  }
}

/** A `dlr` row's request: an empty payload is a Kannel GET; else core/jasmin-dlr's DlrRequest. */
function dlrRequest(payload: string): DlrRequest {
  if (payload === '') return { method: 'GET' };
  return JSON.parse(payload) as DlrRequest;
}

async function readPrefix(body: AsyncIterable<Buffer> & { dump(): Promise<void> }, max: number) {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= max) break;
  }
  await body.dump().catch(() => undefined);
  return Buffer.concat(chunks).subarray(0, max).toString('utf8');
}

/** The reason to record for a failed delivery; undici wraps a refused lookup in its cause. */
function errorText(err: unknown): string {
  const e = err as Error & { cause?: Error & { code?: string }; code?: string };
  if (e.cause?.code === 'EUNSAFEADDR') return e.cause.message;
  if (e instanceof Error && 'code' in e && e.code === 'unsafe_url') return `refused: ${e.message}`;
  return e.message;
}
