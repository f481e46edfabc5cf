/**
 * The address book: contacts (one per owner and E.164 number: the number is the key, so a
 * number imported twice is one contact), groups and their members, imports and the rows they
 * refused. Bulk writes go in chunks, each its own transaction, so an import of 1,000,000 rows
 * holds neither memory nor the database for long.
 */
import type { Kysely, Transaction } from 'kysely';
import { sql } from 'kysely';
import type { Db } from './db.js';
import { newId } from './ids.js';
import type { Database } from './schema.js';

export interface ContactInput {
  number: string;
  name?: string | null | undefined;
  language?: string | null | undefined;
  timeZone?: string | null | undefined;
  fields?: Record<string, string> | undefined;
  tags?: string[] | undefined;
}

export interface ContactRow {
  owner_id: string;
  number: string;
  name: string | null;
  language: string | null;
  time_zone: string | null;
  fields: string;
  tags: string;
  created_at: number;
  updated_at: number;
  opted_out_at: number | null;
}

export interface ContactFilter {
  ownerId: string;
  /** Number or name contains. */
  q?: string | undefined;
  groupId?: string | undefined;
  tag?: string | undefined;
  /** Number of the last contact of the previous page. */
  after?: string | undefined;
  limit: number;
}

export interface RefusedRow {
  line: number;
  reason: string;
  raw: string;
}

/**
 * SQLite page cache (KiB) a bulk upsert may fill. Lowering the connection's cache_size evicts
 * its least recently used pages down to this (a chunk's inserts of sorted numbers dirty ~2 MB);
 * it is set back once the chunk is written, so other work refills it as before.
 */
const IMPORT_CACHE_KIB = 8 * 1024;

/** Rows per bulk statement on PostgreSQL: 8 columns × 1,000 rows stays far below 65,535 parameters. */
const PG_CHUNK = 1_000;

/**
 * An upsert keeps what the new row does not say: a file without a name column does not erase
 * names. Fields given replace the stored fields; tags given replace the stored tags.
 */
const UPSERT_SET = `name = coalesce(excluded.name, contacts.name),
  language = coalesce(excluded.language, contacts.language),
  time_zone = coalesce(excluded.time_zone, contacts.time_zone),
  fields = case when excluded.fields = '{}' then contacts.fields else excluded.fields end,
  tags = case when excluded.tags = '[]' then contacts.tags else excluded.tags end,
  updated_at = excluded.updated_at`;

export class ContactBook {
  private readonly db: Kysely<Database>;
  private sqliteUpsert?: (rows: unknown[][]) => void;
  private sqliteMember?: (rows: unknown[][]) => void;

  constructor(private readonly handle: Db) {
    this.db = handle.kysely;
  }

  /** Creates or updates contacts (last one wins for a number given twice) and adds them to a group. */
  /**
   * Upserts contacts (and their membership of `groupId`); `within` runs in the same transaction
   * (an import records its progress there: one commit, one fsync, per chunk instead of two).
   */
  async upsertMany(
    ownerId: string,
    input: readonly ContactInput[],
    groupId?: string,
    within?: (trx: Transaction<Database>) => Promise<void>,
  ): Promise<void> {
    const byNumber = new Map<string, ContactInput>();
    // The same number twice in a chunk is merged as the upsert merges it with a stored contact.
    for (const c of input) {
      const prior = byNumber.get(c.number);
      byNumber.set(
        c.number,
        prior
          ? {
              number: c.number,
              name: c.name ?? prior.name,
              language: c.language ?? prior.language,
              timeZone: c.timeZone ?? prior.timeZone,
              fields: c.fields && Object.keys(c.fields).length > 0 ? c.fields : prior.fields,
              tags: c.tags && c.tags.length > 0 ? c.tags : prior.tags,
            }
          : c,
      );
    }
    const now = Date.now();
    const rows = [...byNumber.values()].map((c) => [
      ownerId,
      c.number,
      c.name ?? null,
      c.language ?? null,
      c.timeZone ?? null,
      JSON.stringify(c.fields ?? {}),
      JSON.stringify(c.tags ?? []),
      now,
      now,
    ]);
    const members = groupId ? rows.map((r) => [groupId, ownerId, r[1]]) : [];
    const sqlite = this.handle.sqlite;
    if (sqlite) {
      // better-sqlite3: one prepared statement per row inside one transaction; building a
      // 1,000-row multi-value statement with Kysely cost more than running it.
      if (!this.sqliteUpsert) {
        const up = sqlite.prepare(
          `insert into contacts (owner_id, number, name, language, time_zone, fields, tags, created_at, updated_at)
           values (?, ?, ?, ?, ?, ?, ?, ?, ?) on conflict (owner_id, number) do update set ${UPSERT_SET}`,
        );
        const mem = sqlite.prepare(
          `insert into group_members (group_id, owner_id, number) values (?, ?, ?) on conflict do nothing`,
        );
        this.sqliteUpsert = sqlite.transaction((rs: unknown[][]) => {
          for (const r of rs) up.run(r);
        });
        this.sqliteMember = sqlite.transaction((rs: unknown[][]) => {
          for (const r of rs) mem.run(r);
        });
      }
      await this.db.transaction().execute(async (trx) => {
        // The chunk's pages may take at most IMPORT_CACHE_KIB of the page cache: left at the
        // connection's cache (64 MiB then, 16 MiB now: SMSGW_SQLITE_CACHE_MIB), a 1M-row import
        // filled it with contact pages and the gateway's peak RSS rose by ~70 MB (231 MB from
        // 152 MB idle; 160 MB with the cap).
        const cache = sqlite.pragma('cache_size', { simple: true }) as number;
        sqlite.pragma(`cache_size = ${-IMPORT_CACHE_KIB}`);
        try {
          this.sqliteUpsert?.(rows);
          this.sqliteMember?.(members);
          await within?.(trx);
        } finally {
          sqlite.pragma(`cache_size = ${cache}`);
        }
      });
      return;
    }
    await this.db.transaction().execute(async (trx) => {
      for (let i = 0; i < rows.length; i += PG_CHUNK) {
        const chunk = rows.slice(i, i + PG_CHUNK);
        await sql`insert into contacts (owner_id, number, name, language, time_zone, fields, tags, created_at, updated_at)
          values ${sql.join(chunk.map((r) => sql`(${sql.join(r)})`))}
          on conflict (owner_id, number) do update set ${sql.raw(UPSERT_SET)}`.execute(trx);
        const mem = members.slice(i, i + PG_CHUNK);
        if (mem.length > 0) {
          await sql`insert into group_members (group_id, owner_id, number)
            values ${sql.join(mem.map((r) => sql`(${sql.join(r)})`))} on conflict do nothing`.execute(trx);
        }
      }
      await within?.(trx);
    });
  }

  async get(ownerId: string, number: string): Promise<ContactRow | undefined> {
    return (
      await this.list({ ownerId, q: undefined, limit: 1, exact: number } as ContactFilter & { exact: string })
    )[0];
  }

  list(f: ContactFilter & { exact?: string }): Promise<ContactRow[]> {
    let q = this.db
      .selectFrom('contacts as c')
      .leftJoin('opt_outs as o', (j) =>
        j.onRef('o.owner_id', '=', 'c.owner_id').onRef('o.number', '=', 'c.number'),
      )
      .select([
        'c.owner_id',
        'c.number',
        'c.name',
        'c.language',
        'c.time_zone',
        'c.fields',
        'c.tags',
        'c.created_at',
        'c.updated_at',
        'o.created_at as opted_out_at',
      ])
      .where('c.owner_id', '=', f.ownerId);
    if (f.exact !== undefined) q = q.where('c.number', '=', f.exact);
    if (f.q) {
      const like = `%${f.q.toLowerCase().replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
      q = q.where((eb) =>
        eb.or([
          eb('c.number', 'like', sql<string>`${like} escape '\\'`),
          eb(sql`lower(c.name)`, 'like', sql<string>`${like} escape '\\'`),
        ]),
      );
    }
    if (f.groupId) {
      q = q.where(({ exists, selectFrom }) =>
        exists(
          selectFrom('group_members as g')
            .select('g.number')
            .where('g.group_id', '=', f.groupId as string)
            .whereRef('g.number', '=', 'c.number'),
        ),
      );
    }
    if (f.tag) q = q.where('c.tags', 'like', `%${JSON.stringify(f.tag)}%`);
    if (f.after) q = q.where('c.number', '>', f.after);
    return q.orderBy('c.number').limit(f.limit).execute() as Promise<ContactRow[]>;
  }

  async remove(ownerId: string, number: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      await trx
        .deleteFrom('group_members')
        .where('owner_id', '=', ownerId)
        .where('number', '=', number)
        .execute();
      const r = await trx
        .deleteFrom('contacts')
        .where('owner_id', '=', ownerId)
        .where('number', '=', number)
        .executeTakeFirst();
      return Number(r.numDeletedRows) === 1;
    });
  }

  async count(ownerId: string): Promise<number> {
    const r = await this.db
      .selectFrom('contacts')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('owner_id', '=', ownerId)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  // Groups

  async createGroup(ownerId: string, name: string): Promise<{ id: string; name: string; created: boolean }> {
    const existing = await this.groupByName(ownerId, name);
    if (existing) return { id: existing.id, name, created: false };
    const id = newId();
    await this.db
      .insertInto('contact_groups')
      .values({ id, owner_id: ownerId, name, created_at: Date.now() })
      .onConflict((oc) => oc.columns(['owner_id', 'name']).doNothing())
      .execute();
    const row = await this.groupByName(ownerId, name);
    return { id: row?.id ?? id, name, created: row?.id === id };
  }

  groupByName(ownerId: string, name: string) {
    return this.db
      .selectFrom('contact_groups')
      .selectAll()
      .where('owner_id', '=', ownerId)
      .where('name', '=', name)
      .executeTakeFirst();
  }

  group(ownerId: string, id: string) {
    return this.db
      .selectFrom('contact_groups')
      .selectAll()
      .where('owner_id', '=', ownerId)
      .where('id', '=', id)
      .executeTakeFirst();
  }

  groups(ownerId: string, limit: number) {
    return this.db
      .selectFrom('contact_groups as g')
      .select(['g.id', 'g.name', 'g.created_at'])
      .select((eb) =>
        eb
          .selectFrom('group_members as m')
          .select(eb.fn.countAll<number>().as('n'))
          .whereRef('m.group_id', '=', 'g.id')
          .as('members'),
      )
      .where('g.owner_id', '=', ownerId)
      .orderBy('g.name')
      .limit(limit)
      .execute();
  }

  /** Adds existing contacts to a group; returns how many numbers were contacts. */
  async addMembers(ownerId: string, groupId: string, numbers: readonly string[]): Promise<number> {
    let added = 0;
    for (let i = 0; i < numbers.length; i += 500) {
      const known = await this.db
        .selectFrom('contacts')
        .select('number')
        .where('owner_id', '=', ownerId)
        .where('number', 'in', numbers.slice(i, i + 500))
        .execute();
      if (known.length === 0) continue;
      await this.db
        .insertInto('group_members')
        .values(known.map((k) => ({ group_id: groupId, owner_id: ownerId, number: k.number })))
        .onConflict((oc) => oc.doNothing())
        .execute();
      added += known.length;
    }
    return added;
  }

  /**
   * Replaces a contact's details (an edit: an empty value clears, unlike the import's merge) and,
   * when `groupIds` is given, makes those exactly its groups. False when there is no such contact.
   */
  async replace(ownerId: string, c: ContactInput, groupIds?: readonly string[]): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const r = await trx
        .updateTable('contacts')
        .set({
          name: c.name ?? null,
          language: c.language ?? null,
          time_zone: c.timeZone ?? null,
          fields: JSON.stringify(c.fields ?? {}),
          tags: JSON.stringify(c.tags ?? []),
          updated_at: Date.now(),
        })
        .where('owner_id', '=', ownerId)
        .where('number', '=', c.number)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) return false;
      if (groupIds) {
        let drop = trx
          .deleteFrom('group_members')
          .where('owner_id', '=', ownerId)
          .where('number', '=', c.number);
        if (groupIds.length > 0) drop = drop.where('group_id', 'not in', [...groupIds]);
        await drop.execute();
        if (groupIds.length > 0) {
          await trx
            .insertInto('group_members')
            .values(groupIds.map((g) => ({ group_id: g, owner_id: ownerId, number: c.number })))
            .onConflict((oc) => oc.doNothing())
            .execute();
        }
      }
      return true;
    });
  }

  /** The groups each of these numbers is in (one query for a page of contacts). */
  async memberships(ownerId: string, numbers: readonly string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    for (let i = 0; i < numbers.length; i += 500) {
      const rows = await this.db
        .selectFrom('group_members')
        .select(['number', 'group_id'])
        .where('owner_id', '=', ownerId)
        .where('number', 'in', numbers.slice(i, i + 500))
        .execute();
      for (const r of rows) out.set(r.number, [...(out.get(r.number) ?? []), r.group_id]);
    }
    return out;
  }

  // Imports

  async startImport(ownerId: string, groupId: string | null): Promise<string> {
    const id = newId();
    await this.db
      .insertInto('contact_imports')
      .values({
        id,
        owner_id: ownerId,
        group_id: groupId,
        status: 'running',
        rows_total: 0,
        rows_imported: 0,
        rows_refused: 0,
        error: null,
        created_at: Date.now(),
        finished_at: null,
      })
      .execute();
    return id;
  }

  /** Records progress and the rows refused since the last call. */
  async importProgress(
    id: string,
    p: { total: number; imported: number; refused: RefusedRow[]; refusedTotal: number },
    inTrx?: Transaction<Database>,
  ): Promise<void> {
    if (inTrx) return this.writeProgress(inTrx, id, p);
    await this.db.transaction().execute((trx) => this.writeProgress(trx, id, p));
  }

  private async writeProgress(
    trx: Transaction<Database>,
    id: string,
    p: { total: number; imported: number; refused: RefusedRow[]; refusedTotal: number },
  ): Promise<void> {
    for (let i = 0; i < p.refused.length; i += 500) {
      await trx
        .insertInto('import_errors')
        .values(p.refused.slice(i, i + 500).map((r) => ({ import_id: id, ...r })))
        .onConflict((oc) => oc.doNothing())
        .execute();
    }
    await trx
      .updateTable('contact_imports')
      .set({ rows_total: p.total, rows_imported: p.imported, rows_refused: p.refusedTotal })
      .where('id', '=', id)
      .execute();
  }

  async finishImport(id: string, error?: string): Promise<void> {
    await this.db
      .updateTable('contact_imports')
      .set({ status: error ? 'failed' : 'done', error: error ?? null, finished_at: Date.now() })
      .where('id', '=', id)
      .execute();
  }

  importById(ownerId: string | undefined, id: string) {
    let q = this.db.selectFrom('contact_imports').selectAll().where('id', '=', id);
    if (ownerId) q = q.where('owner_id', '=', ownerId);
    return q.executeTakeFirst();
  }

  /** Refused rows in line order, a page at a time (for the CSV download). */
  importErrors(id: string, afterLine: number, limit: number) {
    return this.db
      .selectFrom('import_errors')
      .select(['line', 'reason', 'raw'])
      .where('import_id', '=', id)
      .where('line', '>', afterLine)
      .orderBy('line')
      .limit(limit)
      .execute();
  }
}
