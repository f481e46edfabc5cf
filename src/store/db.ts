/**
 * Opens the database: SQLite (better-sqlite3, WAL) by default, PostgreSQL (pg) for a
 * postgres:// URL. Applies numbered migrations at open. The rest of the store only sees Kysely.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import type { Migration, MigrationProvider, RawBuilder, SelectQueryBuilder } from 'kysely';
import { foldText } from '../core/search.js';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import type { Database } from './schema.js';
import * as m001 from './migrations/001-init.js';
import * as m002 from './migrations/002-delivery.js';
import * as m003 from './migrations/003-smpp-credentials.js';
import * as m004 from './migrations/004-transliterate.js';
import * as m005 from './migrations/005-sessions.js';
import * as m006 from './migrations/006-pinned-channel.js';
import * as m007 from './migrations/007-smpp-receipts.js';
import * as m008 from './migrations/008-event-tx.js';
import * as m009 from './migrations/009-lifecycle.js';
import * as m010 from './migrations/010-repair-non-finite.js';
import * as m011 from './migrations/011-inbound-processed.js';
import * as m012 from './migrations/012-dlr-callbacks.js';
import * as m013 from './migrations/013-channel-leases.js';
import * as m014 from './migrations/014-policy-lists.js';
import * as m015 from './migrations/015-templates-consent.js';
import * as m016 from './migrations/016-contacts-campaigns.js';
import * as m017 from './migrations/017-otp.js';
import * as m018 from './migrations/018-dlr-format.js';
import * as m019 from './migrations/019-feed-tx.js';
import * as m020 from './migrations/020-smpp-parts.js';
import * as m021 from './migrations/021-search-fold.js';
import * as m022 from './migrations/022-admin-audit.js';
import * as m023 from './migrations/023-money-lifecycle.js';
import * as m024 from './migrations/024-frequency-state.js';
import * as m025 from './migrations/025-credit-charges.js';
import * as m027 from './migrations/027-message-policy.js';
import type { Notifier } from './notify/index.js';
import { LocalNotifier } from './notify/local/index.js';

export type Dialect = 'sqlite' | 'postgres';

/**
 * What differs between the backends, as one object (Kysely's DialectAdapter idea): call sites
 * use these instead of asking which database they are on.
 */
export interface Capabilities {
  /**
   * Epoch milliseconds for lease times. PostgreSQL: the database's clock, the one clock every
   * node shares (a node whose clock runs ahead would otherwise steal leases). SQLite: one node,
   * this process's clock.
   */
  now(): RawBuilder<number>;
  /** Locks the rows a claim selects and skips those another node holds (PostgreSQL); SQLite has one writer. */
  claimLock<DB, TB extends keyof DB, O>(q: SelectQueryBuilder<DB, TB, O>): SelectQueryBuilder<DB, TB, O>;
  /**
   * Queries run synchronously on the event loop (better-sqlite3): heavy reads must go in small
   * slices with a yield between them (store/slices.ts). PostgreSQL's run on its own server.
   */
  blockingReads: boolean;
  /**
   * Several writers at once (PostgreSQL, several nodes): a value read to decide a write in the
   * same transaction (a frequency cap's count, a prepaid balance) must be read with a row lock.
   * SQLite has one writer at a time, so a plain read cannot change before the commit.
   */
  concurrentWriters: boolean;
  /**
   * One process owns the database (SQLite): it holds every channel at once and takes over any
   * channel lease a previous run left, without waiting for it to run out. PostgreSQL: several
   * nodes share the database and a channel runs where its lease is (dispatch/leases.ts).
   */
  exclusiveNode: boolean;
}

const SQLITE_CAPS: Capabilities = {
  now: () => sql<number>`${Date.now()}`,
  claimLock: (q) => q,
  blockingReads: true,
  concurrentWriters: false,
  exclusiveNode: true,
};

const POSTGRES_CAPS: Capabilities = {
  now: () => sql<number>`(extract(epoch from clock_timestamp()) * 1000)::bigint`,
  claimLock: (q) => q.forUpdate().skipLocked(),
  blockingReads: false,
  concurrentWriters: true,
  exclusiveNode: false,
};

export interface Db {
  kysely: Kysely<Database>;
  dialect: Dialect;
  caps: Capabilities;
  /**
   * The SQLite handle itself, for the one hot path where Kysely's per-row query building
   * costs more than the insert (bulk accepts). Statements run on Kysely's single connection,
   * so inside a Kysely transaction they are part of it.
   */
  sqlite?: SQLite.Database;
  /**
   * Wake-ups between nodes (store/notify/): LISTEN/NOTIFY on PostgreSQL, in-process on SQLite.
   * Closed with the database.
   */
  notifier: Notifier;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** postgres:// URL, or undefined for SQLite. */
  databaseUrl?: string | undefined;
  /** SQLite file path, or ':memory:'. */
  sqlitePath?: string;
  sqliteSynchronous?: 'FULL' | 'NORMAL';
  /** SQLite page cache, MiB. */
  sqliteCacheMib?: number;
  /** Pool size for PostgreSQL. */
  poolSize?: number;
}

/** Numbered migrations; add new ones at the end, never edit an applied one. */
const MIGRATIONS: Record<string, { up(db: Kysely<unknown>, dialect: Dialect): Promise<void> }> = {
  '001-init': m001,
  '002-delivery': m002,
  '003-smpp-credentials': m003,
  '004-transliterate': m004,
  '005-sessions': m005,
  '006-pinned-channel': m006,
  '007-smpp-receipts': m007,
  '008-event-tx': m008,
  '009-lifecycle': m009,
  '010-repair-non-finite': m010,
  '011-inbound-processed': m011,
  '012-dlr-callbacks': m012,
  '013-channel-leases': m013,
  '014-policy-lists': m014,
  '015-templates-consent': m015,
  '016-contacts-campaigns': m016,
  '017-otp': m017,
  '018-dlr-format': m018,
  '019-feed-tx': m019,
  '020-smpp-parts': m020,
  '021-search-fold': m021,
  '022-admin-audit': m022,
  '023-money-lifecycle': m023,
  '024-frequency-state': m024,
  '025-credit-charges': m025,
  '027-message-policy': m027,
};

export function sqlitePathFor(dataDir: string): string {
  mkdirSync(dataDir, { recursive: true });
  return join(dataDir, 'smsgw.db');
}

export async function openDb(opts: OpenOptions): Promise<Db> {
  let db: Db;
  if (opts.databaseUrl) {
    // pg and its notifier are loaded for PostgreSQL only: a SQLite gateway never needs them.
    const [{ default: pg }, { PostgresNotifier }] = await Promise.all([
      import('pg'),
      import('./notify/postgres/index.js'),
    ]);
    // pg returns int8 (bigint) as strings to protect values above 2^53; our bigints are epoch
    // milliseconds and serial ids, far below that, so numbers are safe and keep queries uniform.
    pg.types.setTypeParser(20, (v) => Number(v));
    const pool = new pg.Pool({ connectionString: opts.databaseUrl, max: opts.poolSize ?? 10 });
    const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    const notifier = new PostgresNotifier({ connectionString: opts.databaseUrl, pool });
    db = {
      kysely,
      dialect: 'postgres',
      caps: POSTGRES_CAPS,
      notifier,
      close: async () => {
        await notifier.close();
        await kysely.destroy();
      },
    };
  } else {
    const file = new SQLite(opts.sqlitePath ?? ':memory:');
    file.pragma('journal_mode = WAL');
    // FULL: a commit is on disk before we acknowledge; commits are grouped by the write batcher.
    file.pragma(`synchronous = ${opts.sqliteSynchronous ?? 'FULL'}`);
    file.pragma('foreign_keys = ON');
    // 16 MiB of page cache by default (SQLite's own: 2 MiB), all of it resident once filled: at
    // 64 MiB a 1M-message queue held the gateway at 212 MB RSS, at 16 MiB 152 MB, with the same
    // 0.051 CPU-ms per accepted message (DRAIN_QUEUE_ONLY=1 DRAIN_N=1000000 npm run bench:drain).
    file.pragma(`cache_size = ${-1024 * (opts.sqliteCacheMib ?? 16)}`);
    // The CLI may write while the gateway runs: wait for the lock instead of failing.
    file.pragma('busy_timeout = 5000');
    // Text search folds case in every script (core/search.ts); PostgreSQL has it from migration 021.
    file.function('smsgw_fold', { deterministic: true }, (v: unknown) =>
      typeof v === 'string' ? foldText(v) : v,
    );
    const kysely = new Kysely<Database>({
      dialect: new SqliteDialect({ database: withStatementCache(file) }),
    });
    const notifier = new LocalNotifier();
    db = {
      kysely,
      dialect: 'sqlite',
      caps: SQLITE_CAPS,
      sqlite: file,
      notifier,
      close: async () => {
        await notifier.close();
        await kysely.destroy();
      },
    };
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
  // Kysely looks for its tables in every schema unless told which: with another install (or a
  // parallel test) in a second schema of the same database, it saw that one's lock table, did not
  // create its own and failed ("relation kysely_migration_lock does not exist").
  const schema =
    db.dialect === 'postgres'
      ? (await sql<{ s: string }>`select current_schema() as s`.execute(db.kysely)).rows[0]?.s
      : undefined;
  const migrator = new Migrator({
    db: db.kysely,
    provider,
    migrationTableName: 'smsgw_migrations',
    ...(schema ? { migrationTableSchema: schema, migrationLockTableSchema: schema } : {}),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/**
 * Kysely prepares every query anew; preparing costs more than running a small query. The
 * gateway issues the same few dozen statements over and over, so keep them (bounded: multi-row
 * inserts of varying sizes produce many distinct texts). Safe because Kysely's SQLite driver
 * runs one query at a time.
 */
function withStatementCache(db: SQLite.Database, max = 500): SQLite.Database {
  const cache = new Map<string, SQLite.Statement>();
  return new Proxy(db, {
    get(target, prop, receiver) {
      if (prop === 'prepare') {
        return (sql: string) => {
          let stmt = cache.get(sql);
          if (!stmt) {
            stmt = target.prepare(sql);
            if (cache.size >= max) cache.delete(cache.keys().next().value as string);
            cache.set(sql, stmt);
          }
          return stmt;
        };
      }
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
