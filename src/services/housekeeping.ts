/**
 * Housekeeping: deletes what its retention allows, off the hot path. Each kind is deleted in
 * batches of 500 rows, one short transaction each, yielding to the event loop between batches,
 * so API requests and outcomes interleave with a large purge instead of waiting behind it.
 */
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Store } from '../store/index.js';

const DAY = 86_400_000;
const BATCH = 500;
/** At most this many rows per kind per run; the rest waits for the next run. */
const MAX_PER_RUN = 50_000;

export class Housekeeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly store: Store,
    private readonly retention: Config['retention'],
    private readonly log: Logger,
  ) {}

  start(everyMs = 10 * 60_000): void {
    this.timer = setInterval(() => void this.runOnce(), everyMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One pass over every kind; returns how many rows of each were deleted. */
  runOnce(now = Date.now()): Promise<Record<string, number>> {
    const r = this.retention;
    const kinds: [string, number, (before: number, limit: number) => Promise<number>][] = [
      ['messages', r.messagesDays, (b, l) => this.store.retention.messages(b, l)],
      ['inbound', r.inboundDays, (b, l) => this.store.retention.inbound(b, l)],
      ['webhook_deliveries', r.webhooksDays, (b, l) => this.store.retention.webhookDeliveries(b, l)],
      // An Idempotency-Key answers the same for 24 hours.
      ['idempotency_keys', 1, (b, l) => this.store.retention.idempotencyKeys(b, l)],
      ['sessions', 0.000001, (_b, l) => this.store.retention.sessions(now, l)],
      // Frequency-cap counters: a row's periods all end with its month (at most 31 days).
      ['frequency_state', 32, (b, l) => this.store.policy.pruneCounters(b, l)],
    ];
    const run = (async () => {
      const deleted: Record<string, number> = {};
      for (const [kind, days, purge] of kinds) {
        if (days <= 0) continue; // kept for ever
        let n = 0;
        for (;;) {
          const got = await purge(now - days * DAY, BATCH);
          n += got;
          if (got < BATCH || n >= MAX_PER_RUN) break;
          await new Promise((resolve) => setImmediate(resolve));
        }
        deleted[kind] = n;
      }
      const total = Object.values(deleted).reduce((a, b) => a + b, 0);
      if (total > 0) this.log.info({ deleted }, 'retention: old rows deleted');
      return deleted;
    })().catch((err: unknown) => {
      this.log.error({ err }, 'retention pass failed');
      return {};
    });
    this.running = run;
    return run;
  }
}
