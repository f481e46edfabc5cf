/**
 * Lease-only transactions commit without waiting for the disk on SQLite (store/lease-commit.ts):
 * only they, never a transaction that acknowledges something, and the setting comes back after
 * each, also when it fails.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { openDb } from '../../src/store/db.js';
import { leaseTransaction } from '../../src/store/lease-commit.js';
import type { Database } from '../../src/store/schema.js';

const level = async (db: Kysely<Database>) =>
  Number((await sql<{ synchronous: number }>`pragma synchronous`.execute(db)).rows[0]?.synchronous);

describe('leaseTransaction (SQLite)', () => {
  it('relaxes only its own commit; a transaction started meanwhile still syncs, and FULL comes back', async () => {
    const db = await openDb({ sqlitePath: join(mkdtempSync(join(tmpdir(), 'smsgw-lease-')), 'x.db') });
    try {
      const k = db.kysely;
      expect(await level(k)).toBe(2);
      let inside = -1;
      let other = -1;
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      const lease = leaseTransaction(k, 'sqlite', async (trx) => {
        inside = await level(trx);
        await held;
        await trx.insertInto('cursors').values({ name: 'lease-test', position: 1 }).execute();
      });
      // An acknowledged write queued while the lease transaction holds the connection.
      const ack = k.transaction().execute(async (trx) => {
        other = await level(trx);
      });
      await new Promise((r) => setTimeout(r, 20));
      release();
      await Promise.all([lease, ack]);
      expect(inside).toBe(1);
      expect(other).toBe(2);
      expect(await level(k)).toBe(2);

      await expect(
        leaseTransaction(k, 'sqlite', async (trx) => {
          await trx.insertInto('cursors').values({ name: 'rolled-back', position: 1 }).execute();
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await level(k)).toBe(2);
      const names = (await k.selectFrom('cursors').select('name').execute()).map((r) => r.name);
      expect(names).toContain('lease-test');
      expect(names).not.toContain('rolled-back');
    } finally {
      await db.close();
    }
  });
});
