/**
 * Opens the database: SQLite (better-sqlite3, WAL) by default, PostgreSQL (pg) for a
 * postgres:// URL. Applies numbered migrations at open. The rest of the store only sees Kysely.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import type { Migration, MigrationProvider } from 'kysely';
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import type { Database } from './schema.js';
import * as m001 from './migrations/001-init.js';
import * as m002 from './migrations/002-delivery.js';

export type Dialect = 'sqlite' | 'postgres';

export interface Db {
  kysely: Kysely<Database>;
  dialect: Dialect;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** postgres:// URL, or undefined for SQLite. */
  databaseUrl?: string | undefined;
  /** SQLite file path, or ':memory:'. */
  sqlitePath?: string;
  sqliteSynchronous?: 'FULL' | 'NORMAL';
  /** Pool size for PostgreSQL. */
  poolSize?: number;
}

/** Numbered migrations; add new ones at the end, never edit an applied one. */
const MIGRATIONS: Record<string, { up(db: Kysely<unknown>, dialect: Dialect): Promise<void> }> = {
  '001-init': m001,
  '002-delivery': m002,
};

// pg returns int8 (bigint) as strings to protect values above 2^53; our bigints are epoch
// milliseconds and serial ids, far below that, so numbers are safe and keep queries uniform.
pg.types.setTypeParser(20, (v) => Number(v));

export function sqlitePathFor(dataDir: string): string {
  mkdirSync(dataDir, { recursive: true });
  return join(dataDir, 'smsgw.db');
}

export async function openDb(opts: OpenOptions): Promise<Db> {
  let db: Db;
  if (opts.databaseUrl) {
    const pool = new pg.Pool({ connectionString: opts.databaseUrl, max: opts.poolSize ?? 10 });
    const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    db = { kysely, dialect: 'postgres', close: () => kysely.destroy() };
  } else {
    const file = new SQLite(opts.sqlitePath ?? ':memory:');
    file.pragma('journal_mode = WAL');
    // FULL: a commit is on disk before we acknowledge; commits are grouped by the write batcher.
    file.pragma(`synchronous = ${opts.sqliteSynchronous ?? 'FULL'}`);
    file.pragma('foreign_keys = ON');
    // The CLI may write while the gateway runs: wait for the lock instead of failing.
    file.pragma('busy_timeout = 5000');
    const kysely = new Kysely<Database>({ dialect: new SqliteDialect({ database: file }) });
    db = { kysely, dialect: 'sqlite', close: () => kysely.destroy() };
  }
  await migrate(db);
  return db;
}

export async function migrate(db: Db): Promise<string[]> {
  const provider: MigrationProvider = {
    async getMigrations() {
      const out: Record<string, Migration> = {};
      for (const [name, mod] of Object.entries(MIGRATIONS)) {
        out[name] = { up: (k) => mod.up(k, db.dialect) };
      }
      return out;
    },
  };
  const migrator = new Migrator({ db: db.kysely, provider, migrationTableName: 'smsgw_migrations' });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
