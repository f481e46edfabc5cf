/**
 * Delivery reports of a batch applied with four fixed statements whatever the batch's size: the
 * part each report names (exact id, newest first), the fenced status change of those parts, the
 * parts of the messages that may now be final, and the final status of those messages. Each list
 * travels as one parameter (store/compiled.ts), as store/sent-batch.ts does for `sent` outcomes.
 *
 * Why: applied one by one through Kysely a receipt cost four built queries (match, part update,
 * part read, message update) run one after another in the group commit's transaction; on the
 * receipts path (`HOT_MODE=receipts npm run bench:hot`) they were 8,000 of the 14,244 statements
 * of 2,000 messages' outcome transactions.
 *
 * The rules are the one-report form's (store/outcomes.ts): a part already final is not changed
 * (checked again in the UPDATE), a message becomes final once every part is, with the target's
 * allowed sources from the state machine (`fromStatuses`), and only if it has no `final_at` yet
 * (a message that asked for no report was final when sent).
 */
import type { SqlTarget } from './compiled.js';
import { listParam, runSql } from './compiled.js';
import { FINAL_STATUSES, PART_FINAL, fromStatuses } from '../core/message.js';

/** A report to match: `k` is its index in the caller's list. */
export interface ReportKey {
  k: number;
  channelId: string;
  remoteId: string;
}

/** The part a report names, as the match found it. */
export interface MatchedPart {
  k: number;
  message_id: string;
  seq: number;
  status: string;
}

/** The newest part with the report's exact (channel, remote id), per report. */
const MATCH = {
  sqlite: `select j.k as k, p.message_id as message_id, p.seq as seq, p.status as status
    from (select json_extract(value, '$[0]') as k, json_extract(value, '$[1]') as channel_id,
                 json_extract(value, '$[2]') as remote_id
          from json_each(?)) as j
    join message_parts p on p.rowid = (
      select q.rowid from message_parts q
      where q.channel_id = j.channel_id and q.remote_id = j.remote_id
      order by q.created_at desc limit 1)`,
  postgres: `select j.k as k, p.message_id as message_id, p.seq as seq, p.status as status
    from unnest($1::int[], $2::text[], $3::text[]) as j(k, channel_id, remote_id)
    cross join lateral (
      select q.message_id, q.seq, q.status from message_parts q
      where q.channel_id = j.channel_id and q.remote_id = j.remote_id
      order by q.created_at desc limit 1) p`,
};

export async function matchParts(target: SqlTarget, keys: readonly ReportKey[]): Promise<MatchedPart[]> {
  if (keys.length === 0) return [];
  const params =
    target.dialect === 'sqlite'
      ? [JSON.stringify(keys.map((r) => [r.k, r.channelId, r.remoteId]))]
      : [keys.map((r) => r.k), keys.map((r) => r.channelId), keys.map((r) => r.remoteId)];
  const rows = await runSql<MatchedPart>(target, MATCH, params);
  return rows.map((r) => ({ ...r, k: Number(r.k), seq: Number(r.seq) }));
}

/** A part's new status from a report. */
export interface PartChange {
  messageId: string;
  seq: number;
  status: string;
  errorCode: string | null;
  at: number;
}

const PART_FINAL_LIST = [...PART_FINAL];

const UPDATE_PARTS = {
  sqlite: `update message_parts set status = j.status, error_code = j.error_code, updated_at = j.at
    from (select json_extract(value, '$[0]') as message_id, json_extract(value, '$[1]') as seq,
                 json_extract(value, '$[2]') as status, json_extract(value, '$[3]') as error_code,
                 json_extract(value, '$[4]') as at
          from json_each(?)) as j
    where message_parts.message_id = j.message_id and message_parts.seq = j.seq
      and message_parts.status not in (select value from json_each(?))
    returning message_parts.message_id as message_id, message_parts.seq as seq`,
  postgres: `update message_parts p set status = j.status, error_code = j.error_code, updated_at = j.at
    from unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::bigint[])
      as j(message_id, seq, status, error_code, at)
    where p.message_id = j.message_id and p.seq = j.seq and p.status <> all($6::text[])
    returning p.message_id as message_id, p.seq as seq`,
};

/**
 * Sets the parts' statuses where they are not final yet (checked in the UPDATE: another
 * transaction may have made one final since it was read); returns the `message_id|seq` changed.
 * Parts must be distinct within a call (a row changed twice by one UPDATE … FROM is undefined).
 */
export async function updateParts(target: SqlTarget, changes: readonly PartChange[]): Promise<Set<string>> {
  if (changes.length === 0) return new Set();
  const params =
    target.dialect === 'sqlite'
      ? [
          JSON.stringify(changes.map((c) => [c.messageId, c.seq, c.status, c.errorCode, c.at])),
          listParam('sqlite', PART_FINAL_LIST),
        ]
      : [
          changes.map((c) => c.messageId),
          changes.map((c) => c.seq),
          changes.map((c) => c.status),
          changes.map((c) => c.errorCode),
          changes.map((c) => c.at),
          PART_FINAL_LIST,
        ];
  const rows = await runSql<{ message_id: string; seq: number | string }>(target, UPDATE_PARTS, params);
  return new Set(rows.map((r) => `${r.message_id}|${Number(r.seq)}`));
}

const PARTS_OF = {
  sqlite: `select message_id, seq, status, error_code from message_parts
    where message_id in (select value from json_each(?)) order by message_id, seq`,
  postgres: `select message_id, seq, status, error_code from message_parts
    where message_id = any($1::text[]) order by message_id, seq`,
};

/** Every part of these messages, by message then sequence. */
export async function partsOf(
  target: SqlTarget,
  messageIds: readonly string[],
): Promise<Map<string, { status: string; error_code: string | null }[]>> {
  const out = new Map<string, { status: string; error_code: string | null }[]>();
  if (messageIds.length === 0) return out;
  const rows = await runSql<{ message_id: string; status: string; error_code: string | null }>(
    target,
    PARTS_OF,
    [listParam(target.dialect, messageIds)],
  );
  for (const r of rows) {
    let parts = out.get(r.message_id);
    if (!parts) out.set(r.message_id, (parts = []));
    parts.push({ status: r.status, error_code: r.error_code });
  }
  return out;
}

/** A message's final status from its parts' reports. */
export interface FinalChange {
  id: string;
  status: string;
  errorCode: string | null;
  at: number;
}

/** (target, allowed source) pairs of every final status, from the state machine. */
const FINAL_FROM: [string, string][] = [...FINAL_STATUSES].flatMap((to) =>
  fromStatuses(to).map((from): [string, string] => [to, from]),
);

const FINALIZE = {
  sqlite: `update messages set status = j.status, error_code = j.error_code, final_at = j.at, updated_at = j.at
    from (select json_extract(value, '$[0]') as id, json_extract(value, '$[1]') as status,
                 json_extract(value, '$[2]') as error_code, json_extract(value, '$[3]') as at
          from json_each(?)) as j
    where messages.id = j.id and messages.final_at is null
      and exists (select 1 from json_each(?) t
                  where json_extract(t.value, '$[0]') = j.status and json_extract(t.value, '$[1]') = messages.status)
    returning messages.id as id, messages.owner_id as owner_id`,
  postgres: `update messages m set status = j.status, error_code = j.error_code, final_at = j.at, updated_at = j.at
    from unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) as j(id, status, error_code, at)
    where m.id = j.id and m.final_at is null
      and (j.status, m.status) in (select * from unnest($5::text[], $6::text[]))
    returning m.id as id, m.owner_id as owner_id`,
};

/**
 * Gives the messages their final status where the state machine allows it and they have no
 * `final_at` yet; returns those changed with their owners. Ids must be distinct within a call.
 */
export async function finalizeMessages(
  target: SqlTarget,
  changes: readonly FinalChange[],
): Promise<{ id: string; owner_id: string }[]> {
  if (changes.length === 0) return [];
  const params =
    target.dialect === 'sqlite'
      ? [JSON.stringify(changes.map((c) => [c.id, c.status, c.errorCode, c.at])), JSON.stringify(FINAL_FROM)]
      : [
          changes.map((c) => c.id),
          changes.map((c) => c.status),
          changes.map((c) => c.errorCode),
          changes.map((c) => c.at),
          FINAL_FROM.map(([to]) => to),
          FINAL_FROM.map(([, from]) => from),
        ];
  return runSql<{ id: string; owner_id: string }>(target, FINALIZE, params);
}
