/**
 * `npx tsx bench/policy-cpu.ts` (`SIZE=64` for group commits of 64 one-recipient requests; `R`
 * rounds, 40 by default): the CPU a message costs inside the frequency-cap and the credits rules'
 * `check` (process.cpuUsage around the call), and acceptBatch's CPU a message with each rule
 * against opt-out alone, on SQLite synchronous=FULL, sets interleaved round by round, medians.
 * The in-check figure leaves out the commit's share (the rows a rule adds are written at commit)
 * but does not move with where SQLite's WAL checkpoint lands, which bench/policy.ts's per-set
 * figures do on a busy box.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { creditsRule } from '../src/policy/credits.js';
import { frequencyRule } from '../src/policy/frequency.js';
import { optOutRule } from '../src/policy/opt-out.js';
import type { PolicyRule } from '../src/policy/rule.js';
import { openDb } from '../src/store/db.js';
import { createStore } from '../src/store/index.js';
import { message } from '../test/support/messages.js';
import { median } from './support.js';
const ROUNDS = Number(process.env.R ?? 40);
const SIZE = Number(process.env.SIZE ?? 1000);
const dir = mkdtempSync(join(tmpdir(), 'smsgw-micro-'));
const db = await openDb({ sqlitePath: join(dir, 'b.db'), sqliteSynchronous: 'FULL' });
const store = createStore(db);
const owner = (await store.users.create({ login: 'bench', passwordHash: 'x', role: 'user' })).id;
await store.policy.replaceCaps('', [
  { category: '', period: 'hour', max_count: 1_000 },
  { category: '', period: 'day', max_count: 1_000 },
]);
await store.policy.setPrice('', 'any', 2);
await store.policy.setPrice('44', 'any', 1);
await store.policy.credit(owner, 1e12, null, true);
let seq = 0;
const number = () => `+4477${String(seq++ % 1_000_000).padStart(8, '0')}`;
const spent = new Map<string, number[]>();
let cur = 0;
const timed = (r: PolicyRule): PolicyRule => ({
  name: r.name,
  async check(ctx, c) {
    const t = process.cpuUsage();
    const v = await r.check(ctx, c);
    const d = process.cpuUsage(t);
    cur += d.user + d.system;
    return v;
  },
  ...(r.release ? { release: r.release } : {}),
});
const sets: [string, PolicyRule[]][] = [
  ['base', [optOutRule]],
  ['caps', [optOutRule, timed(frequencyRule)]],
  ['credits', [optOutRule, timed(creditsRule)]],
];
const all = new Map<string, number[]>();
for (let r = 0; r < ROUNDS + 3; r++) {
  for (const [name, rules] of sets) {
    store.messages.policyRules = rules;
    const now = Date.now();
    const mk = () =>
      message(owner, {
        to: number(),
        batch_id: 'b',
        text: 'Your code is 123456',
        created_at: now,
        expires_at: now + 86_400_000,
      });
    const items =
      SIZE === 64
        ? Array.from({ length: 64 }, () => ({ messages: [mk()] }))
        : [{ messages: Array.from({ length: SIZE }, mk) }];
    cur = 0;
    const c0 = process.cpuUsage();
    await store.messages.acceptBatch(items);
    const c = process.cpuUsage(c0);
    const n = SIZE === 64 ? 64 : SIZE;
    if (r >= 3) {
      (all.get(name) ?? all.set(name, []).get(name)!).push((c.user + c.system) / n);
      (spent.get(name) ?? spent.set(name, []).get(name)!).push(cur / n);
    }
  }
}
const b = median(all.get('base')!);
for (const [n] of sets)
  console.log(
    `${n.padEnd(8)} accept ${median(all.get(n)!).toFixed(2)} µs/msg; rule ${median(spent.get(n)!).toFixed(2)} µs/msg = ${((median(spent.get(n)!) / b) * 100).toFixed(1)} % of base accept`,
  );
await store.close();
