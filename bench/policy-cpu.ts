/**
 * `npx tsx bench/policy-cpu.ts` (`SIZE=64` for group commits of 64 one-recipient requests, what
 * bench:ingest's single POSTs at concurrency 64 make; 1 request of 1,000 recipients by default;
 * `R` rounds, 100 by default): the CPU each sending-policy rule adds to accepting a message, on
 * SQLite synchronous=FULL. The process's CPU (user + system) around `acceptBatch` per message,
 * each rule on its own over "no rules" (and over opt-out alone, the rule there was before issue
 * 14), sets interleaved round by round, medians. Each rule does its full work and refuses
 * nothing:
 *  - blacklist: 10,000 numbers on the global list (none of the bench's);
 *  - consent: opt-in required, every message marketing, every recipient consented;
 *  - quiet hours: a window for every category, never in force (every message's zone worked out);
 *  - caps: global caps per hour and per day (1,000 each);
 *  - credits: a prepaid sender, prices by prefix;
 *  - templates: each request names an approved template with a signature (resolved and rendered
 *    per request as services/template-send.ts does) instead of text.
 * Recipients cycle through 100,000 numbers, so by the end each has a few messages of the day.
 * `SET=name,…` runs only those sets (besides the two bases).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blacklistRule } from '../src/policy/blacklist.js';
import { consentRule } from '../src/policy/consent.js';
import { creditsRule } from '../src/policy/credits.js';
import { frequencyRule } from '../src/policy/frequency.js';
import { DEFAULT_RULES } from '../src/policy/index.js';
import { optOutRule } from '../src/policy/opt-out.js';
import { quietHoursRule } from '../src/policy/quiet-hours.js';
import type { MessagePolicyInfo, PolicyRule } from '../src/policy/rule.js';
import { resolveTemplate } from '../src/services/templates.js';
import { openDb } from '../src/store/db.js';
import { createStore } from '../src/store/index.js';
import type { AcceptItem } from '../src/store/messages.js';
import { message } from '../test/support/messages.js';
import { machine, median } from './support.js';

const ROUNDS = Number(process.env.R ?? 100);
const SIZE = Number(process.env.SIZE ?? 1000);
const POOL = 100_000;
const dir = mkdtempSync(join(tmpdir(), 'smsgw-micro-'));
const db = await openDb({ sqlitePath: join(dir, 'b.db'), sqliteSynchronous: 'FULL' });
const store = createStore(db);
const user = (login: string) => store.users.create({ login, passwordHash: 'x', role: 'user' });
const plain = (await user('plain')).id;
const strict = (await user('strict')).id;
const payer = (await user('payer')).id;
const writer = (await user('writer')).id;
const number = (i: number) => `+4477${String(i % POOL).padStart(8, '0')}`;

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
await store.policy.credit(payer, 1e12, null, true);
// Opt-in required with every recipient consented, and a window that never holds now.
const h = (d: number) => String((new Date().getUTCHours() + d + 24) % 24).padStart(2, '0');
await store.policySettings.put(strict, {
  templatesOnly: false,
  consentRequired: true,
  quietHours: [{ category: '*', start: `${h(15)}:00`, end: `${h(16)}:00` }],
});
const grant = db.sqlite?.prepare(
  `insert into consents (owner_id, number, source, proof_form_id, granted_at) values (?, ?, 'bench', 'f', ?)`,
);
if (grant && db.sqlite)
  db.sqlite.transaction(() => {
    for (let i = 0; i < POOL; i++) grant.run(strict, number(i), Date.now());
  })();
const sig = await store.templates.create(
  {
    owner_id: writer,
    kind: 'signature',
    name: 'Acme',
    text: 'Acme',
    category: 'notification',
    placement: 'prefix',
    variables: null,
  },
  writer,
);
const tpl = await store.templates.create(
  {
    owner_id: writer,
    kind: 'template',
    name: 'code',
    text: 'Your code is {code}, valid {minutes} min',
    category: 'verification',
    placement: null,
    variables: null,
  },
  writer,
);
for (const t of [sig, tpl]) await store.templates.decide(t.kind, t.id, 'approved', writer, null);

interface Set {
  name: string;
  rules: readonly PolicyRule[];
  owner: string;
  info?: MessagePolicyInfo;
  template?: boolean;
}
const ALL: Set[] = [
  { name: 'no rules', rules: [], owner: plain },
  { name: 'opt-out', rules: [optOutRule], owner: plain },
  { name: 'blacklist', rules: [blacklistRule], owner: plain },
  { name: 'consent', rules: [consentRule], owner: strict, info: { category: 'marketing' } },
  { name: 'quiet hours', rules: [quietHoursRule], owner: strict, info: { category: 'marketing' } },
  { name: 'caps', rules: [frequencyRule], owner: plain },
  { name: 'credits', rules: [creditsRule], owner: payer },
  { name: 'templates', rules: [], owner: writer, template: true },
  { name: 'all rules', rules: DEFAULT_RULES, owner: strict, info: { category: 'marketing' } },
];
const only = process.env.SET?.split(',');
const sets = ALL.filter((s, i) => i < 2 || !only || only.includes(s.name));

let seq = 0;
async function items(set: Set): Promise<AcceptItem[]> {
  const now = Date.now();
  const requests = SIZE === 64 ? 64 : 1;
  const per = SIZE === 64 ? 1 : SIZE;
  const out: AcceptItem[] = [];
  for (let r = 0; r < requests; r++) {
    let text = 'Your code is 123456, valid 10 min';
    let info = set.info ?? {};
    if (set.template) {
      const t = await resolveTemplate(store, set.owner, tpl.id, { code: '123456', minutes: 10 });
      text = t.text;
      info = { category: t.category };
    }
    const messages = Array.from({ length: per }, () =>
      message(set.owner, {
        to: number(seq++),
        batch_id: 'b',
        text,
        created_at: now,
        expires_at: now + 86_400_000,
      }),
    );
    out.push({ messages, policy: info });
  }
  return out;
}

const cpu = new Map<string, number[]>(sets.map((s) => [s.name, []]));
for (let r = 0; r < ROUNDS + 3; r++) {
  // Rotated each round: WAL checkpoints come every ~1,000 pages, and a fixed order would land
  // them on the same sets round after round.
  for (let k = 0; k < sets.length; k++) {
    const set = sets[(r + k) % sets.length] as Set;
    store.messages.policyRules = set.rules;
    const c0 = process.cpuUsage();
    // Building the requests is in the measure: a template is resolved per request.
    const batch = await items(set);
    await store.messages.acceptBatch(batch);
    const c = process.cpuUsage(c0);
    if (r >= 3) cpu.get(set.name)?.push((c.user + c.system) / (SIZE === 64 ? 64 : SIZE));
  }
}
const none = median(cpu.get('no rules') ?? []);
const optOut = median(cpu.get('opt-out') ?? []);
const pct = (v: number, b: number) => `${v >= b ? '+' : ''}${(((v - b) / b) * 100).toFixed(1)} %`;
console.log(
  `SIZE=${SIZE} (${SIZE === 64 ? '64 requests of 1 recipient' : `1 request of ${SIZE} recipients`}), ${ROUNDS} rounds, ${machine()}`,
);
console.log('| rule | CPU µs per message | over no rules | over opt-out |');
console.log('|---|---|---|---|');
for (const s of sets) {
  const m = median(cpu.get(s.name) ?? []);
  console.log(`| ${s.name} | ${m.toFixed(2)} | ${pct(m, none)} | ${pct(m, optOut)} |`);
}
await store.close();
