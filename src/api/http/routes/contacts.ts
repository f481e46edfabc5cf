/**
 * REST v1 address book: contacts (keyed by their E.164 number), groups, streaming CSV/TXT
 * import (raw body or multipart) with its refused-rows report, export as CSV with a UTF-8 BOM.
 * Every contact belongs to the user who created it; no one else sees it.
 */
import { Readable } from 'node:stream';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import multipart from '@fastify/multipart';
import { Type } from 'typebox';
import type { Static } from 'typebox';
import { Contact, CsvText, Group, ImportReport, ListOf, NoContent, Open } from '../schemas.js';
import type { CountryCode } from 'libphonenumber-js';
import { isTimeZone } from '../../../core/campaign.js';
import { ApiError, say } from '../../../core/errors.js';
import { normalizeNumber } from '../../../core/phone.js';
import type { Target } from '../../../services/contact-import.js';
import { ContactImporter } from '../../../services/contact-import.js';
import type { ContactRow } from '../../../store/contacts.js';
import type { Store } from '../../../store/index.js';
import { principalOf } from '../auth.js';
import { csvCell } from './reports.js';

export interface ContactRouteDeps {
  store: Store;
  defaultRegion?: CountryCode | undefined;
  /** Largest import body in bytes. */
  maxImportBytes?: number | undefined;
}

/** 1,000,000 rows of number, name and a few fields are ~60 MB; 256 MB leaves room for wide files. */
const DEFAULT_MAX_IMPORT_BYTES = 256 * 1024 * 1024;
const MAX_GROUPS = 1_000;
const EXPORT_PAGE = 2_000;
const TARGETS: readonly Target[] = ['number', 'name', 'language', 'time_zone', 'tags', 'field', 'ignore'];

const ContactBody = Type.Object({
  number: Type.String({ maxLength: 64 }),
  name: Type.Optional(Type.String({ maxLength: 200 })),
  language: Type.Optional(Type.String({ maxLength: 35, pattern: '^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$' })),
  time_zone: Type.Optional(Type.String({ maxLength: 64 })),
  fields: Type.Optional(
    Type.Record(Type.String({ maxLength: 64 }), Type.String({ maxLength: 1000 }), { maxProperties: 50 }),
  ),
  tags: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 50 })),
  group_ids: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 50 })),
});

const ListQuery = Type.Object({
  q: Type.Optional(Type.String({ maxLength: 100 })),
  group_id: Type.Optional(Type.String({ maxLength: 64 })),
  tag: Type.Optional(Type.String({ maxLength: 64 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  cursor: Type.Optional(Type.String({ maxLength: 64 })),
});

const ImportQuery = Type.Object({
  group: Type.Optional(
    Type.String({ maxLength: 100, description: 'Add the imported contacts to this group (created if new).' }),
  ),
  delimiter: Type.Optional(
    Type.String({ maxLength: 5, description: 'Field delimiter; guessed when absent (, ; tab |).' }),
  ),
  header: Type.Optional(
    Type.Boolean({ description: 'Whether the first line names the columns; guessed when absent.' }),
  ),
  map: Type.Optional(
    Type.String({
      maxLength: 2000,
      description: 'Header mapping, e.g. "telefono:number,nome:name,città:field,x:ignore".',
    }),
  ),
});

export function contactView(c: ContactRow, groupIds?: string[]): Static<typeof Contact> {
  return {
    number: c.number,
    name: c.name,
    language: c.language,
    time_zone: c.time_zone,
    fields: JSON.parse(c.fields || '{}') as Record<string, string>,
    tags: JSON.parse(c.tags || '[]') as string[],
    opted_out: c.opted_out_at !== null,
    opted_out_at: c.opted_out_at === null ? null : new Date(Number(c.opted_out_at)).toISOString(),
    created_at: c.created_at ? new Date(c.created_at).toISOString() : null,
    updated_at: new Date(c.updated_at).toISOString(),
    ...(groupIds ? { group_ids: groupIds.sort() } : {}),
  };
}

/** Views of contacts with the groups each is in. */
async function withGroups(book: Store['book'], ownerId: string, rows: ContactRow[]) {
  const groups = await book.memberships(
    ownerId,
    rows.map((r) => r.number),
  );
  return rows.map((r) => contactView(r, groups.get(r.number) ?? []));
}

function parseMap(s: string | undefined): Record<string, Target> | undefined {
  if (!s) return undefined;
  const out: Record<string, Target> = {};
  for (const pair of s.split(',')) {
    const i = pair.lastIndexOf(':');
    const target = pair.slice(i + 1).trim() as Target;
    if (i < 1 || !TARGETS.includes(target)) {
      throw new ApiError(
        'validation_failed',
        say('api.contacts.mapping', { targets: TARGETS.join(', ') }),
        'map',
      );
    }
    out[pair.slice(0, i).trim().toLowerCase()] = target;
  }
  return out;
}

function delimiterOf(s: string | undefined): string | undefined {
  if (s === undefined) return undefined;
  const d = s === 'tab' || s === '\\t' ? '\t' : s;
  if (![',', ';', '\t', '|', ':'].includes(d)) {
    throw new ApiError('validation_failed', say('api.contacts.delimiter'), 'delimiter');
  }
  return d;
}

export function contactRoutes(untyped: FastifyInstance, deps: ContactRouteDeps): void {
  const app = untyped.withTypeProvider<TypeBoxTypeProvider>();
  const { store } = deps;
  const book = store.book;
  const maxImportBytes = deps.maxImportBytes ?? DEFAULT_MAX_IMPORT_BYTES;

  app.post(
    '/v1/contacts',
    {
      schema: {
        response: { 200: Contact, 201: Contact },
        tags: ['contacts'],
        summary: 'Create or update a contact (one per number)',
        body: ContactBody,
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const b = req.body;
      const n = normalizeNumber(b.number, deps.defaultRegion);
      if (!n.ok) throw new ApiError('invalid_number', n.why, 'number');
      if (b.time_zone !== undefined && !isTimeZone(b.time_zone)) {
        throw new ApiError('validation_failed', say('api.badZone', { zone: b.time_zone }), 'time_zone');
      }
      for (const g of b.group_ids ?? []) {
        if (!(await book.group(p.user.id, g)))
          throw new ApiError('validation_failed', say('api.noSuchGroupId', { id: g }), 'group_ids');
      }
      const existed = await book.get(p.user.id, n.e164);
      await book.upsertMany(p.user.id, [
        {
          number: n.e164,
          name: b.name,
          language: b.language,
          timeZone: b.time_zone,
          fields: b.fields,
          tags: b.tags?.length ? [...new Set(b.tags)].sort() : undefined,
        },
      ]);
      for (const g of b.group_ids ?? []) await book.addMembers(p.user.id, g, [n.e164]);
      const row = await book.get(p.user.id, n.e164);
      const [view] = await withGroups(book, p.user.id, [row as ContactRow]);
      return reply.status(existed ? 200 : 201).send(view as Static<typeof Contact>);
    },
  );

  app.get(
    '/v1/contacts',
    {
      schema: {
        response: { 200: ListOf(Contact) },
        tags: ['contacts'],
        summary: 'Contacts, by number; search by number or name',
        querystring: ListQuery,
      },
    },
    async (req) => {
      const p = principalOf(req);
      const q = req.query;
      const limit = q.limit ?? 100;
      const rows = await book.list({
        ownerId: p.user.id,
        q: q.q,
        groupId: q.group_id,
        tag: q.tag,
        after: q.cursor,
        limit,
      });
      return {
        data: await withGroups(book, p.user.id, rows),
        next_cursor: rows.length === limit ? (rows[rows.length - 1] as ContactRow).number : null,
      };
    },
  );

  app.get(
    '/v1/contacts/export.csv',
    {
      schema: {
        response: { 200: CsvText('The contacts as CSV (UTF-8 with a BOM).') },
        tags: ['contacts'],
        summary: 'All contacts as CSV (UTF-8 with BOM, opens in spreadsheets)',
        querystring: Type.Object({ group_id: Type.Optional(Type.String({ maxLength: 64 })) }),
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const groupId = req.query.group_id;
      async function* lines() {
        yield `\uFEFFnumber,name,language,time_zone,tags,opted_out,fields\r\n`;
        let after = '';
        for (;;) {
          const rows = await book.list({ ownerId: p.user.id, groupId, after, limit: EXPORT_PAGE });
          if (rows.length === 0) return;
          after = (rows[rows.length - 1] as ContactRow).number;
          yield rows
            .map((c) => {
              const tags = (JSON.parse(c.tags || '[]') as string[]).join('|');
              const cells = [
                c.number,
                c.name ?? '',
                c.language ?? '',
                c.time_zone ?? '',
                tags,
                c.opted_out_at === null ? '' : 'yes',
                c.fields === '{}' ? '' : c.fields,
              ];
              return `${cells.map(csvCell).join(',')}\r\n`;
            })
            .join('');
          if (rows.length < EXPORT_PAGE) return;
        }
      }
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="contacts.csv"')
        .send(Readable.from(lines(), { objectMode: false }));
    },
  );

  app.get(
    '/v1/contacts/:number',
    {
      schema: {
        response: { 200: Contact },
        tags: ['contacts'],
        params: Type.Object({ number: Type.String({ maxLength: 64 }) }),
      },
    },
    async (req) => {
      const p = principalOf(req);
      const n = normalizeNumber(req.params.number, deps.defaultRegion);
      const row = n.ok ? await book.get(p.user.id, n.e164) : undefined;
      if (!row) throw new ApiError('not_found', say('api.contacts.noSuchContact'));
      return (await withGroups(book, p.user.id, [row]))[0];
    },
  );

  app.put(
    '/v1/contacts/:number',
    {
      schema: {
        response: { 200: Contact },
        tags: ['contacts'],
        summary: "Replace a contact's details (absent or empty values clear) and, with group_ids, its groups",
        params: Type.Object({ number: Type.String({ maxLength: 64 }) }),
        body: Type.Omit(ContactBody, ['number']),
      },
    },
    async (req) => {
      const p = principalOf(req);
      const n = normalizeNumber(req.params.number, deps.defaultRegion);
      if (!n.ok || !(await book.get(p.user.id, n.e164)))
        throw new ApiError('not_found', say('api.contacts.noSuchContact'));
      const b = req.body;
      if (b.time_zone && !isTimeZone(b.time_zone)) {
        throw new ApiError('validation_failed', say('api.badZone', { zone: b.time_zone }), 'time_zone');
      }
      const groupIds = b.group_ids ? [...new Set(b.group_ids)] : undefined;
      for (const g of groupIds ?? []) {
        if (!(await book.group(p.user.id, g)))
          throw new ApiError('validation_failed', say('api.noSuchGroupId', { id: g }), 'group_ids');
      }
      await book.replace(
        p.user.id,
        {
          number: n.e164,
          name: b.name?.trim() || null,
          language: b.language || null,
          timeZone: b.time_zone || null,
          fields: b.fields ?? {},
          tags: [...new Set((b.tags ?? []).map((x) => x.trim()).filter(Boolean))].sort(),
        },
        groupIds,
      );
      const row = await book.get(p.user.id, n.e164);
      return (await withGroups(book, p.user.id, [row as ContactRow]))[0];
    },
  );

  app.delete(
    '/v1/contacts/:number',
    {
      schema: {
        response: { 204: NoContent },
        tags: ['contacts'],
        params: Type.Object({ number: Type.String({ maxLength: 64 }) }),
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const n = normalizeNumber(req.params.number, deps.defaultRegion);
      if (!n.ok || !(await book.remove(p.user.id, n.e164)))
        throw new ApiError('not_found', say('api.contacts.noSuchContact'));
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/v1/groups',
    {
      schema: {
        response: { 200: Group, 201: Group },
        tags: ['contacts'],
        summary: 'Create a group (list) of contacts',
        body: Type.Object({
          name: Type.String({ minLength: 1, maxLength: 100 }),
          numbers: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 10_000 })),
        }),
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const b = req.body;
      const name = b.name.trim();
      if (!name) throw new ApiError('missing_parameter', say('api.contacts.groupName'), 'name');
      if (
        (await book.groups(p.user.id, MAX_GROUPS)).length >= MAX_GROUPS &&
        !(await book.groupByName(p.user.id, name))
      ) {
        throw new ApiError('conflict', say('api.contacts.maxGroups', { max: MAX_GROUPS }));
      }
      const g = await book.createGroup(p.user.id, name);
      const numbers = (b.numbers ?? [])
        .map((s) => normalizeNumber(s, deps.defaultRegion))
        .flatMap((n) => (n.ok ? [n.e164] : []));
      const added = numbers.length > 0 ? await book.addMembers(p.user.id, g.id, numbers) : 0;
      const group = { id: g.id, name: g.name, added };
      return reply.status(g.created ? 201 : 200).send(group);
    },
  );

  app.get(
    '/v1/groups',
    {
      schema: {
        response: { 200: ListOf(Group) },
        tags: ['contacts'],
        summary: 'Groups with their member counts',
      },
    },
    async (req) => {
      const p = principalOf(req);
      const rows = await book.groups(p.user.id, MAX_GROUPS);
      return {
        data: rows.map((g) => ({
          id: g.id,
          name: g.name,
          members: Number(g.members ?? 0),
          created_at: new Date(g.created_at).toISOString(),
        })),
      };
    },
  );

  app.post(
    '/v1/groups/:id/members',
    {
      schema: {
        response: {
          200: Open({}, 'Numbers added to the group.'),
          201: Open({}, 'Numbers added to the group.'),
        },
        tags: ['contacts'],
        summary: 'Add existing contacts to a group',
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        body: Type.Object({ numbers: Type.Array(Type.String({ maxLength: 64 }), { maxItems: 10_000 }) }),
      },
    },
    async (req) => {
      const p = principalOf(req);
      const id = req.params.id;
      if (!(await book.group(p.user.id, id)))
        throw new ApiError('not_found', say('api.contacts.noSuchGroup'));
      const numbers = req.body.numbers
        .map((s) => normalizeNumber(s, deps.defaultRegion))
        .flatMap((n) => (n.ok ? [n.e164] : []));
      return { added: await book.addMembers(p.user.id, id, numbers) };
    },
  );

  const importer = new ContactImporter(book);
  // The import reads its body as a stream: its own content types, in their own context so
  // no other route's parsing changes.
  void app.register(async (sub) => {
    sub.removeContentTypeParser(['text/plain']);
    sub.addContentTypeParser(
      ['text/csv', 'text/plain', 'application/octet-stream', 'text/tab-separated-values'],
      (_req, payload, done) => done(null, payload),
    );
    await sub.register(multipart, { limits: { files: 1, fields: 10, fileSize: maxImportBytes } });
    sub.withTypeProvider<TypeBoxTypeProvider>().post(
      '/v1/contacts/import',
      {
        schema: {
          response: { 200: ImportReport, 201: ImportReport, 202: ImportReport },
          tags: ['contacts'],
          summary: 'Import contacts from CSV or TXT (raw body or multipart "file"), streamed',
          querystring: ImportQuery,
        },
      },
      async (req, reply) => {
        const p = principalOf(req);
        const q = req.query;
        let source: Readable;
        if (req.isMultipart()) {
          const file = await req.file();
          if (!file) throw new ApiError('missing_parameter', say('api.contacts.noFile'), 'file');
          source = file.file;
        } else if (req.body instanceof Readable) {
          source = req.body;
        } else {
          throw new ApiError('unsupported_media_type', say('api.contacts.fileType'));
        }
        const report = await importer.run(source, {
          ownerId: p.user.id,
          groupName: q.group?.trim() || undefined,
          mapping: parseMap(q.map),
          delimiter: delimiterOf(q.delimiter),
          header: q.header,
          defaultRegion: deps.defaultRegion,
          maxBytes: maxImportBytes,
        });
        const answer = { ...report, errors_url: `/v1/contacts/imports/${report.id}/errors.csv` };
        return reply.status(201).send(answer);
      },
    );
  });

  app.get(
    '/v1/contacts/imports/:id',
    {
      schema: {
        response: { 200: ImportReport },
        tags: ['contacts'],
        summary: 'An import: counts and the first refused rows',
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
      },
    },
    async (req) => {
      const p = principalOf(req);
      const id = req.params.id;
      const imp = await book.importById(p.user.id, id);
      if (!imp) throw new ApiError('not_found', say('api.contacts.noSuchImport'));
      const first = await book.importErrors(id, 0, 100);
      return {
        id: imp.id,
        status: imp.status,
        group_id: imp.group_id,
        rows_total: imp.rows_total,
        rows_imported: imp.rows_imported,
        rows_refused: imp.rows_refused,
        error: imp.error,
        created_at: new Date(imp.created_at).toISOString(),
        finished_at: imp.finished_at === null ? null : new Date(imp.finished_at).toISOString(),
        refused: first,
        errors_url: `/v1/contacts/imports/${imp.id}/errors.csv`,
      };
    },
  );

  app.get(
    '/v1/contacts/imports/:id/errors.csv',
    {
      schema: {
        response: { 200: CsvText('The refused rows with their line and reason.') },
        tags: ['contacts'],
        summary: 'Every refused row of an import: line, reason, the row as read',
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const id = req.params.id;
      if (!(await book.importById(p.user.id, id)))
        throw new ApiError('not_found', say('api.contacts.noSuchImport'));
      async function* lines() {
        yield '\uFEFFline,reason,row\r\n';
        let after = 0;
        for (;;) {
          const rows = await book.importErrors(id, after, EXPORT_PAGE);
          if (rows.length === 0) return;
          after = (rows[rows.length - 1] as { line: number }).line;
          yield rows.map((r) => `${r.line},${csvCell(r.reason)},${csvCell(r.raw)}\r\n`).join('');
        }
      }
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="import-${id}-errors.csv"`)
        .send(Readable.from(lines(), { objectMode: false }));
    },
  );
}
