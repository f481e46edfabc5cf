/**
 * Backups of the SQLite database with `VACUUM INTO`: one read transaction copies the snapshot it
 * started on while the gateway keeps writing (WAL lets a reader and the writer overlap). The
 * online backup API it replaced copied 256 pages a step and started over whenever another
 * connection wrote the database between steps: under steady load (a group commit every few ms)
 * it never finished, and `test/e2e/backup.test.ts` hung for its 120 s. PostgreSQL is backed up
 * with its own tools (`pg_dump`), which take a consistent snapshot the same way.
 */
import { existsSync, rmSync } from 'node:fs';
import SQLite from 'better-sqlite3';

export interface BackupResult {
  file: string;
  pages: number;
  ms: number;
}

/** Copies the live database at `dbPath` into `file` (which must not exist yet). */
export async function backupSqlite(dbPath: string, file: string): Promise<BackupResult> {
  if (!existsSync(dbPath)) throw new Error(`no database at ${dbPath}`);
  if (existsSync(file)) throw new Error(`${file} exists: choose a new file name`);
  const started = Date.now();
  const db = new SQLite(dbPath, { fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  try {
    db.prepare('vacuum into ?').run(file);
  } finally {
    db.close();
  }
  const copy = new SQLite(file, { readonly: true, fileMustExist: true });
  try {
    return { file, pages: copy.pragma('page_count', { simple: true }) as number, ms: Date.now() - started };
  } finally {
    copy.close();
  }
}

/**
 * Replaces the database at `dbPath` by the backup in `file`. The gateway must be stopped: a
 * running one would keep serving from what it had in memory and its open file.
 */
export async function restoreSqlite(file: string, dbPath: string): Promise<BackupResult> {
  const started = Date.now();
  const source = new SQLite(file, { readonly: true, fileMustExist: true });
  try {
    const ok = source.pragma('quick_check', { simple: true });
    if (ok !== 'ok') throw new Error(`${file} is damaged: ${String(ok)}`);
    const migrated = source
      .prepare("select count(*) as n from sqlite_master where type = 'table' and name = 'smsgw_migrations'")
      .get() as { n: number };
    if (migrated.n !== 1) throw new Error(`${file} is not an smsgw database`);
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${dbPath}${suffix}`, { force: true });
    const r = await source.backup(dbPath);
    return { file: dbPath, pages: r.totalPages, ms: Date.now() - started };
  } finally {
    source.close();
  }
}
