/** Recipients from pasted text or an uploaded CSV/TXT: the first phone-like cell of each line. */
import { localToUtc } from '../../src/core/time.js';

const PHONE = /^\+?[\d\s().-]{5,20}$/;

export function parseRecipients(text: string): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const line of text.split(/\r?\n/)) {
    // A line holds one number (CSV/TXT) or several separated by commas, semicolons or tabs.
    const cells = line.split(/[,;\t]/).map((c) =>
      c
        .trim()
        .replace(/^"(.*)"$/, '$1')
        .trim(),
    );
    const phones = cells.filter((c) => PHONE.test(c) && /\d{5}/.test(c.replace(/\D/g, '')));
    const picked = phones.length > 1 && cells.length === phones.length ? phones : phones.slice(0, 1);
    for (const p of picked) {
      if (!seen.has(p)) {
        seen.add(p);
        out.push(p);
      }
    }
    // A lone cell with digits that is not phone-like goes to the server, which says why it is not
    // a number; lines without digits (CSV headers, names) are skipped.
    if (phones.length === 0 && cells.length === 1 && cells[0] && /\d/.test(cells[0])) {
      if (!seen.has(cells[0])) {
        seen.add(cells[0]);
        out.push(cells[0]); // let the server explain why it is not a number
      }
    }
  }
  return out;
}

/** The UTC instant of a wall-clock date and time in an IANA time zone. */
export function zonedToUtc(date: string, time: string, tz: string): Date {
  const [y, mo, d] = date.split('-').map(Number);
  const [h, mi] = time.split(':').map(Number);
  return new Date(localToUtc(Date.UTC(y ?? 1970, (mo ?? 1) - 1, d ?? 1, h ?? 0, mi ?? 0), tz));
}
