/**
 * Databases for tests: SQLite always; PostgreSQL when SMSGW_TEST_DATABASE_URL is set (CI sets
 * it). Each PostgreSQL database gets its own schema, dropped afterwards, in a database of its
 * vitest worker (workerDatabaseUrl), so files can run side by side.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { Db } from '../../src/store/db.js';
import { openDb } from '../../src/store/db.js';

export const PG_URL = process.env.SMSGW_TEST_DATABASE_URL;

export interface TestDb {
  name: 'sqlite' | 'postgres';
  open(): Promise<{ db: Db; url?: string; cleanup(): Promise<void> }>;
}

let workerDb: Promise<string> | undefined;

/**
 * SMSGW_TEST_DATABASE_URL with its database replaced by one for this vitest worker
 * (`<database>_w<VITEST_POOL_ID>`, created on first use and kept for the next run). With one
 * database for all, a file dropping its schema while a file beside it migrated failed the
 * migration: kysely's Migrator lists the tables of every schema in the database
 * (pg_get_serial_sequence on each), and a table dropped meanwhile is `relation "t_….frequency_counters"
 * does not exist` (full run, 2 workers). A worker runs one file at a time.
 */
function workerDatabaseUrl(): Promise<string> {
  workerDb ??= (async () => {
    const pool = process.env.VITEST_POOL_ID;
    if (!PG_URL) throw new Error('SMSGW_TEST_DATABASE_URL is not set');
    if (!pool) return PG_URL;
    const u = new URL(PG_URL);
    const name = `${decodeURIComponent(u.pathname.slice(1)) || 'postgres'}_w${pool}`;
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE "${name}"`);
    } catch (err) {
      // 42P04: it exists; 23505: another run created it at the same moment.
      const code = (err as { code?: string }).code;
      if (code !== '42P04' && code !== '23505') throw err;
    } finally {
      await admin.end();
    }
    u.pathname = `/${encodeURIComponent(name)}`;
    return u.toString();
  })();
  return workerDb;
}

export async function pgSchemaUrl(): Promise<{ url: string; drop(): Promise<void> }> {
  const db = await workerDatabaseUrl();
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: db });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const u = new URL(db);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return {
    url: u.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: db });
      await c.connect();
      await c.query(`DROP SCHEMA ${schema} CASCADE`);
      await c.end();
    },
  };
}

export const TEST_DBS: TestDb[] = [
  {
    name: 'sqlite',
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'smsgw-db-'));
      const db = await openDb({ sqlitePath: join(dir, 'test.db'), sqliteSynchronous: 'NORMAL' });
      return { db, cleanup: () => db.close() };
    },
  },
  ...(PG_URL
    ? [
        {
          name: 'postgres' as const,
          async open() {
            const { url, drop } = await pgSchemaUrl();
            const db = await openDb({ databaseUrl: url, poolSize: 4 });
            return {
              db,
              url,
              async cleanup() {
                await db.close();
                await drop();
              },
            };
          },
        },
      ]
    : []),
];

/**
 * PostgreSQL: resolves once another session waits on a row lock in a statement naming `table`
 * (a race test commits its blocking transaction only then, so it cannot pass without racing).
 */
export async function waitForLockWait(client: pg.Client, table: string, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    // Inside a transaction pg_stat_activity is a snapshot taken at its first read: drop it.
    await client.query('select pg_stat_clear_snapshot()');
    const r = await client.query(
      `select count(*) as n from pg_stat_activity where wait_event_type = 'Lock'
         and pid <> pg_backend_pid() and datname = current_database() and query ilike $1`,
      [`%${table}%`],
    );
    if (Number(r.rows[0].n) > 0) return;
    if (Date.now() > until) throw new Error(`no session waited on a lock in ${table}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
