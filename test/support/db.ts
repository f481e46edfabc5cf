/**
 * Databases for tests: SQLite always; PostgreSQL when SMSGW_TEST_DATABASE_URL is set (CI sets
 * it). Each PostgreSQL database gets its own schema, dropped afterwards, so suites can run side by side.
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

export async function pgSchemaUrl(): Promise<{ url: string; drop(): Promise<void> }> {
  if (!PG_URL) throw new Error('SMSGW_TEST_DATABASE_URL is not set');
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const u = new URL(PG_URL);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return {
    url: u.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: PG_URL });
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
         and pid <> pg_backend_pid() and query ilike $1`,
      [`%${table}%`],
    );
    if (Number(r.rows[0].n) > 0) return;
    if (Date.now() > until) throw new Error(`no session waited on a lock in ${table}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
