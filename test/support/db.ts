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
