/**
 * `npx tsx bench/policy-rules.ts`: what the consent and quiet-hours rules add to an accepting
 * transaction (store/messages.ts acceptBatch), on SQLite, against opt-out alone (the rule that
 * was there before). Two shapes as the HTTP API produces them: a group commit of 64 one-message
 * requests (bench:ingest's single POSTs at concurrency 64) and one request of 1,000 recipients.
 * Three owner setups: no policy settings (every account today), and the worst case: opt-in
 * required with every recipient consented plus a quiet-hours window for every category that is
 * not in force (each message's zone and wall time are worked out, none is held).
 * synchronous=NORMAL, so the fsync does not hide CPU cost: the relative figures are upper bounds.
 * Variants are interleaved round by round; the median per batch is reported.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { optOutRule } from '../src/policy/opt-out.js';
import { DEFAULT_RULES } from '../src/policy/index.js';
import { newId } from '../src/store/ids.js';
import { createStore, openDb } from '../src/store/index.js';
import type { AcceptItem } from '../src/store/messages.js';
import type { NewMessage } from '../src/store/schema.js';
import { message } from '../test/support/messages.js';
import { median } from './support.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 40);

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'smsgw-bench-policy-'));
  const store = createStore(await openDb({ sqlitePath: join(dir, 'b.db'), sqliteSynchronous: 'NORMAL' }));
  const plain = await store.users.create({ login: 'plain', passwordHash: 'x', role: 'user' });
  const strict = await store.users.create({ login: 'strict', passwordHash: 'x', role: 'user' });
  // A window that never holds now: from 3 hours ahead to 4 hours ahead, in UTC terms, for every zone.
  const h = (d: number) => String((new Date().getUTCHours() + d + 24) % 24).padStart(2, '0');
  await store.policySettings.put(strict.id, {
    templatesOnly: false,
    consentRequired: true,
    quietHours: [{ category: '*', start: `${h(15)}:00`, end: `${h(16)}:00` }],
  });
  let seq = 0;
  const numbers = () => `+491511${String(seq++ % 1_000_000).padStart(7, '0')}`;
  // Every recipient the strict owner sends to has consented.
  for (let i = 0; i < 1_000_000 && i < 70_000; i++) {
    await store.consents.grant({
      ownerId: strict.id,
      number: `+491511${String(i).padStart(7, '0')}`,
      source: 'bench',
      proofFormId: 'f',
      grantedAt: Date.now(),
    });
  }

  const row = (owner: string): NewMessage => {
    const now = Date.now();
    return message(owner, {
      to: numbers(),
      batch_id: newId(),
      text: 'Sale: 20% off',
      created_at: now,
      expires_at: now + 86_400_000,
    });
  };
  const shapes = {
    '64 × 1': (owner: string): AcceptItem[] =>
      Array.from({ length: 64 }, () => ({ messages: [row(owner)], policy: { category: 'marketing' } })),
    '1 × 1000': (owner: string): AcceptItem[] => [
      { messages: Array.from({ length: 1000 }, () => row(owner)), policy: { category: 'marketing' } },
    ],
  };
  const variants = [
    { name: 'opt-out only (before)', rules: [optOutRule], owner: plain.id },
    { name: 'all rules, no settings', rules: DEFAULT_RULES, owner: plain.id },
    { name: 'all rules, consent + window', rules: DEFAULT_RULES, owner: strict.id },
  ];
  const lines: string[] = [];
  for (const [shape, make] of Object.entries(shapes)) {
    const times = new Map<string, number[]>(variants.map((v) => [v.name, []]));
    for (let r = 0; r < ROUNDS + 5; r++) {
      for (const v of variants) {
        seq = (r * 7919) % 60_000;
        store.messages.policyRules = v.rules;
        const items = make(v.owner);
        const t0 = performance.now();
        await store.messages.acceptBatch(items);
        const ms = performance.now() - t0;
        if (r >= 5) times.get(v.name)?.push(ms);
      }
    }
    const base = median(times.get(variants[0]!.name) ?? []);
    for (const v of variants) {
      const m = median(times.get(v.name) ?? []);
      lines.push(
        `${shape.padEnd(9)} ${v.name.padEnd(30)} ${m.toFixed(2).padStart(7)} ms  ${v === variants[0] ? '' : `${(((m - base) / base) * 100).toFixed(1)} %`}`,
      );
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  await store.close();
}

void main();
