/**
 * SMPP 3.4 time formats (§7.1.1) of schedule_delivery_time and validity_period. Pure.
 *
 * - absolute: `YYMMDDhhmmsstnnp` — local time of the sender, `t` tenths of a second, `nn` the
 *   offset from UTC in quarter hours (00–48) and `p` `+` (local time ahead of UTC) or `-`;
 * - relative: `YYMMDDhhmmss000R` — years, months, days … to add to the SMSC's current time;
 * - empty: not given (the default applies).
 *
 * Anything else is refused, so a client learns of a bad field instead of its message going out
 * at an unexpected time.
 */

export type SmppTime = { kind: 'none' } | { kind: 'absolute' | 'relative'; at: number };

const FORMAT = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d)(\d{2})([+\-R])$/;

/**
 * Parses an SMPP time relative to `now` (epoch ms). Returns undefined when the string is not a
 * valid SMPP time: wrong length or characters, a month 13, 31 February, an offset beyond 48
 * quarter hours, a relative time with tenths or offset digits.
 */
export function parseSmppTime(value: string, now: number): SmppTime | undefined {
  if (value === '') return { kind: 'none' };
  const m = FORMAT.exec(value);
  if (!m) return undefined;
  const [yy, mo, dd, hh, mi, ss, t, nn] = m.slice(1, 9).map(Number) as number[];
  const p = m[9];
  if (p === 'R') {
    // SMPP 3.4 §7.1.1.2: the tenths and offset digits of a relative time are "000".
    if (t !== 0 || nn !== 0) return undefined;
    if ((hh as number) > 23 || (mi as number) > 59 || (ss as number) > 59) return undefined;
    if ((mo as number) > 11 || (dd as number) > 30) return undefined;
    const d = new Date(now);
    const at = Date.UTC(
      d.getUTCFullYear() + (yy as number),
      d.getUTCMonth() + (mo as number),
      d.getUTCDate() + (dd as number),
      d.getUTCHours() + (hh as number),
      d.getUTCMinutes() + (mi as number),
      d.getUTCSeconds() + (ss as number),
      d.getUTCMilliseconds(),
    );
    return { kind: 'relative', at };
  }
  if ((mo as number) < 1 || (mo as number) > 12 || (dd as number) < 1) return undefined;
  if ((hh as number) > 23 || (mi as number) > 59 || (ss as number) > 59 || (nn as number) > 48)
    return undefined;
  const year = 2000 + (yy as number);
  // Day 31 of a 30-day month rolls over in Date.UTC: compare to the month's last day instead.
  const lastDay = new Date(Date.UTC(year, mo as number, 0)).getUTCDate();
  if ((dd as number) > lastDay) return undefined;
  const local = Date.UTC(year, (mo as number) - 1, dd as number, hh, mi, ss, (t as number) * 100);
  const offset = (nn as number) * 15 * 60_000;
  return { kind: 'absolute', at: p === '+' ? local - offset : local + offset };
}

/** An epoch time in the absolute format, in UTC (`…000+`), as query_sm and receipts give it. */
export function formatSmppTime(ms: number): string {
  return `${new Date(ms).toISOString().replace(/[-T:]/g, '').slice(2, 14)}000+`;
}
