/**
 * Quiet hours (pure): a daily window in the recipient's time zone ("21:00"–"09:00") during
 * which marketing messages wait. The zone comes from the number's country: ICU's region data
 * (`Intl.Locale#timeZones`, CLDR) lists each country's zones; a country with one zone is easy,
 * one with several takes its most populous zone from PRIMARY_ZONE (else the first CLDR lists),
 * and a contact's or request's zone overrides it. Offsets, DST included, come from ICU too
 * (core/time.ts), so there is no zone database to ship or keep current.
 */
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import { localToUtc, zoneOffsetMs } from './time.js';

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
  return zoneOffsetMs(zone, 0) !== undefined;
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
