/**
 * `npx tsx bench/sent-outcomes.ts`: the cost of recording `sent` outcomes alone (issue 13, the
 * plain send path): N messages accepted and claimed, then their `sent` outcomes (one remote id
 * each, no report asked) applied through `store.outcomes.apply` in batches of B, as the
 * dispatcher's group commit does. Prints CPU ms and wall ms per 1,000 outcomes, per round.
 *
 * SENT_DIR=<checkout>: runs that checkout's store (its `src/`, through tsx as this one's: `dist/`
 * is one bundle of the CLI, not modules to import) — A/B against the code before a change,
 * interleaved by the caller. SENT_N (20000), SENT_BATCH (64),
 * SENT_ROUNDS (3), SMSGW_TEST_DATABASE_URL=postgres://… for PostgreSQL (else a SQLite file,
 * synchronous=FULL as the gateway runs it).
 *
 * SENT_KIND=reports: the messages ask for a report; their `sent` outcomes are applied first
 * (not timed), then one `delivered` report per message in batches of B is what is timed — the
 * receipts path's store work (store/report-batch.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as StoreModule from '../src/store/index.js';
import type { Outcome } from '../src/store/outcomes.js';
import { pgSchemaUrl } from '../test/support/db.js';
import { channel, message } from '../test/support/messages.js';

const DIR = resolve(process.env.SENT_DIR ?? process.cwd());
const N = Number(process.env.SENT_N ?? 20_000);
const BATCH = Number(process.env.SENT_BATCH ?? 64);
const ROUNDS = Number(process.env.SENT_ROUNDS ?? 3);
const PG_URL = process.env.SMSGW_TEST_DATABASE_URL;
const REPORTS = process.env.SENT_KIND === 'reports';

const load = <T>(rel: string) => import(pathToFileURL(join(DIR, 'src', rel)).href) as Promise<T>;
const { openDb, createStore } = await load<typeof StoreModule>('store/index.ts');

async function round(r: number): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'smsgw-sent-'));
  const schema = PG_URL ? await pgSchemaUrl() : undefined;
  const url = schema?.url;
  const db = await openDb({
    databaseUrl: url,
    sqlitePath: join(dataDir, 'smsgw.db'),
    sqliteSynchronous: 'FULL',
  });
  const store = createStore(db);
  const owner = (await store.users.create({ login: 'bench', passwordHash: 'x', role: 'user' })).id;
  const channelId = (await store.channels.create(channel({ name: 'sink' }))).id;
  const now = Date.now();
  const msgs = Array.from({ length: N }, () =>
    message(owner, { batch_id: 'bench', report_requested: REPORTS ? 1 : 0, created_at: now }),
  );
  for (let i = 0; i < N; i += 1000) await store.messages.acceptBatch([{ messages: msgs.slice(i, i + 1000) }]);
  const claims: { token: string; ids: string[] }[] = [];
  for (let c = 0; ; c++) {
    const token = `bench/${c}`;
    const got = await store.messages.claim(token, 1000, Date.now(), 600_000);
    if (got.length === 0) break;
    claims.push({ token, ids: got.map((m) => m.id) });
  }
  const outcomes: Outcome[] = claims.flatMap(({ token, ids }) =>
    ids.map((id) => ({
      kind: 'sent' as const,
      id,
      ownerId: owner,
      lease: token,
      channelId,
      remoteIds: [`r-${id}`],
      countUnits: 1,
      awaitsReport: REPORTS,
      startedAt: Date.now(),
      at: Date.now(),
    })),
  );
  let timed: Outcome[] = outcomes;
  if (REPORTS) {
    for (let i = 0; i < outcomes.length; i += 1000) await store.outcomes.apply(outcomes.slice(i, i + 1000));
    timed = outcomes.map((o) => ({
      kind: 'report' as const,
      channelId,
      remoteId: `r-${(o as { id: string }).id}`,
      state: 'delivered' as const,
      at: Date.now(),
      receivedAt: Date.now(),
    }));
  }
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let finals = 0;
  for (let i = 0; i < timed.length; i += BATCH) {
    finals += (await store.outcomes.apply(timed.slice(i, i + BATCH))).finals.length;
  }
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  if (finals !== N) throw new Error(`only ${finals} of ${N} outcomes applied`);
  const per1k = (x: number) => ((x / N) * 1000).toFixed(1);
  console.log(
    `${DIR} round ${r}: ${N} ${REPORTS ? 'reports' : 'sent outcomes'} in batches of ${BATCH} on ${db.dialect}: ` +
      `CPU ${per1k((cpu.user + cpu.system) / 1000)} ms, wall ${per1k(wall)} ms per 1,000`,
  );
  await db.close();
  await schema?.drop();
  rmSync(dataDir, { recursive: true, force: true });
}

for (let r = 1; r <= ROUNDS; r++) await round(r);
