/**
 * `npx tsx bench/campaign-progress.ts`: what counting a campaign's progress costs on SQLite
 * (store/campaigns.ts progress: recipients per message status, in slices). BENCH_PROGRESS_N
 * recipients (default 400,000; one in ten without a message, half of those refused), written
 * straight into a fresh database; then three counts, each with its wall time, its CPU time and
 * the longest the event loop waited meanwhile (a 1 ms timer's largest gap), and for comparison
 * the same count as one unsliced query (what it was before).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb } from '../src/store/db.js';
import { newId } from '../src/store/ids.js';
import { createStore } from '../src/store/index.js';
import type { NewMessage } from '../src/store/schema.js';
import { message } from '../test/support/messages.js';
import { machine } from './support.js';

const N = Number(process.env.BENCH_PROGRESS_N ?? 400_000);

async function main(): Promise<void> {
  const db = await openDb({
    sqlitePath: join(mkdtempSync(join(tmpdir(), 'smsgw-bench-progress-')), 'b.db'),
    sqliteSynchronous: 'NORMAL',
  });
  const store = createStore(db);
  const owner = (await store.users.create({ login: 'bench', passwordHash: 'x', role: 'user' })).id;
  const s = db.sqlite;
  if (!s) throw new Error('SQLite only');
  const cols = Object.keys(message(owner, { to: '+390000' }));
  const insert = s.prepare(
    `insert into messages (${cols.map((c) => `"${c}"`).join(',')}) values (${cols.map(() => '?').join(',')})`,
  );
  const recipient = s.prepare(
    `insert into campaign_recipients (campaign_id, number, seq, vars, not_before, message_id, error_code)
     values (?, ?, ?, null, 0, ?, ?)`,
  );
  const id = newId();
  const statuses = ['queued', 'sent', 'delivered', 'failed'] as const;
  s.transaction(() => {
    for (let i = 0; i < N; i++) {
      const to = `+3933${String(i).padStart(8, '0')}`;
      if (i % 10 === 0) {
        recipient.run(id, to, i, null, i % 20 === 0 ? 'blacklisted' : null);
        continue;
      }
      const m: NewMessage = message(owner, { to, status: statuses[i % 4] });
      insert.run(cols.map((c) => (m as unknown as Record<string, unknown>)[c]));
      recipient.run(id, to, i, m.id, null);
    }
  })();
  let gap = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const t = performance.now();
    gap = Math.max(gap, t - last);
    last = t;
  }, 1);
  const lines = [
    `Command: \`npx tsx bench/campaign-progress.ts\` (${N} recipients, SQLite). Machine: ${machine()}.`,
    '',
  ];
  for (let r = 0; r < 3; r++) {
    gap = 0;
    last = performance.now();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const counts = await store.campaigns.progress(id);
    const c = process.cpuUsage(c0);
    lines.push(
      `sliced: ${(performance.now() - t0).toFixed(0)} ms, CPU ${((c.user + c.system) / 1000).toFixed(0)} ms, longest event-loop stall ${gap.toFixed(1)} ms ${JSON.stringify(counts)}`,
    );
  }
  clearInterval(timer);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  s.prepare(
    `select m.status, count(*) n from campaign_recipients r join messages m on m.id = r.message_id
     where r.campaign_id = ? group by m.status`,
  ).all(id);
  s.prepare(
    `select case when error_code is not null then 'skipped' else 'pending' end k, count(*) n
     from campaign_recipients where campaign_id = ? and message_id is null group by k`,
  ).all(id);
  const c = process.cpuUsage(c0);
  lines.push(
    `one query (before): ${(performance.now() - t0).toFixed(0)} ms, CPU ${((c.user + c.system) / 1000).toFixed(0)} ms, all of it one stall`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
  await store.close();
}

await main();
