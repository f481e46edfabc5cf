/** Time-zone arithmetic without a library: Intl knows every IANA zone's offset. No I/O; one formatter is kept per zone. */

// Building a formatter costs far more than using one; a range's offsets use one per zone.
const formatters = new Map<string, Intl.DateTimeFormat | null>();
function formatterFor(tz: string): Intl.DateTimeFormat | undefined {
  let f = formatters.get(tz);
  if (f === undefined) {
    try {
      f = new Intl.DateTimeFormat('en-US', { timeZone: tz, timeZoneName: 'longOffset' });
    } catch {
      f = null; // unknown zone
    }
    if (formatters.size < 1000) formatters.set(tz, f);
  }
  return f ?? undefined;
}

/**
 * The zone's offset from UTC at an instant, in ms (positive east of Greenwich); undefined for a
 * name Intl does not know.
 */
export function zoneOffsetMs(tz: string, at: number): number | undefined {
  const format = formatterFor(tz);
  const name = format?.formatToParts(at).find((p) => p.type === 'timeZoneName')?.value;
  if (!format) return undefined;
  const m = /GMT([+-])(\d{2}):(\d{2})/.exec(name ?? '');
  if (!m) return 0; // "GMT" alone: UTC
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) * 60_000;
}

/** Where a zone's offset holds: from `from` (UTC ms) until the next segment starts. */
export interface OffsetSegment {
  from: number;
  offsetMs: number;
}

/**
 * The zone's offsets over [since, until): the one at `since`, then one segment per change
 * (daylight saving time). Days are sampled, and a change is pinned to the millisecond by bisection
 * (27 steps; a zone changes a couple of times a year).
 */
export function offsetSegments(tz: string, since: number, until: number): OffsetSegment[] | undefined {
  const first = zoneOffsetMs(tz, since);
  if (first === undefined) return undefined;
  const out: OffsetSegment[] = [{ from: since, offsetMs: first }];
  const DAY = 86_400_000;
  for (let t = since; t < until; t += DAY) {
    const a = (out[out.length - 1] as OffsetSegment).offsetMs;
    const next = Math.min(t + DAY, until);
    if (zoneOffsetMs(tz, next) === a) continue;
    let lo = t;
    let hi = next;
    while (hi - lo > 1) {
      const mid = lo + Math.floor((hi - lo) / 2);
      if (zoneOffsetMs(tz, mid) === a) lo = mid;
      else hi = mid;
    }
    out.push({ from: hi, offsetMs: zoneOffsetMs(tz, hi) as number });
  }
  return out;
}

/** The UTC instant of a wall-clock time (given as if it were UTC ms) in a zone. */
export function localToUtc(localMs: number, tz: string): number {
  let t = localMs;
  // Two passes settle the offset even next to a change.
  for (let i = 0; i < 2; i++) t = localMs - (zoneOffsetMs(tz, t) ?? 0);
  return t;
}
