/**
 * Streaming contact import: bytes in (a request body or a file), contacts out in chunks of
 * CHUNK rows, each chunk its own transaction, every refused row (line, reason, raw text) stored
 * for the report. Memory is bounded by one chunk and the parser's buffer, whatever the file's
 * size: csv-parse is a Transform stream and the `for await` below pulls a record only when the
 * previous chunk is written (backpressure down to the socket).
 */
import { Readable, Transform, pipeline } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { Parser } from 'csv-parse';
import type { CountryCode } from 'libphonenumber-js';
import { HEADER_NAMES, looksLikeHeader, sniffDelimiter } from '../core/csv-sniff.js';
import { isTimeZone } from '../core/campaign.js';
import { ApiError, say } from '../core/errors.js';
import { NumberNormalizer } from '../core/phone-cache.js';
import type { ContactBook, ContactInput, RefusedRow } from '../store/contacts.js';

/** Rows per transaction: 2,000 upserts took ~15 ms on SQLite, short enough not to stall sends. */
const CHUNK = 2_000;
/** Bytes looked at to guess the delimiter and header. */
const SNIFF_BYTES = 64 * 1024;
/** A refused row's text kept in the report, at most. */
const RAW_MAX = 300;
/** Custom-field columns kept per contact, and characters per value. */
const MAX_FIELDS = 50;
const MAX_VALUE = 1_000;

export type Target = 'number' | 'name' | 'language' | 'time_zone' | 'tags' | 'field' | 'ignore';

export interface ImportOptions {
  ownerId: string;
  /** Contacts imported are added to this group (created if needed). */
  groupName?: string | undefined;
  /** Header (lower case) → target; columns not named here are mapped by HEADER_NAMES, else fields. */
  mapping?: Readonly<Record<string, Target>> | undefined;
  delimiter?: string | undefined;
  /** true/false: the first line is / is not a header; undefined: guess. */
  header?: boolean | undefined;
  defaultRegion?: CountryCode | undefined;
  /** Largest body read; more is refused (the rows before it stay imported). */
  maxBytes: number;
}

export interface ImportReport {
  id: string;
  status: 'done' | 'failed';
  group_id: string | null;
  rows_total: number;
  rows_imported: number;
  rows_refused: number;
  error?: string | undefined;
}

interface Column {
  index: number;
  target: Target;
  name: string;
}

export class ContactImporter {
  constructor(private readonly book: ContactBook) {}

  async run(source: Readable, opts: ImportOptions): Promise<ImportReport> {
    const group = opts.groupName ? await this.book.createGroup(opts.ownerId, opts.groupName) : undefined;
    const id = await this.book.startImport(opts.ownerId, group?.id ?? null);
    let total = 0;
    let imported = 0;
    let refusedTotal = 0;
    let refused: RefusedRow[] = [];
    let batch: ContactInput[] = [];
    const flush = async () => {
      const progress = () => ({ total, imported: imported + batch.length, refused, refusedTotal });
      // The chunk and the import's progress (its refused rows) commit together: one fsync.
      if (batch.length > 0)
        await this.book.upsertMany(opts.ownerId, batch, group?.id, (trx) =>
          this.book.importProgress(id, progress(), trx),
        );
      else await this.book.importProgress(id, progress());
      imported += batch.length;
      batch = [];
      refused = [];
    };
    try {
      const { sample, stream } = await peek(source.pipe(byteLimit(opts.maxBytes)), SNIFF_BYTES);
      const delimiter = opts.delimiter ?? sniffDelimiter(sample);
      const parser = new LineParser({
        delimiter,
        bom: true,
        relax_column_count: true,
        skip_empty_lines: true,
        skip_records_with_error: true,
        trim: true,
        on_skip: (err, raw) => {
          total++;
          refusedTotal++;
          const line = Number((err as { lines?: number } | undefined)?.lines ?? 0);
          refused.push({
            line,
            reason: `Not valid CSV: ${err?.message ?? 'unreadable'}`,
            raw: clip(raw ?? ''),
          });
          return undefined;
        },
      });
      // pipeline, not pipe: an error before the parser (the size limit) must reach the loop below;
      // with pipe it was an unhandled 'error' event that ended the process.
      pipeline(stream, parser, () => undefined);
      let columns: Column[] | undefined;
      const numbers = new NumberNormalizer(opts.defaultRegion);
      for await (const [cells, line] of parser as AsyncIterable<[string[], number]>) {
        if (!columns) {
          const header = opts.header ?? looksLikeHeader(cells);
          columns = header
            ? mapHeader(cells, opts.mapping)
            : [{ index: 0, target: 'number', name: 'number' }];
          if (!columns.some((c) => c.target === 'number')) {
            throw new ApiError(
              'validation_failed',
              say('api.contacts.noNumberColumn', { header: cells.join(delimiter).slice(0, 200) }),
              'mapping',
            );
          }
          if (header) continue;
        }
        total++;
        const row = toContact(cells, columns, numbers);
        if ('reason' in row) {
          refusedTotal++;
          refused.push({ line, reason: row.reason, raw: clip(cells.join(delimiter)) });
        } else {
          batch.push(row);
        }
        if (batch.length >= CHUNK || refused.length >= CHUNK) await flush();
      }
      await flush();
      await this.book.finishImport(id);
      return {
        id,
        status: 'done',
        group_id: group?.id ?? null,
        rows_total: total,
        rows_imported: imported,
        rows_refused: refusedTotal,
      };
    } catch (err) {
      // What was read so far stays imported and reported; the import says why it stopped.
      await flush().catch(() => undefined);
      const message = err instanceof Error ? err.message : String(err);
      await this.book.finishImport(id, message);
      if (err instanceof ApiError) throw Object.assign(err, { importId: id });
      return {
        id,
        status: 'failed',
        group_id: group?.id ?? null,
        rows_total: total,
        rows_imported: imported,
        rows_refused: refusedTotal,
        error: message,
      };
    }
  }
}

/**
 * csv-parse giving each record with the line it ends on, as `[cells, line]`. Its own `info`
 * option builds a 13-property object per record (two object spreads of its state); with them a
 * 1M-row import's V8 heap reached 184–208 MB before a full collection and the gateway's RSS
 * peaked at 317–452 MB, without them 91–123 MB and 228–316 MB (the more rows a second, the
 * more: 22–37k rows/s gave 228–232 MB, 69–75k rows/s 300–316 MB; compiled gateway,
 * `BENCH_CAMPAIGN_IMPORT_ONLY=1 npm run bench:campaign`). `this.info.lines` at the push is what
 * `info.lines` said.
 */
class LineParser extends Parser {
  override push(chunk: unknown, encoding?: BufferEncoding): boolean {
    return super.push(chunk === null ? null : [chunk, this.info.lines], encoding);
  }
}

function clip(s: string): string {
  const t = s.replace(/\r?\n$/, '');
  return t.length > RAW_MAX ? `${t.slice(0, RAW_MAX)}…` : t;
}

function mapHeader(cells: readonly string[], mapping?: Readonly<Record<string, Target>>): Column[] {
  const out: Column[] = [];
  let fields = 0;
  let numberSeen = false;
  cells.forEach((cell, index) => {
    const name = cell.trim();
    const key = name.toLowerCase();
    let target: Target = mapping?.[key] ?? HEADER_NAMES[key] ?? 'field';
    if (target === 'number') {
      if (numberSeen) target = 'field';
      numberSeen = true;
    }
    if (target === 'field' && (name === '' || ++fields > MAX_FIELDS)) target = 'ignore';
    out.push({ index, target, name });
  });
  return out;
}

function toContact(
  cells: readonly string[],
  columns: readonly Column[],
  numbers: NumberNormalizer,
): ContactInput | { reason: string } {
  const c: ContactInput = { number: '' };
  let fields: Record<string, string> | undefined;
  for (const col of columns) {
    const v = cells[col.index];
    if (v === undefined || v === '') continue;
    if (v.length > MAX_VALUE)
      return { reason: `The value of "${col.name}" is longer than ${MAX_VALUE} characters.` };
    switch (col.target) {
      case 'number': {
        const n = numbers.normalize(v);
        if (!n.ok) return { reason: n.reason };
        c.number = n.e164;
        break;
      }
      case 'name':
        c.name = v;
        break;
      case 'language':
        if (!/^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$/.test(v))
          return { reason: `"${v}" is not a language tag (e.g. it, en-GB).` };
        c.language = v;
        break;
      case 'time_zone':
        if (!isTimeZone(v)) return { reason: `"${v}" is not a time zone (e.g. Europe/Rome).` };
        c.timeZone = v;
        break;
      case 'tags':
        c.tags = [
          ...new Set(
            v
              .split(/[|;,]/)
              .map((t) => t.trim())
              .filter(Boolean),
          ),
        ].sort();
        break;
      case 'field':
        (fields ??= {})[col.name] = v;
        break;
      case 'ignore':
        break;
    }
  }
  if (c.number === '') return { reason: 'The row has no phone number.' };
  if (fields) c.fields = fields;
  return c;
}

/** Fails the stream once more than `max` bytes went through. */
function byteLimit(max: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      seen += chunk.length;
      if (seen > max) {
        cb(new ApiError('payload_too_large', say('api.contacts.importTooLarge', { max })));
        return;
      }
      cb(null, chunk);
    },
  });
}

/** Reads the first `bytes` (or all, if shorter) without losing them for the consumer. */
async function peek(source: Readable, bytes: number): Promise<{ sample: string; stream: Readable }> {
  const head: Buffer[] = [];
  let size = 0;
  const it = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let done = false;
  while (size < bytes) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    const b = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    head.push(b);
    size += b.length;
  }
  async function* all(): AsyncGenerator<Buffer> {
    yield* head;
    if (done) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  }
  return {
    sample: Buffer.concat(head)
      .toString('utf8')
      .replace(/^\uFEFF/, ''),
    stream: Readable.from(all(), { objectMode: false }),
  };
}
