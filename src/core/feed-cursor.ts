/**
 * The change feed's cursor: one opaque string for the client to store and send back.
 *
 * On PostgreSQL, event ids are taken when a row is inserted, not when its transaction commits,
 * so "every id above N" skips an event whose transaction commits after a later one's. The feed
 * therefore walks events in (transaction id, event id) order and only through transactions
 * older than every one still running (migration 008, as the webhook fan-out does); the cursor is
 * that pair. It is written `c<tx>_<id>` (and `_<floor>`, below); clients must not parse it.
 *
 * Plain numbers are the cursors of earlier versions (an event id) and are still accepted. On
 * PostgreSQL such a number becomes a floor: the walk starts at the beginning of the (tx, id)
 * order but skips events with an id at or below it, so a client upgrading sees nothing twice.
 * The floor travels on in the cursor. On SQLite, where ids commit in order, the cursor is the
 * event id alone, written as a number in a string.
 */
import { ApiError, say } from './errors.js';

export interface FeedPosition {
  /** Transaction id (xid8) as a decimal string; '0' before every transaction. */
  tx: string;
  /** Last event id returned within that transaction (or overall on SQLite). */
  id: number;
  /** Events with an id at or below this are skipped (an upgraded numeric cursor); 0: none. */
  floor: number;
}

export const FEED_START: FeedPosition = { tx: '0', id: 0, floor: 0 };

/** Decimal digits that fit a bigint: 1–19 digits, no sign, no leading zeros but "0". */
const DECIMAL = /^(0|[1-9][0-9]{0,18})$/;
/** xid8 is an unsigned 64-bit integer: at most 20 digits. */
const XID = /^(0|[1-9][0-9]{0,19})$/;
const MAX_ID = Number.MAX_SAFE_INTEGER;

export function parseFeedCursor(raw: string | undefined, field = 'after'): FeedPosition {
  if (raw === undefined || raw === '') return FEED_START;
  if (raw.length > 80) throw bad(field);
  if (DECIMAL.test(raw)) {
    const id = Number(raw);
    if (id > MAX_ID) throw bad(field);
    return { tx: '0', id: 0, floor: id };
  }
  if (!raw.startsWith('c')) throw bad(field);
  const parts = raw.slice(1).split('_');
  if (parts.length < 2 || parts.length > 3) throw bad(field);
  const [tx, id, floor = '0'] = parts as [string, string, string?];
  if (!XID.test(tx) || !DECIMAL.test(id) || !DECIMAL.test(floor)) throw bad(field);
  if (BigInt(tx) >= 2n ** 64n || Number(id) > MAX_ID || Number(floor) > MAX_ID) throw bad(field);
  return { tx, id: Number(id), floor: Number(floor) };
}

/** The cursor string for a position. `numeric`: the SQLite form (the event id). */
export function formatFeedCursor(p: FeedPosition, numeric: boolean): string {
  if (numeric) return String(Math.max(p.id, p.floor));
  return p.floor > 0 ? `c${p.tx}_${p.id}_${p.floor}` : `c${p.tx}_${p.id}`;
}

function bad(field: string): ApiError {
  return new ApiError('invalid_cursor', say('api.feedCursor'), field);
}
