/**
 * An SMTP recipient `<number>@<domain>` as an SMS recipient: the domain must be one the
 * gateway serves (SMSGW_SMTP_DOMAINS; any when none is listed), the local part a phone number
 * (normalized to E.164 as on every face). The refusal says why, for the RCPT reply. Pure.
 */
import type { CountryCode } from 'libphonenumber-js';
import { normalizeNumber } from '../../core/phone.js';

export type RecipientResult = { ok: true; e164: string } | { ok: false; code: number; message: string };

export function parseRecipient(
  address: string,
  domains: readonly string[],
  region?: CountryCode,
): RecipientResult {
  const at = address.lastIndexOf('@');
  if (at < 1) {
    return { ok: false, code: 550, message: `<${address}>: write the recipient as <number>@<domain>` };
  }
  const local = address.slice(0, at);
  const domain = address
    .slice(at + 1)
    .toLowerCase()
    .replace(/\.$/, '');
  if (domains.length > 0 && !domains.includes(domain)) {
    // No open relay: mail for other domains is not ours to take.
    return { ok: false, code: 550, message: `<${address}>: relay denied, ${domain} is not served here` };
  }
  const n = normalizeNumber(local, region);
  if (!n.ok) return { ok: false, code: 550, message: `<${address}>: ${n.reason}` };
  return { ok: true, e164: n.e164 };
}
