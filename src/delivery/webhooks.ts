/**
 * Delivers the webhook outbox: fans new message events out into outbox rows, then POSTs due
 * rows, signed, and records every attempt. Failures (non-2xx, timeout, refused) retry with
 * exponential backoff until 24 h after the event; the outbox is in the database, so a restart
 * resumes where it stopped, and an event keeps its event_id across retries.
 */
import type { Logger } from 'pino';
import { request } from 'undici';
import type { Store } from '../store/index.js';
import type { WebhookOutboxRow } from '../store/schema.js';
import { sign } from './signing.js';

export interface WebhookOptions {
  /** First retry delay; doubles per attempt up to maxRetryMs. 10 s gives a flapping receiver a moment. */
  retryBaseMs: number;
  maxRetryMs: number;
  /** Retry for a day, as the issue asks; then the row is `failed` and visible in the delivery log. */
  giveUpMs: number;
  /** A receiver that has not answered in 10 s is treated as down. */
  timeoutMs: number;
  pollMs: number;
  concurrency: number;
}

export const WEBHOOK_DEFAULTS: WebhookOptions = {
  retryBaseMs: 10_000,
  maxRetryMs: 3_600_000,
  giveUpMs: 24 * 3_600_000,
  timeoutMs: 10_000,
  pollMs: 500,
  concurrency: 16,
};

export class WebhookWorker {
  private running = false;
  private loopDone: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  /** Called after a fan-out round read new events (SMPP receipts may be queued). */
  onFannedOut: () => void = () => undefined;
  private secrets = new Map<string, { secret: string; at: number }>();

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
    private readonly opts: WebhookOptions = WEBHOOK_DEFAULTS,
  ) {}

  start(): void {
    this.running = true;
    this.loopDone = this.loop();
  }

  poke(): void {
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loopDone;
  }

  /** One round: fan out, deliver what is due. Returns how many deliveries were attempted. */
  async runOnce(): Promise<number> {
    const now = Date.now();
    // Catch up in pages; a page shorter than the limit means we are at the head of the log.
    let read = 0;
    for (let page = 0; page < 20; page++) {
      const n = await this.store.webhooks.fanOut(now, 500, this.opts.giveUpMs);
      read += n;
      if (n < 500) break;
    }
    if (read > 0) this.onFannedOut();
    const due = await this.store.webhooks.claimDue(now, now + this.opts.timeoutMs * 2, this.opts.concurrency);
    await Promise.all(due.map((row) => this.deliver(row)));
    return due.length;
  }

  private async loop(): Promise<void> {
    while (this.running) {
      let attempted = 0;
      try {
        attempted = await this.runOnce();
      } catch (err) {
        this.log.error({ err }, 'webhook round failed');
      }
      if (attempted === 0 && this.running) {
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
      const ts = Math.floor(Date.now() / 1000);
      const res = await request(row.url, {
        method: 'POST',
        body: row.payload,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'smsgw-webhooks/1',
          'x-smsgw-event-id': row.event_id,
          'x-smsgw-timestamp': String(ts),
          'x-smsgw-signature': sign(await this.secretFor(row.owner_id), ts, row.payload),
        },
        headersTimeout: this.opts.timeoutMs,
        bodyTimeout: this.opts.timeoutMs,
      });
      statusCode = res.statusCode;
      await res.body.dump();
      if (statusCode < 200 || statusCode >= 300) error = `receiver answered ${statusCode}`;
    } catch (err) {
      error = (err as Error).message;
    }
    const at = Date.now();
    const retryAt = at + Math.min(this.opts.maxRetryMs, this.opts.retryBaseMs * 2 ** row.attempts);
    const outcome = await this.store.webhooks.recordAttempt(
      row,
      { statusCode, error, durationMs: performance.now() - started, at },
      retryAt,
    );
    if (outcome === 'failed')
      this.log.warn({ url: row.url, event: row.event_id }, 'webhook given up after retries');
  }
}
