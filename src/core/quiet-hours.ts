/**
 * Quiet hours (pure): a daily window in the recipient's time zone ("21:00"–"09:00") during
 * which marketing messages wait. The zone comes from the number's country: ICU's region data
 * (`Intl.Locale#timeZones`, CLDR) lists each country's zones; a country with one zone is easy,
 * one with several takes its most populous zone from PRIMARY_ZONE (else the first CLDR lists),
 * and a contact's or request's zone overrides it. Offsets, DST included, come from ICU too
 * (`Intl.DateTimeFormat` with `timeZone`), so there is no zone database to ship or keep current.
 */
import { parsePhoneNumberFromString } from 'libphonenumber-js';

export interface QuietWindow {
  /** A template category, or `*` for every message (plain text too). */
  category: string;
  /** "HH:MM", 24 h, local time of the recipient. */
  start: string;
  end: string;
}

/** Multi-zone countries: the zone most of their people live in (CLDR lists zones alphabetically). */
const PRIMARY_ZONE: Readonly<Record<string, string>> = {
  US: 'America/New_York',
  CA: 'America/Toronto',
  MX: 'America/Mexico_City',
  BR: 'America/Sao_Paulo',
  AR: 'America/Argentina/Buenos_Aires',
  CL: 'America/Santiago',
  RU: 'Europe/Moscow',
  UA: 'Europe/Kyiv',
  KZ: 'Asia/Almaty',
  CN: 'Asia/Shanghai',
  ID: 'Asia/Jakarta',
  AU: 'Australia/Sydney',
  NZ: 'Pacific/Auckland',
  ES: 'Europe/Madrid',
  PT: 'Europe/Lisbon',
  DE: 'Europe/Berlin',
  FR: 'Europe/Paris',
  GB: 'Europe/London',
  CD: 'Africa/Kinshasa',
  MN: 'Asia/Ulaanbaatar',
  MY: 'Asia/Kuala_Lumpur',
  EC: 'America/Guayaquil',
  UZ: 'Asia/Tashkent',
};

const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;

export function isTime(s: string): boolean {
  return HHMM.test(s);
}

/** True when the runtime knows the IANA zone. */
export function isZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/**
 * Zones by the number's first digits. Parsing a number costs 25–50 µs (libphonenumber-js, on the
 * shared 2-core box), which for 1,000 recipients doubled an accepting transaction; the country
 * is decided by the calling code and at most the next 4 digits (NANP area codes; +44 7781
 * Guernsey, +7 7 Kazakhstan), so 7 digits name it. Bounded: cleared at 50,000 prefixes.
 */
const zoneByPrefix = new Map<string, string | undefined>();
const PREFIX_CHARS = 8;

/** The recipient's zone from its number's country; undefined when the country is unknown. */
export function zoneForNumber(e164: string): string | undefined {
  const prefix = e164.slice(0, PREFIX_CHARS);
  if (zoneByPrefix.has(prefix)) return zoneByPrefix.get(prefix);
  const zone = parseZone(e164);
  if (zoneByPrefix.size >= 50_000) zoneByPrefix.clear();
  zoneByPrefix.set(prefix, zone);
  return zone;
}

function parseZone(e164: string): string | undefined {
  const country = parsePhoneNumberFromString(e164)?.country;
  if (!country) return undefined;
  if (PRIMARY_ZONE[country]) return PRIMARY_ZONE[country];
  const locale = new Intl.Locale(`und-${country}`) as Intl.Locale & {
    timeZones?: string[];
    getTimeZones?: () => string[];
  };
  return (locale.getTimeZones?.() ?? locale.timeZones)?.[0];
}

const formats = new Map<string, Intl.DateTimeFormat>();

function wall(ms: number, zone: string): { y: number; mo: number; d: number; h: number; mi: number } {
  let f = formats.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    if (formats.size > 500) formats.clear();
    formats.set(zone, f);
  }
  const p: Record<string, number> = {};
  for (const part of f.formatToParts(ms)) if (part.type !== 'literal') p[part.type] = Number(part.value);
  return { y: p.year!, mo: p.month!, d: p.day!, h: p.hour!, mi: p.minute! };
}

/** The zone's offset from UTC at an instant, in ms (whole minutes). */
function offsetAt(ms: number, zone: string): number {
  const w = wall(ms, zone);
  const asUtc = Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi);
  return asUtc - (ms - (((ms % 60_000) + 60_000) % 60_000));
}

/** The instant a local wall-clock time happens in the zone (a time skipped by DST lands an hour on). */
function instantOf(y: number, mo: number, d: number, h: number, mi: number, zone: string): number {
  const asUtc = Date.UTC(y, mo - 1, d, h, mi);
  const first = asUtc - offsetAt(asUtc, zone);
  return asUtc - offsetAt(first, zone);
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
  const w = wall(now, zone);
  const t = w.h * 60 + w.mi;
  const overnight = start > end;
  const inside = overnight ? t >= start || t < end : t >= start && t < end;
  if (!inside) return undefined;
  // The end is today, except in the evening part of a window that spans midnight.
  const day =
    overnight && t >= start
      ? new Date(Date.UTC(w.y, w.mo - 1, w.d + 1))
      : new Date(Date.UTC(w.y, w.mo - 1, w.d));
  const until = instantOf(
    day.getUTCFullYear(),
    day.getUTCMonth() + 1,
    day.getUTCDate(),
    Math.floor(end / 60),
    end % 60,
    zone,
  );
  return until > now ? until : undefined;
}

/** The first window that applies to a message of this category (`*` applies to all). */
export function windowFor(
  windows: readonly QuietWindow[],
  category: string | undefined,
): QuietWindow | undefined {
  return windows.find((w) => w.category === '*' || (category !== undefined && w.category === category));
}
