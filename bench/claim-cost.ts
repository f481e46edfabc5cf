/**
 * `npx tsx bench/claim-cost.ts`: the CPU cost of one dispatcher claim against the size of the
 * backlog (issue 13, the send side), on SQLite. For each backlog size, CLAIM_N messages are
 * accepted, then claims of 200 are taken alternately with the statement before store/claim.ts
 * (below, as Kysely built it: `status in (…) order by next_attempt_at limit 200`) and with
 * store/claim.ts's (each status's ordered index range), both straight through better-sqlite3,
 * CLAIM_ROUNDS of each; printed:
 * the median CPU ms per claim of each. SQLite synchronous=NORMAL here, so the figure is the
 * statement's work and not the disk's wait (the gateway commits claims with FULL).
 * CLAIM_N (comma-separated backlog sizes; 10000,100000,1000000), CLAIM_ROUNDS (10).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SQLITE } from '../src/store/claim.js';
import { openDb, createStore } from '../src/store/index.js';
import { message } from '../test/support/messages.js';
import { median } from './support.js';

const SIZES = (process.env.CLAIM_N ?? '10000,100000,1000000').split(',').map(Number);
const ROUNDS = Number(process.env.CLAIM_ROUNDS ?? 10);
const LIMIT = 200;

/** The claim as Kysely built it before store/claim.ts (SQLite, no scope). */
const BEFORE = `update "messages" set "status" = ?, "lease_owner" = ?, "lease_until" = ? + ?, "updated_at" = ?
  where "id" in (select "id" from "messages" where "status" in (?, ?) and "next_attempt_at" <= ?
                 order by "next_attempt_at" limit ?) returning *`;

function cpuMs<T>(fn: () => T): [number, T] {
  const c0 = process.cpuUsage();
  const r = fn();
  const c = process.cpuUsage(c0);
  return [(c.user + c.system) / 1000, r];
}

for (const n of SIZES) {
  const dataDir = mkdtempSync(join(tmpdir(), 'smsgw-claim-'));
  const db = await openDb({ sqlitePath: join(dataDir, 'smsgw.db'), sqliteSynchronous: 'NORMAL' });
  const store = createStore(db);
  const owner = (await store.users.create({ login: 'bench', passwordHash: 'x', role: 'user' })).id;
  const now = Date.now();
  for (let i = 0; i < n; i += 1000)
    await store.messages.acceptBatch([
      {
        messages: Array.from({ length: Math.min(1000, n - i) }, () =>
          message(owner, { batch_id: 'bench', report_requested: 0, created_at: now }),
        ),
      },
    ]);
  const before = db.sqlite!.prepare(BEFORE);
  const after = db.sqlite!.prepare(SQLITE.text);
  const old: number[] = [];
  const fixed: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const [a, rows] = cpuMs(() =>
      before.all(
        'sending',
        `old/${r}`,
        Date.now(),
        60_000,
        Date.now(),
        'scheduled',
        'queued',
        Date.now(),
        LIMIT,
      ),
    );
    if (rows.length !== LIMIT) throw new Error(`the statement before claimed ${rows.length}`);
    old.push(a);
    const values: Record<string, unknown> = {
      token: `new/${r}`,
      now: Date.now(),
      leaseMs: 60_000,
      updatedAt: Date.now(),
      limit: LIMIT,
      scoped: 0,
      held: '[]',
      enabled: '[]',
      owners: '[]',
      shared: 0,
      ownersWithOwn: '[]',
    };
    const [b, got] = cpuMs(() => after.all(...SQLITE.keys.map((k) => values[k])));
    if (got.length !== LIMIT) throw new Error(`claimed ${got.length}`);
    fixed.push(b);
  }
  console.log(
    `backlog ${n}: claim of ${LIMIT}, CPU ms median of ${ROUNDS}: before ${median(old).toFixed(2)} ` +
      `(${old.map((x) => x.toFixed(1)).join(', ')}), store/claim.ts ${median(fixed).toFixed(2)} ` +
      `(${fixed.map((x) => x.toFixed(1)).join(', ')})`,
  );
  await db.close();
  rmSync(dataDir, { recursive: true, force: true });
}
