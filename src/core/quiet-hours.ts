/**
 * Quiet hours (pure): a daily window in the recipient's time zone ("21:00"–"09:00") during
 * which marketing messages wait. The zone comes from the number's country (core/number-zone.ts)
 * unless a contact's or request's zone overrides it. Offsets, DST included, come from ICU
 * (core/time.ts), so there is no zone database to ship or keep current.
 */
import { localToUtc, zoneOffsetMs } from './time.js';

export interface QuietWindow {
  /** A template category, or `*` for every message (plain text too). */
  category: string;
  /** "HH:MM", 24 h, local time of the recipient. */
  start: string;
  end: string;
}

const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;

export function isTime(s: string): boolean {
  return HHMM.test(s);
}

/** True when the runtime knows the IANA zone. */
export function isZone(zone: string): boolean {
  return zoneOffsetMs(zone, 0) !== undefined;
}

const minutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/**
 * When `now` falls in the window in `zone`, the instant the window ends (ms); otherwise
 * undefined. A window whose start is after its end spans midnight.
 */
export function quietUntil(
  now: number,
  window: { start: string; end: string },
  zone: string,
): number | undefined {
  const start = minutes(window.start);
  const end = minutes(window.end);
  if (start === end) return undefined;
  // The wall clock in the zone, as if it were UTC (core/time.ts: offsets from Intl).
  const local = new Date(now + (zoneOffsetMs(zone, now) ?? 0));
  const t = local.getUTCHours() * 60 + local.getUTCMinutes();
  const overnight = start > end;
  const inside = overnight ? t >= start || t < end : t >= start && t < end;
  if (!inside) return undefined;
  // The end is today, except in the evening part of a window that spans midnight.
  const day = Date.UTC(
    local.getUTCFullYear(),
    local.getUTCMonth(),
    local.getUTCDate() + (overnight && t >= start ? 1 : 0),
  );
  const until = localToUtc(day + end * 60_000, zone);
  return until > now ? until : undefined;
}

/** The first window that applies to a message of this category (`*` applies to all). */
export function windowFor(
  windows: readonly QuietWindow[],
  category: string | undefined,
): QuietWindow | undefined {
  return windows.find((w) => w.category === '*' || (category !== undefined && w.category === category));
}
