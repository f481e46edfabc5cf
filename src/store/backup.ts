/**
 * Backups of the SQLite database through SQLite's online backup API: a consistent copy taken
 * page by page while the gateway keeps writing (WAL lets readers and the writer overlap; the
 * copy restarts the pages a write changed). PostgreSQL is backed up with its own tools
 * (`pg_dump`), which take a consistent snapshot the same way.
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
    // 256 pages (1 MiB) per step, then yield: the gateway's writes go on between steps.
    const r = await db.backup(file, { progress: () => 256 });
    return { file, pages: r.totalPages, ms: Date.now() - started };
  } finally {
    db.close();
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
