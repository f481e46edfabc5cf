/** Liveness, readiness and Prometheus metrics. */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import client from 'prom-client';
import { ApiError, say } from '../../../core/errors.js';
import type { Dispatcher } from '../../../dispatch/dispatcher.js';
import type { ChannelRegistry } from '../../../dispatch/registry.js';
import type { Store } from '../../../store/index.js';

/** How old the smsgw_messages sample may get before a scrape starts a new count. */
export const STATUS_SAMPLE_MS = 60_000;
/** How long the first scrape waits for the first count (Prometheus' default timeout is 10 s). */
const FIRST_SAMPLE_WAIT_MS = 2_000;

export interface OpsDeps {
  store: Store;
  registry: ChannelRegistry;
  dispatcher: Dispatcher;
  ready: () => boolean;
}

export function createMetrics(deps: OpsDeps) {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  const httpDuration = new client.Histogram({
    name: 'smsgw_http_request_duration_seconds',
    help: 'HTTP API latency by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  // Messages by status are sampled, not counted per scrape: over 1M messages one group-by held
  // the event loop 56–78 ms, and a scrape took 128–359 ms (bench:export). countByStatus counts
  // in slices of 5,000 rows (a few ms each, 1.4–3 s in all); a scrape reads the last sample
  // (6–21 ms) and starts the next count (one at a time, in the background) once it is
  // STATUS_SAMPLE_MS old; only the first scrape waits for one, at most FIRST_SAMPLE_WAIT_MS.
  // Sampling, not counters kept on every status change: those changes happen in several stores
  // and transactions, and a counter row would be one more write, and a hot row on PostgreSQL,
  // on the hot path. A history gauge needs no per-second freshness; the queue, which does, has
  // smsgw_queue_depth.
  let sample: { at: number; rows: { status: string; n: number }[] } | undefined;
  let sampling: Promise<void> | undefined;
  const resample = (): Promise<void> =>
    (sampling ??= deps.store.messages
      .countByStatus()
      .then((rows) => {
        sample = { at: Date.now(), rows };
      })
      .catch(() => undefined) // the next scrape tries again; the last sample stays
      .finally(() => {
        sampling = undefined;
      }));
  new client.Gauge({
    name: 'smsgw_messages',
    help: `Messages by status (sampled at most every ${STATUS_SAMPLE_MS / 1000} s)`,
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      if (!sample) {
        // The first count over a long history outlasts a scrape timeout (2–3 s per 1M
        // messages on the shared box): wait a little, then answer without it meanwhile.
        await Promise.race([resample(), new Promise((r) => setTimeout(r, FIRST_SAMPLE_WAIT_MS).unref())]);
      } else if (Date.now() - sample.at >= STATUS_SAMPLE_MS) void resample();
      this.reset();
      for (const r of sample?.rows ?? []) this.set({ status: r.status }, r.n);
    },
  });
  new client.Gauge({
    name: 'smsgw_queue_depth',
    help: 'Messages queued, scheduled or being sent',
    registers: [registry],
    async collect() {
      const q = await deps.store.stats.queue(undefined);
      this.set(q.queued + q.scheduled + q.sending);
    },
  });
  for (const [name, key, help] of [
    ['smsgw_channel_sent_total', 'sent', 'Submits sent per channel since start'],
    ['smsgw_channel_failed_total', 'failed', 'Submits failed per channel since start'],
    [
      'smsgw_reports_unmatched_total',
      'unmatchedReports',
      'Delivery reports that matched no part when they came (kept for a late match) per channel',
    ],
    [
      'smsgw_reports_duplicate_total',
      'duplicateReports',
      'Delivery reports about parts already final (recorded, not applied) per channel',
    ],
  ] as const) {
    new client.Counter({
      name,
      help,
      labelNames: ['channel'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const [id, n] of deps.dispatcher.stats[key]) {
          this.inc({ channel: deps.registry.get(id)?.row.name ?? id }, n);
        }
      },
    });
  }
  new client.Counter({
    name: 'smsgw_outcomes_fenced_total',
    help: 'Submit outcomes refused because the lease had passed to another claim',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(deps.dispatcher.stats.fencedOutcomes);
    },
  });
  new client.Gauge({
    name: 'smsgw_reports_pending',
    help: 'Delivery reports waiting for the part they are about',
    registers: [registry],
    async collect() {
      this.set(await deps.store.outcomes.pendingCount());
    },
  });
  new client.Gauge({
    name: 'smsgw_channel_up',
    help: '1 when the channel is up',
    labelNames: ['channel', 'type'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const ch of deps.registry.all()) {
        this.set({ channel: ch.row.name, type: ch.row.type }, ch.driver.health().status === 'up' ? 1 : 0);
      }
    },
  });
  return { registry, httpDuration };
}

export function opsRoutes(
  app: FastifyInstance,
  deps: OpsDeps & { metricsToken?: string | undefined },
  metrics: ReturnType<typeof createMetrics>,
): void {
  // Metrics name channels, counts and latencies: with SMSGW_METRICS_TOKEN set, only a scraper
  // that sends `Authorization: Bearer <token>` reads them (compared in constant time).
  const expected = deps.metricsToken ? createHash('sha256').update(deps.metricsToken).digest() : undefined;
  const metricsAllowed = (header: string | undefined) => {
    if (!expected) return true;
    const m = /^Bearer (.+)$/i.exec(header ?? '');
    if (!m) return false;
    return timingSafeEqual(
      createHash('sha256')
        .update((m[1] as string).trim())
        .digest(),
      expected,
    );
  };
  app.get('/healthz', { schema: { tags: ['ops'], summary: 'Liveness' } }, async () => ({ status: 'ok' }));
  app.get(
    '/readyz',
    { schema: { tags: ['ops'], summary: 'Readiness: database reachable and dispatcher running' } },
    async (_req, reply) => {
      try {
        await sql`select 1`.execute(deps.store.db.kysely);
      } catch {
        return reply.status(503).send({ status: 'database unreachable' });
      }
      if (!deps.ready()) return reply.status(503).send({ status: 'starting or stopping' });
      return { status: 'ready' };
    },
  );
  app.get('/metrics', { schema: { tags: ['ops'], summary: 'Prometheus metrics' } }, async (req, reply) => {
    if (!metricsAllowed(req.headers.authorization)) {
      throw new ApiError('unauthorized', say('api.auth.metricsToken'));
    }
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}
