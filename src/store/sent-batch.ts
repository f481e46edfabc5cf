/**
 * The `sent` outcomes of a batch written with three fixed statements whatever the batch's size:
 * the fenced status change of every message, the parts of those that took it, and the waiting
 * reports that raced them. Each list travels as one parameter (store/compiled.ts).
 *
 * Why: written per message through Kysely these were three built queries per message on the
 * plain send path (issue 13), run one after another in the group commit's transaction.
 * Measured, `npm run build && SENT_DIR=<checkout> npm run bench:sent-outcomes` (20,000 outcomes
 * in batches of 64, interleaved with the code before, 3 rounds each): SQLite 77–79 → 30 CPU-ms
 * per 1,000 outcomes; PostgreSQL (SENT_N=5000) 370–402 → 41–51 CPU-ms and 745–766 → 120–177 ms
 * wall per 1,000. End to end (`HOT_MODE=plain HOT_N=10000 npm run bench:hot`, 7 interleaved
 * pairs) the gateway's CPU went 5.0 → 4.5 s median; see docs/benchmarks.md, "Hot path".
 *
 * The fence is the same as the one-row form's: `id`, `lease_owner` = the claim token the message
 * was submitted under, and a status the state machine allows to become `sent` (`fromStatuses`).
 */
import type { SqlTarget } from './compiled.js';
import { listParam, runSql } from './compiled.js';
import { fromStatuses } from '../core/message.js';

/** One message's `sent` as the batch statement takes it. */
export interface SentRow {
  id: string;
  lease: string;
  channelId: string;
  at: number;
  /** `at` when no report will come (`sent` is final), else null. */
  finalAt: number | null;
  /** Set when the channel sent it otherwise than stored; null keeps the stored values. */
  encoding: string | null;
  segments: number | null;
}

const SENT_FROM = fromStatuses('sent');

/** Sets, in both dialects, what `Run.sent`'s one-row UPDATE set; `j` is the batch row. */
const SET = (m: string) => `status = 'sent',
    attempts = ${m}.attempts + 1,
    channel_id = j.channel_id,
    lease_owner = null,
    lease_until = null,
    error_code = null,
    error_message = null,
    sent_at = j.at,
    final_at = j.final_at,
    updated_at = j.at,
    encoding = coalesce(j.encoding, ${m}.encoding),
    segments = coalesce(j.segments, ${m}.segments)`;

const MARK_SENT = {
  sqlite: `update messages set ${SET('messages')}
    from (select json_extract(value, '$[0]') as id, json_extract(value, '$[1]') as lease,
                 json_extract(value, '$[2]') as channel_id, json_extract(value, '$[3]') as at,
                 json_extract(value, '$[4]') as final_at, json_extract(value, '$[5]') as encoding,
                 json_extract(value, '$[6]') as segments
          from json_each(?)) as j
    where messages.id = j.id and messages.lease_owner = j.lease
      and messages.status in (select value from json_each(?))
    returning messages.id`,
  postgres: `update messages m set ${SET('m')}
    from unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::text[], $7::int[])
      as j(id, lease, channel_id, at, final_at, encoding, segments)
    where m.id = j.id and m.lease_owner = j.lease and m.status = any($8::text[])
    returning m.id`,
};

const INSERT_PARTS = {
  sqlite: `insert into message_parts
      (message_id, seq, channel_id, remote_id, status, error_code, updated_at, created_at)
    select json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'),
           json_extract(value, '$[3]'), 'sent', null, json_extract(value, '$[4]'), json_extract(value, '$[4]')
    from json_each(?)`,
  postgres: `insert into message_parts
      (message_id, seq, channel_id, remote_id, status, error_code, updated_at, created_at)
    select j.message_id, j.seq, j.channel_id, j.remote_id, 'sent', null, j.at, j.at
    from unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::bigint[])
      as j(message_id, seq, channel_id, remote_id, at)`,
};

/** Waiting reports per (message in the batch, remote id); received after its submit started. */
const WAITING = {
  sqlite: `select j.k as k, r.report_id as report_id, r.remote_id as remote_id
    from (select json_extract(value, '$[0]') as k, json_extract(value, '$[1]') as channel_id,
                 json_extract(value, '$[2]') as remote_id, json_extract(value, '$[3]') as started
          from json_each(?)) as j
    join pending_reports r on r.channel_id = j.channel_id and r.remote_id = j.remote_id
    where r.received_at >= j.started
    order by j.k, r.id`,
  postgres: `select j.k as k, r.report_id as report_id, r.remote_id as remote_id
    from unnest($1::int[], $2::text[], $3::text[], $4::bigint[]) as j(k, channel_id, remote_id, started)
    join pending_reports r on r.channel_id = j.channel_id and r.remote_id = j.remote_id
    where r.received_at >= j.started
    order by j.k, r.id`,
};

/**
 * Marks the messages `sent` where the fence holds; returns the ids it changed. Ids must be
 * distinct within a call (a row changed twice by one UPDATE … FROM is undefined).
 */
export async function markSent(target: SqlTarget, rows: readonly SentRow[]): Promise<Set<string>> {
  let params: unknown[];
  if (target.dialect === 'sqlite') {
    const list = rows.map((r) => [r.id, r.lease, r.channelId, r.at, r.finalAt, r.encoding, r.segments]);
    params = [JSON.stringify(list), listParam('sqlite', SENT_FROM)];
  } else {
    params = [
      rows.map((r) => r.id),
      rows.map((r) => r.lease),
      rows.map((r) => r.channelId),
      rows.map((r) => r.at),
      rows.map((r) => r.finalAt),
      rows.map((r) => r.encoding),
      rows.map((r) => r.segments),
      SENT_FROM,
    ];
  }
  const changed = await runSql<{ id: string }>(target, MARK_SENT, params);
  return new Set(changed.map((r) => r.id));
}

export interface PartRow {
  messageId: string;
  seq: number;
  channelId: string;
  remoteId: string;
  at: number;
}

/** Stores the parts of messages just marked `sent` (status `sent`, created and updated at `at`). */
export async function insertParts(target: SqlTarget, parts: readonly PartRow[]): Promise<void> {
  if (parts.length === 0) return;
  const params =
    target.dialect === 'sqlite'
      ? [JSON.stringify(parts.map((p) => [p.messageId, p.seq, p.channelId, p.remoteId, p.at]))]
      : [
          parts.map((p) => p.messageId),
          parts.map((p) => p.seq),
          parts.map((p) => p.channelId),
          parts.map((p) => p.remoteId),
          parts.map((p) => p.at),
        ];
  await runSql(target, INSERT_PARTS, params);
}

/** A remote id of message `k` (its index in the caller's list) to look up. */
export interface WaitingKey {
  k: number;
  channelId: string;
  remoteId: string;
  startedAt: number;
}

/** Reports waiting for these parts, by message index then arrival order. */
export async function waitingReports(
  target: SqlTarget,
  keys: readonly WaitingKey[],
): Promise<{ k: number; report_id: string; remote_id: string }[]> {
  if (keys.length === 0) return [];
  const params =
    target.dialect === 'sqlite'
      ? [JSON.stringify(keys.map((w) => [w.k, w.channelId, w.remoteId, w.startedAt]))]
      : [
          keys.map((w) => w.k),
          keys.map((w) => w.channelId),
          keys.map((w) => w.remoteId),
          keys.map((w) => w.startedAt),
        ];
  const rows = await runSql<{ k: number | string; report_id: string; remote_id: string }>(
    target,
    WAITING,
    params,
  );
  return rows.map((r) => ({ ...r, k: Number(r.k) }));
}
