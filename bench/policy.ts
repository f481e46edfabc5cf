/**
 * `npx tsx bench/policy.ts`: what each sending-policy rule adds to accepting messages, measured
 * in-process on the accepting transaction itself (store/messages.ts acceptBatch on SQLite,
 * synchronous=FULL as in production), so the HTTP stack's noise on a shared box does not drown
 * it. Rule sets are run interleaved (A, B, C, … A, B, C, …) over the same kind of batches, each
 * rule doing its full work: 10,000 numbers on the global blacklist, global caps per hour and per
 * day (one counter row per recipient), a prepaid sender with prices (a debit and a ledger row
 * per message). Batches of 64 single-recipient requests (what group commit writes under load)
 * and of one 1,000-recipient request. Reports the median time per batch and the added share,
 * and the same for the process's CPU time (user + system) per batch: on a shared box the wall
 * time swings with the other tenants' load, the CPU a batch costs much less.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blacklistRule } from '../src/policy/blacklist.js';
import { creditsRule } from '../src/policy/credits.js';
import { frequencyRule } from '../src/policy/frequency.js';
import { optOutRule } from '../src/policy/opt-out.js';
import type { PolicyRule } from '../src/policy/rule.js';
import { openDb } from '../src/store/db.js';
import { createStore } from '../src/store/index.js';
import type { NewMessage } from '../src/store/schema.js';
import { message } from '../test/support/messages.js';
import { machine, median } from './support.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 40);

const SETS: [string, PolicyRule[]][] = [
  ['opt-out only (before)', [optOutRule]],
  ['+ blacklist', [optOutRule, blacklistRule]],
  ['+ frequency caps', [optOutRule, frequencyRule]],
  ['+ credits', [optOutRule, creditsRule]],
  ['all rules', [optOutRule, blacklistRule, frequencyRule, creditsRule]],
];

/** A one-segment message as the store takes it (the tests' row builder). */
function row(owner: string, to: string, now: number): NewMessage {
  return message(owner, {
    to,
    batch_id: 'bench',
    text: 'Your code is 123456',
    created_at: now,
    expires_at: now + 86_400_000,
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'smsgw-bench-policy-'));
  const db = await openDb({ sqlitePath: join(dir, 'bench.db'), sqliteSynchronous: 'FULL' });
  const store = createStore(db);
  const owner = (await store.users.create({ login: 'bench', passwordHash: 'x', role: 'user' })).id;
  // BENCH_IDLE=1: the rules are in the pipeline but nothing is configured (the default install).
  if (process.env.BENCH_IDLE !== '1') await configure(store, owner);
  await run(store, owner);
}

async function configure(store: ReturnType<typeof createStore>, owner: string): Promise<void> {
  await store.policy.addToList(
    'black',
    '',
    Array.from({ length: 10_000 }, (_, i) => ({
      number: `+3361${String(i).padStart(7, '0')}`,
      reason: 'bench',
    })),
    'bench',
    1_000_000,
  );
  await store.policy.replaceCaps('', [
    { category: '', period: 'hour', max_count: 1_000 },
    { category: '', period: 'day', max_count: 1_000 },
  ]);
  await store.policy.setPrice('', 'any', 2);
  await store.policy.setPrice('44', 'any', 1);
  await store.policy.credit(owner, 1e12, null, true);
}

async function run(store: ReturnType<typeof createStore>, owner: string): Promise<void> {
  let seq = 0;
  const number = () => `+4477${String(seq++ % 1_000_000).padStart(8, '0')}`;
  const shapes: [string, () => { messages: NewMessage[] }[]][] = [
    [
      '64 requests of 1 recipient',
      () => Array.from({ length: 64 }, () => ({ messages: [row(owner, number(), Date.now())] })),
    ],
    [
      '1 request of 1,000 recipients',
      () => [{ messages: Array.from({ length: 1000 }, () => row(owner, number(), Date.now())) }],
    ],
  ];
  const lines = [
    `Command: \`${process.env.BENCH_IDLE === '1' ? 'BENCH_IDLE=1 ' : ''}npx tsx bench/policy.ts\` (acceptBatch in-process, SQLite synchronous=FULL, ${ROUNDS} interleaved rounds per set). Machine: ${machine()}.`,
    '',
    '| batch | rule set | median ms | added | median CPU ms | CPU added |',
    '|---|---|---|---|---|---|',
  ];
  for (const [shape, make] of shapes) {
    const times = new Map<string, number[]>(SETS.map(([name]) => [name, []]));
    const cpu = new Map<string, number[]>(SETS.map(([name]) => [name, []]));
    for (let r = 0; r < ROUNDS + 3; r++) {
      for (const [name, rules] of SETS) {
        store.messages.policyRules = rules;
        const items = make();
        const t0 = performance.now();
        const c0 = process.cpuUsage();
        await store.messages.acceptBatch(items);
        const c = process.cpuUsage(c0);
        if (r >= 3) {
          // 3 warm-up rounds
          times.get(name)?.push(performance.now() - t0);
          cpu.get(name)?.push((c.user + c.system) / 1000);
        }
      }
    }
    const base = median(times.get(SETS[0]![0]) ?? []);
    const baseCpu = median(cpu.get(SETS[0]![0]) ?? []);
    const added = (name: string, m: number, b: number) =>
      name === SETS[0]![0] ? '—' : `${(((m - b) / b) * 100).toFixed(1)} %`;
    for (const [name] of SETS) {
      const m = median(times.get(name) ?? []);
      const c = median(cpu.get(name) ?? []);
      lines.push(
        `| ${shape} | ${name} | ${m.toFixed(2)} | ${added(name, m, base)} | ${c.toFixed(2)} | ${added(name, c, baseCpu)} |`,
      );
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  await store.close();
}

await main();
