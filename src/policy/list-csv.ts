/**
 * Blacklists and whitelists as CSV, for the API and the CLI: `number,reason[,…]` in (a header
 * line is optional, numbers are normalized to E.164, duplicates and bad lines are reported), and
 * `number,reason,source,created_at` out.
 */
import type { CountryCode } from 'libphonenumber-js';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { ApiError, say } from '../core/errors.js';
import { normalizeNumber } from '../core/phone.js';
import type { ListEntry, NewListEntry } from '../store/policy.js';

export interface ParsedList {
  entries: NewListEntry[];
  invalidCount: number;
  /** The first 100 bad lines. */
  invalid: { line: number; value: string; reason: string }[];
}

export function parseListCsv(text: string, region?: CountryCode): ParsedList {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, {
      relax_column_count: true,
      skip_empty_lines: true,
      trim: true,
      bom: true,
      info: true,
    }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (err) {
    throw new ApiError(
      'validation_failed',
      say('api.policy.csvInvalid', { detail: (err as Error).message }),
      'body',
    );
  }
  if (records[0]?.record[0]?.toLowerCase() === 'number') records.shift();
  const entries = new Map<string, NewListEntry>();
  const invalid: ParsedList['invalid'] = [];
  let invalidCount = 0;
  for (const { record, info } of records) {
    const raw = record[0] ?? '';
    const n = normalizeNumber(raw, region);
    if (!n.ok) {
      invalidCount++;
      if (invalid.length < 100) invalid.push({ line: info.lines, value: raw.slice(0, 32), reason: n.reason });
      continue;
    }
    if (!entries.has(n.e164))
      entries.set(n.e164, { number: n.e164, reason: record[1]?.slice(0, 200) || null });
  }
  return { entries: [...entries.values()], invalidCount, invalid };
}

export const LIST_CSV_HEADER = stringify([['number', 'reason', 'source', 'created_at']]);

export function listCsvRows(rows: readonly ListEntry[]): string {
  return stringify(
    rows.map((e) => [e.number, e.reason ?? '', e.source, new Date(Number(e.created_at)).toISOString()]),
  );
}
