/**
 * Search that works in every script. Text is folded the same way on both sides of a comparison:
 * the query here, the stored column by `smsgw_fold()` in the database (a JavaScript function
 * registered on the SQLite connection, an SQL function over ICU `lower()` on PostgreSQL — see
 * migration 021 and store/db.ts). SQLite's own `lower()` folds ASCII only: `Привет` found
 * nothing while `ривет` found 6 messages.
 *
 * Folding: Unicode lower case (Cyrillic, Greek, CJK are unaffected by case anyway), then
 * Turkish dotted capital I (`İ` lowers to `i` + U+0307) and dotless `ı` both to `i`, and Greek
 * final sigma to `σ`, so `İstanbul`, `ISTANBUL` and `istanbul` find each other.
 */
import type { CountryCode } from 'libphonenumber-js';
import { normalizeNumber } from './phone.js';

export function foldText(s: string): string {
  return s
    .normalize('NFC')
    .toLowerCase()
    .replace(/\u0307/g, '')
    .replaceAll('ı', 'i') // strings, not regex literals: see core/keywords.ts TRAILING_PUNCTUATION
    .replaceAll('ς', 'σ');
}

/** A LIKE pattern for "contains", with the user's `%`, `_` and `\` matching literally (ESCAPE '\'). */
export function containsPattern(folded: string): string {
  return `%${folded.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** Fewest digits a partial number search takes: fewer would match most of the history. */
export const MIN_PARTIAL_DIGITS = 3;

/** `exact`: an E.164 number; `digits`: a part of one; both: either matches. */
export interface NumberQuery {
  exact?: string;
  digits?: string;
}

/**
 * A number filter as people type it. With a `+` it is a whole number in any format
 * (`+7 900 123-45-67`), normalised like sending does and matched exactly (indexed). Without
 * one it matches numbers containing its digits (`555555`, `79001234567`), and also, when the
 * default region reads it as a national number (`89001234567` in RU), that number exactly.
 * Undefined when the query has too few digits to mean anything.
 */
export function numberQuery(raw: string, region?: CountryCode): NumberQuery | undefined {
  const input = raw.trim();
  if (input.startsWith('+')) {
    const n = normalizeNumber(input);
    if (n.ok) return { exact: n.e164 };
  }
  const digits = input.replace(/\D/g, '');
  if (digits.length < MIN_PARTIAL_DIGITS) return undefined;
  const national = region && !input.startsWith('+') ? normalizeNumber(input, region) : undefined;
  return national?.ok && !national.e164.endsWith(digits) ? { digits, exact: national.e164 } : { digits };
}
