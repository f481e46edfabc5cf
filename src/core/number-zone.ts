/**
 * The time zone a recipient most likely lives in, from the number's country — the one place
 * quiet hours (policy/quiet-hours.ts) and campaign send windows (services/campaign-runner.ts)
 * ask. ICU's region data (`Intl.Locale#timeZones`, CLDR) lists each country's zones, so there is
 * no zone table to ship; a country with several takes its most populous zone from PRIMARY_ZONE
 * (else the first CLDR lists). A contact's own zone, when known, overrides this at the caller.
 */
import { parsePhoneNumberFromString } from 'libphonenumber-js';

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
