/** Reports: aggregate statistics for the dashboard and the history as a CSV download. */
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ApiError, say } from '../../../core/errors.js';
import type { MessageStatus } from '../../../core/message.js';
import { STATUS_GROUP } from '../../../core/message.js';
import { localToUtc, offsetSegments, zoneOffsetMs } from '../../../core/time.js';
import type { MessageService } from '../../../services/messages.js';
import type { Store } from '../../../store/index.js';
import type { MessageRow } from '../../../store/schema.js';
import type { Principal } from '../../../services/auth.js';
import { ownerScope, principalOf } from '../auth.js';
import { iso as isoOrNull } from '../views.js';
import { ListQuery, listFilter, parseTime } from './messages.js';
import { CsvFile, QueueView, StatsView } from '../schemas.js';

const BUCKETS = { hour: 3_600_000, day: 86_400_000 } as const;
const MAX_BUCKETS = 2_000;
/**
 * Rows per CSV chunk: a page of 1,000 whole rows took 12 ms to read over 1M messages (2 × EPYC),
 * 250 about 3 ms, plus about as much to format; a chunk is ~50 KB.
 */
const EXPORT_PAGE = 250;

const UserId = Type.Optional(Type.String({ maxLength: 64, description: 'Admins: one user only.' }));

/** Whose messages a report covers: yours; an admin's covers everyone, or the user asked for. */
function ownerOf(p: Principal, userId: string | undefined): string | undefined {
  if (userId && p.user.role !== 'admin' && userId !== p.user.id) {
    throw new ApiError('forbidden', say('api.misc.othersStats'), 'user_id');
  }
  return ownerScope(p) ?? userId;
}

const StatsQuery = Type.Object({
  since: Type.String({ format: 'date-time' }),
  until: Type.Optional(Type.String({ format: 'date-time', description: 'Default: now.' })),
  bucket: Type.Optional(Type.Union([Type.Literal('hour'), Type.Literal('day')], { default: 'day' })),
  tz: Type.Optional(
    Type.String({ maxLength: 64, description: 'IANA time zone for bucket boundaries; default UTC.' }),
  ),
  user_id: UserId,
  channel_id: Type.Optional(
    Type.String({ maxLength: 64, description: 'Messages sent through one channel.' }),
  ),
  batch_id: Type.Optional(Type.String({ maxLength: 64, description: 'The messages of one request.' })),
});

export function reportRoutes(
  untyped: FastifyInstance,
  deps: { store: Store; messages: MessageService },
): void {
  const app = untyped.withTypeProvider<TypeBoxTypeProvider>();
  const { store } = deps;

  app.get(
    '/v1/stats',
    {
      schema: {
        tags: ['reports'],
        summary: 'Messages per status over time, delivery rate, failure reasons',
        querystring: StatsQuery,
        response: { 200: StatsView },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const q = req.query;
      const since = parseTime(q.since, 'since');
      const until = q.until ? parseTime(q.until, 'until') : Date.now();
      const bucket = q.bucket ?? 'day';
      const bucketMs = BUCKETS[bucket];
      if (until <= since) throw new ApiError('validation_failed', say('api.misc.untilAfter'), 'until');
      if ((until - since) / bucketMs > MAX_BUCKETS) {
        throw new ApiError(
          'validation_failed',
          say('api.misc.maxBuckets', { max: MAX_BUCKETS, bucket }),
          'since',
        );
      }
      const tz = q.tz ?? 'UTC';
      const offsets = offsetSegments(tz, since, until);
      if (!offsets) throw new ApiError('validation_failed', say('api.misc.unknownZone', { zone: tz }), 'tz');
      const range = {
        ownerId: ownerOf(p, q.user_id),
        channelId: q.channel_id,
        batchId: q.batch_id,
        since,
        until,
      };
      const [rows, reasons] = await Promise.all([
        store.stats.series({ ...range, bucketMs, offsets }),
        store.stats.failureReasons(range),
      ]);

      const empty = () => ({ messages: 0, segments: 0, delivered: 0, failed: 0, pending: 0, canceled: 0 });
      const totals = { ...empty(), by_status: {} as Record<string, number> };
      const series = new Map<number, ReturnType<typeof empty>>();
      for (const r of rows) {
        const group = STATUS_GROUP[r.status as MessageStatus] ?? 'pending';
        const point = series.get(r.bucket) ?? empty();
        series.set(r.bucket, point);
        for (const t of [point, totals]) {
          t.messages += r.messages;
          t.segments += r.segments;
          t[group] += r.messages;
        }
        totals.by_status[r.status] = (totals.by_status[r.status] ?? 0) + r.messages;
      }
      // Every bucket of the range, empty ones included, so charts need no gap filling. Buckets
      // are local wall-clock hours or days: a day with a DST change has 23 or 25 hours.
      const points = [];
      const local = (utc: number) => utc + (zoneOffsetMs(tz, utc) ?? 0);
      for (let l = Math.floor(local(since) / bucketMs) * bucketMs; localToUtc(l, tz) < until; l += bucketMs) {
        points.push({ start: new Date(localToUtc(l, tz)).toISOString(), ...(series.get(l) ?? empty()) });
      }
      const finished = totals.delivered + totals.failed;
      return {
        since: new Date(since).toISOString(),
        until: new Date(until).toISOString(),
        bucket,
        tz,
        totals: { ...totals, delivery_rate: finished > 0 ? totals.delivered / finished : null },
        series: points,
        failure_reasons: reasons,
      };
    },
  );

  app.get(
    '/v1/queue',
    {
      schema: {
        tags: ['reports'],
        summary: 'Messages waiting to leave now: queued, scheduled, being sent',
        querystring: Type.Object({ user_id: UserId }),
        response: { 200: QueueView },
      },
    },
    async (req) => store.stats.queue(ownerOf(principalOf(req), req.query.user_id)),
  );

  app.get(
    '/v1/messages/export',
    {
      schema: {
        tags: ['reports'],
        summary: 'The filtered history as CSV (same filters as GET /v1/messages), newest first',
        querystring: Type.Omit(ListQuery, ['limit', 'cursor']),
        response: { 200: CsvFile },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const filter = listFilter(p, req.query, deps.messages.region);
      // Pages of EXPORT_PAGE rows in key order, one query and one CSV chunk at a time, a yield
      // to the loop between them (store.messages.pages). The stream is pulled: the next page is
      // read only when the socket has taken the previous one (backpressure), and fastify
      // destroys the stream when the client goes away, which ends the generator and its queries.
      async function* lines() {
        // A UTF-8 byte order mark first: without it Excel reads the file as the local ANSI code
        // page and Cyrillic, Persian or Chinese texts become mojibake.
        // Names next to ids (issue 18 item 6): the channel's name, and for admins the owner's login.
        const admin = p.user.role === 'admin';
        const names: CsvNames = {
          channels: new Map((await store.channels.list()).map((c) => [c.id, c.name])),
          owners: admin ? new Map((await store.users.list()).map((u) => [u.id, u.login])) : undefined,
        };
        yield `\uFEFF${csvColumns(admin).join(',')}\r\n`;
        for await (const rows of store.messages.pages(filter, EXPORT_PAGE))
          yield rows.map((m) => csvLine(m, names)).join('');
      }
      const stamp = new Date().toISOString().slice(0, 19).replace(/[-:T]/g, '');
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="messages-${stamp}.csv"`)
        .send(Readable.from(lines(), { objectMode: false }));
    },
  );
}

const CSV_COLUMNS = [
  'id',
  'batch_id',
  'created_at',
  'to',
  'from',
  'status',
  'error_code',
  'error_message',
  'encoding',
  'segments',
  'attempts',
  'channel_id',
  'client_ref',
  'sent_at',
  'final_at',
  'text',
];

/** The export's columns: the channel's name after its id; the owner's login for admins. */
export function csvColumns(admin: boolean): string[] {
  const cols = [...CSV_COLUMNS];
  cols.splice(cols.indexOf('channel_id') + 1, 0, 'channel_name', ...(admin ? ['owner_login'] : []));
  return cols;
}

interface CsvNames {
  channels: Map<string, string>;
  /** Only for admins. */
  owners: Map<string, string> | undefined;
}

const iso = (ms: number | null) => isoOrNull(ms) ?? '';

function csvLine(m: MessageRow, names: CsvNames): string {
  const cells = [
    m.id,
    m.batch_id,
    iso(m.created_at),
    m.to,
    m.from,
    m.status,
    m.error_code,
    m.error_message,
    m.encoding,
    String(m.segments),
    String(m.attempts),
    m.channel_id,
    m.channel_id ? (names.channels.get(m.channel_id) ?? '') : '',
    ...(names.owners ? [names.owners.get(m.owner_id) ?? ''] : []),
    m.client_ref,
    iso(m.sent_at),
    iso(m.final_at),
    m.text,
  ];
  return `${cells.map((c) => csvCell(c ?? '')).join(',')}\r\n`;
}

/**
 * RFC 4180 quoting, plus a leading apostrophe on free text that a spreadsheet would run as a
 * formula (=, +, -, @): a recipient's reply or a sender's text must never execute on export.
 * Numbers in E.164 are left alone: "+4915…" is digits, not a formula.
 */
export function csvCell(value: string): string {
  let v = value;
  if (/^[=+\-@\t\r]/.test(v) && !/^\+\d+$/.test(v)) v = `'${v}`;
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}
