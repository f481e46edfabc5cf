/**
 * `npm run bench:fsync`: the disk's floor under every durable commit. Commits FSYNC_N (500)
 * one-row inserts, one transaction each, with better-sqlite3 in WAL at synchronous=FULL as the
 * gateway opens its database (src/store/db.ts), and reports the median and p99 of one commit;
 * then the same count of `fs.fsyncSync` after a 100-byte append, the bare cost without SQLite.
 * A sequential request waits behind at least one such commit (the accept), so no sequential p99
 * can be below this figure's p99. FSYNC_DIR: where the files go (a temp dir under the OS's by
 * default; point it at the gateway's data disk when that is another one).
 */
import { closeSync, fsyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { percentile } from './support.js';

const N = Number(process.env.FSYNC_N ?? 500);
const dir = mkdtempSync(join(process.env.FSYNC_DIR ?? tmpdir(), 'smsgw-fsync-'));

function summary(label: string, ms: number[]): void {
  const s = [...ms].sort((a, b) => a - b);
  const f = (v: number) => v.toFixed(2);
  console.log(
    `${label}: median ${f(percentile(s, 50))} ms, p99 ${f(percentile(s, 99))} ms, max ${f(s.at(-1) ?? NaN)} ms`,
  );
}

function timed(run: () => void): number[] {
  const out: number[] = [];
  for (let i = 0; i < N; i++) {
    const t = process.hrtime.bigint();
    run();
    out.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return out;
}

try {
  const db = new Database(join(dir, 'fsync.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('create table t (id integer primary key, v text not null)');
  const insert = db.prepare('insert into t (v) values (?)');
  const row = 'x'.repeat(100);
  const commit = db.transaction(() => insert.run(row));
  const load = loadavg()[0]?.toFixed(1);
  summary(
    `SQLite WAL synchronous=FULL, ${N} one-row commits (load ${load})`,
    timed(() => commit()),
  );
  db.close();

  const fd = openSync(join(dir, 'append.bin'), 'a');
  const bytes = Buffer.alloc(100, 120);
  summary(
    `write(100 B) + fsync, ${N} times`,
    timed(() => {
      writeSync(fd, bytes);
      fsyncSync(fd);
    }),
  );
  closeSync(fd);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
