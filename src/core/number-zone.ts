/**
 * The time zone a recipient most likely lives in, from the number's country (libphonenumber)
 * and the country's zones (countries-and-timezones). A country with several zones (US, RU, BR)
 * gets its first listed zone unless the caller knows better (the contact's own time zone).
 */
import { getCountry } from 'countries-and-timezones';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

const cache = new Map<string, string | null>();

export function zoneOfNumber(e164: string): string | undefined {
  const country = parsePhoneNumberFromString(e164)?.country;
  if (!country) return undefined;
  let zone = cache.get(country);
  if (zone === undefined) {
    zone = getCountry(country)?.timezones[0] ?? null;
    cache.set(country, zone);
  }
  return zone ?? undefined;
}
