/** Time-ordered ids (UUIDv7): inserts stay append-only in the B-tree and ids sort by creation. */
import { v7 } from 'uuid';

export function newId(): string {
  return v7();
}

let month = { key: '', from: 0, until: -1 };

/**
 * "YYYY-MM" in UTC: the key of the per-channel monthly counters. The last month is kept with its
 * bounds: the dispatcher asks once per routing snapshot, i.e. per message and channel, and a
 * Date with toISOString each time was 0.37 of 30 busy seconds in a `--cpu-prof` of
 * `DRAIN_N=20000 npm run bench:drain`.
 */
export function monthOf(ms: number): string {
  if (ms >= month.from && ms < month.until) return month.key;
  const d = new Date(ms);
  const from = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  const until = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  if (!Number.isFinite(from)) return d.toISOString().slice(0, 7);
  month = { key: d.toISOString().slice(0, 7), from, until };
  return month.key;
}
