/**
 * Recipient numbers: parsed and normalized to E.164 with libphonenumber-js. Pure. Its default
 * ("min") metadata, the set core/number-zone.ts and config.ts load too: a possible length is all
 * we ask, which it answers as "max" does, and one set loaded instead of two is ~5 MB less RSS.
 */
import type { CountryCode } from 'libphonenumber-js';
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import type { Sentence } from '../i18n/index.js';

/**
 * Why a number was refused: `reason` in English, `why` the same sentence as a catalogue key
 * (src/i18n/locales, `phone.*`) for answers in the client's language.
 */
export type NormalizeResult =
  | { ok: true; e164: string }
  | { ok: false; reason: string; why: { key: string; params?: Record<string, unknown> } };

const refused = (reason: string, key: string, params?: Record<string, unknown>): NormalizeResult => ({
  ok: false,
  reason,
  why: { key: `phone.${key}`, ...(params ? { params } : {}) },
});

/**
 * `+7 900 123-45-67`, `79001234567` (international digits without '+', as the seed sends them)
 * and national forms with a default region all become `+79001234567`. A number must be a
 * possible length for its country; numbering-plan validity is not required because test and
 * private ranges (+7000…) are legitimate targets for a self-hosted gateway.
 */
export function normalizeNumber(raw: string, defaultRegion?: CountryCode): NormalizeResult {
  const input = raw.trim();
  if (input === '') return refused('The number is empty.', 'empty');
  if (!/^[+\d\s().-]+$/.test(input))
    return refused('A phone number may contain only digits, +, spaces, dots, dashes and brackets.', 'chars');
  const digits = input.replace(/[^\d]/g, '');
  if (digits.length < 3 || digits.length > 15) return refused('A phone number has 3 to 15 digits.', 'digits');
  const candidates: string[] =
    input.startsWith('+') || input.startsWith('00') ? [`+${digits.replace(/^00/, '')}`] : [];
  if (candidates.length === 0) {
    if (defaultRegion) candidates.push(input);
    candidates.push(`+${digits}`);
  }
  for (const candidate of candidates) {
    const parsed = candidate.startsWith('+')
      ? parsePhoneNumberFromString(candidate)
      : parsePhoneNumberFromString(candidate, defaultRegion);
    if (parsed?.isPossible()) return { ok: true, e164: parsed.number };
  }
  return defaultRegion
    ? refused(`"${raw}" is not a possible phone number.`, 'impossible', { raw })
    : refused(
        `"${raw}" is not a possible phone number (write it with the country code).`,
        'impossibleNoRegion',
        {
          raw,
        },
      );
}

/**
 * Sender id: up to 15 digits (optionally with +) or up to 11 alphanumeric GSM characters; else
 * why not, as a catalogue sentence (`phone.sender`).
 */
export function validateSender(from: string): Sentence | undefined {
  if (/^\+?\d{1,15}$/.test(from)) return undefined;
  if (/^[A-Za-z0-9 .\-_&]{1,11}$/.test(from) && /[A-Za-z]/.test(from)) return undefined;
  return { key: 'phone.sender' };
}
