/**
 * Aggregates for the dashboard and reports: messages per status over time, failure reasons and
 * queue depth. Message ids are UUIDv7, so a time range becomes an id range and every query walks
 * the primary key (or owner_id, id) instead of needing an index on created_at.
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { MESSAGE_STATUSES, STATUS_GROUP, WAITING_STATUSES } from '../core/message.js';
import type { OffsetSegment } from '../core/time.js';
import type { Capabilities } from './db.js';
import type { Database } from './schema.js';
import type { IdSlice } from './slices.js';
import { inSlice, messageSlices } from './slices.js';

/**
 * Rows aggregated per query. Over 1M messages one GET /v1/stats group-by held the event loop
 * 605 ms (2 × EPYC); 20,000 rows took 10 ms, so 5,000 rows keep each query near 2.5 ms.
 */
const STATS_SLICE = 5_000;

type RangeQuery = Pick<StatsQuery, 'ownerId' | 'channelId' | 'batchId' | 'since' | 'until'>;

export interface StatsQuery {
  ownerId: string | undefined;
  /** Only messages that went through this channel. */
  channelId?: string | undefined;
  /** Only the messages of one request (a send to a list: its progress). */
  batchId?: string | undefined;
  since: number;
  until: number;
  bucketMs: number;
  /** The viewer's zone offsets over the range, added before bucketing so days start at local midnight. */
  offsets: readonly OffsetSegment[];
}

export interface StatsRow {
  /** The bucket's start in local wall-clock time, as UTC-style ms (see localToUtc). */
  bucket: number;
  status: string;
  messages: number;
  segments: number;
}

/** The smallest UUIDv7 string of a millisecond: every id created at or after `ms` sorts above it. */
export function idFloor(ms: number): string {
  const hex = Math.max(0, Math.floor(ms)).toString(16).padStart(12, '0').slice(-12);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-0000-0000-000000000000`;
}

const FAILED = MESSAGE_STATUSES.filter((s) => STATUS_GROUP[s] === 'failed');

export class StatsRepo {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly caps: Capabilities,
  ) {}

  /** The range in slices of STATS_SLICE rows (of the owner, when there is one). */
  private slices(q: RangeQuery): AsyncGenerator<IdSlice> {
    return messageSlices(this.db, this.caps, {
      lo: idFloor(q.since),
      hi: idFloor(q.until),
      key: q.ownerId ? { column: 'owner_id', value: q.ownerId } : undefined,
      rows: STATS_SLICE,
    });
  }

  private range(q: RangeQuery, slice: IdSlice) {
    let b = this.db.selectFrom('messages');
    if (slice.from !== undefined) b = b.where('id', '>=', slice.from);
    if (slice.to !== undefined) b = b.where('id', '<', slice.to);
    if (q.ownerId) b = b.where('owner_id', '=', q.ownerId);
    if (q.channelId) b = b.where('channel_id', '=', q.channelId);
    if (q.batchId) b = b.where('batch_id', '=', q.batchId);
    return b;
  }

  /** Message and segment counts per time bucket and status. */
  async series(q: StatsQuery): Promise<StatsRow[]> {
    // Literals, not parameters: PostgreSQL matches a GROUP BY expression to the select list only
    // when both are the same text, and two parameters never are. All are integers we computed.
    const at = sql.ref('created_at');
    const [base, ...changes] = q.offsets;
    // The offset in force when the message was created: the latest change before it.
    const offset = changes.length
      ? sql`case ${sql.join(
          [...changes]
            .reverse()
            .map((c) => sql`when ${at} >= ${sql.lit(c.from)} then ${sql.lit(c.offsetMs)}`),
          sql` `,
        )} else ${sql.lit(base?.offsetMs ?? 0)} end`
      : sql.lit(base?.offsetMs ?? 0);
    const size = sql.lit(Math.max(1, Math.trunc(q.bucketMs)));
    const bucket = sql<number>`cast((${at} + ${offset}) / ${size} as bigint)`;
    const merged = new Map<string, StatsRow>();
    for await (const slice of this.slices(q)) {
      const rows = await this.range(q, slice)
        .select([
          bucket.as('bucket'),
          'status',
          (eb) => eb.fn.countAll<number>().as('messages'),
          (eb) => eb.fn.sum<number>('segments').as('segments'),
        ])
        .groupBy([bucket, 'status'])
        .execute();
      for (const r of rows) {
        const at = Number(r.bucket) * q.bucketMs;
        const k = `${at}|${r.status}`;
        const m = merged.get(k) ?? { bucket: at, status: r.status, messages: 0, segments: 0 };
        m.messages += Number(r.messages);
        m.segments += Number(r.segments);
        merged.set(k, m);
      }
    }
    return [...merged.values()];
  }

  /** Why messages failed, most frequent first. */
  async failureReasons(q: RangeQuery, limit = 10) {
    const counts = new Map<string, number>();
    for await (const slice of this.slices(q)) {
      const rows = await this.range(q, slice)
        .select(['error_code', (eb) => eb.fn.countAll<number>().as('n')])
        .where((eb) => eb(inSlice(this.caps, 'status'), 'in', FAILED))
        .groupBy('error_code')
        .execute();
      for (const r of rows) {
        const code = r.error_code ?? 'unknown';
        counts.set(code, (counts.get(code) ?? 0) + Number(r.n));
      }
    }
    return [...counts]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, limit)
      .map(([code, count]) => ({ code, count }));
  }

  /** Messages waiting to leave, by status, now (not a time range). */
  async queue(ownerId: string | undefined): Promise<Record<(typeof WAITING_STATUSES)[number], number>> {
    let q = this.db
      .selectFrom('messages')
      .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
      .where('status', 'in', WAITING_STATUSES);
    if (ownerId) q = q.where('owner_id', '=', ownerId);
    const out = { queued: 0, scheduled: 0, sending: 0 };
    for (const r of await q.groupBy('status').execute()) out[r.status as keyof typeof out] = Number(r.n);
    return out;
  }
}
