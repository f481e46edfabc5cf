/** Guesses a CSV file's field delimiter and whether its first line is a header. Pure. */

const CANDIDATES = [',', ';', '\t', '|'] as const;

/** Occurrences of `ch` in `line` outside double quotes. */
function countOutsideQuotes(line: string, ch: string): number {
  let n = 0;
  let quoted = false;
  for (const c of line) {
    if (c === '"') quoted = !quoted;
    else if (c === ch && !quoted) n++;
  }
  return n;
}

/**
 * The candidate found on every one of the first lines, the same number of times on most of
 * them (ties: the most frequent). A file of bare numbers has none: then ',' (one column).
 */
export function sniffDelimiter(sample: string): string {
  const lines = sample
    .split(/\r\n|\n|\r/)
    .slice(0, 20)
    .filter((l) => l.trim() !== '');
  // The last line of a sample may be cut in the middle.
  if (lines.length > 2) lines.pop();
  let best: { ch: string; score: number } | undefined;
  for (const ch of CANDIDATES) {
    const counts = lines.map((l) => countOutsideQuotes(l, ch));
    if (counts.length === 0 || counts.some((c) => c === 0)) continue;
    const first = counts[0] as number;
    const same = counts.filter((c) => c === first).length / counts.length;
    const score = same * 1000 + first;
    if (!best || score > best.score) best = { ch, score };
  }
  return best?.ch ?? ',';
}

/** Column names we recognise, lower case, for each contact attribute. */
export const HEADER_NAMES: Readonly<Record<string, 'number' | 'name' | 'language' | 'time_zone' | 'tags'>> = {
  number: 'number',
  phone: 'number',
  'phone number': 'number',
  phone_number: 'number',
  mobile: 'number',
  msisdn: 'number',
  tel: 'number',
  telephone: 'number',
  cell: 'number',
  to: 'number',
  numero: 'number',
  telefono: 'number',
  cellulare: 'number',
  name: 'name',
  'full name': 'name',
  nome: 'name',
  language: 'language',
  lang: 'language',
  lingua: 'language',
  time_zone: 'time_zone',
  timezone: 'time_zone',
  'time zone': 'time_zone',
  tz: 'time_zone',
  tags: 'tags',
  tag: 'tags',
};

/** A first line is a header when its first cell is not mostly digits (a phone number). */
export function looksLikeHeader(cells: readonly string[]): boolean {
  const known = cells.some((c) => HEADER_NAMES[c.trim().toLowerCase()] !== undefined);
  if (known) return true;
  const first = (cells[0] ?? '').trim();
  return !/^[+\d\s().-]{3,}$/.test(first);
}
