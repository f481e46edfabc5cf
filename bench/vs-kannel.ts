/**
 * `npm run bench:vs-kannel` (issue 13): smsgw against Kannel, side by side on one machine, the
 * same SMPP sink (bench/smpp-sink.ts), the same HTTP callback counter (bench/callback-counter.ts)
 * and the same load generator (bench/load.ts): N single-recipient HTTP requests each.
 *
 * Scenarios, each run on a freshly started gateway:
 * (a) no receipts, concurrency C: end to end = first request → last new submit_sm at the sink;
 * (b) receipts (the sink answers each submit with a DELIVRD receipt after BENCH_RECEIPT_DELAY_MS)
 *     and one HTTP callback per final state (Kannel dlr-mask=3 + dlr-url; smsgw the account's
 *     status webhook): end to end = first request → last final callback;
 * (c) sequential (concurrency 1), without and with receipts: accept latency.
 * Every run: accept p50/p99, gateway CPU-s (/proc/<pid>/stat; Kannel's two boxes summed) and
 * peak RSS (VmRSS sampled every 50 ms, summed). Kannel runs with max-pending-submits 100 and, in
 * (a) and (b), 500; smsgw as `npm start` runs it (compiled, SQLite in a temp directory).
 * Pairs are interleaved (Kannel, smsgw; next pair smsgw first) so the machine's drift hits both.
 *
 * It fails (exit 1) unless every request was accepted, every message reached the sink exactly
 * once and, with receipts, every message's final callback arrived exactly once.
 * Knobs: BENCH_N (20000), BENCH_SEQ_N (2000), BENCH_C (64), BENCH_PAIRS (3),
 * BENCH_RECEIPT_DELAY_MS (0), BENCH_WRITE (1: write docs/benchmarks.md; 0: print only),
 * BENCH_PEERS / BENCH_SCENARIOS (subsets, e.g. `smsgw` and `b`; print only).
 */
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { KANNEL_PASSWORD, KANNEL_USER, findKannel, startKannel } from './kannel.js';
import { runLoad } from './load.js';
import type { LoadRequest } from './load.js';
import { startSink } from './smpp-sink.js';
import type { Sink } from './smpp-sink.js';
import { startCallbackCounter } from './callback-counter.js';
import type { CallbackCounter } from './callback-counter.js';
import { compiledStartArgs } from '../test/support/net.js';
import { api, cpuSeconds, machine, median, peakRss, percentile, startGateway, waitUntil } from './support.js';

const N = Number(process.env.BENCH_N ?? 20_000);
const SEQ_N = Number(process.env.BENCH_SEQ_N ?? 2_000);
const C = Number(process.env.BENCH_C ?? 64);
const PAIRS = Number(process.env.BENCH_PAIRS ?? 3);
const RECEIPT_DELAY_MS = Number(process.env.BENCH_RECEIPT_DELAY_MS ?? 0);
/** Comma-separated subsets for a quick look (`smsgw`, `Kannel 100`; `a,b`): nothing is written then. */
const ONLY_PEERS = process.env.BENCH_PEERS?.split(',');
const ONLY_SCENARIOS = process.env.BENCH_SCENARIOS?.split(',');
const WRITE = process.env.BENCH_WRITE !== '0' && !ONLY_PEERS && !ONLY_SCENARIOS;
const KEY = 'bench-admin-key-0123456789abcdef';
const TEXT = 'Your code is 123456';
const FROM = '12345';
/** smsgw's SMPP window, as Kannel's max-pending-submits of the default variant. */
const SMSGW_WINDOW = 100;

const to = (i: number) => `+4477${String(i).padStart(8, '0')}`;

interface Scenario {
  id: 'a' | 'b' | 'c0' | 'c1';
  title: string;
  receipts: boolean;
  concurrency: number;
  n: number;
}

const SCENARIOS: Scenario[] = [
  { id: 'a', title: `(a) no receipts, c=${C}`, receipts: false, concurrency: C, n: N },
  { id: 'b', title: `(b) receipts + callbacks, c=${C}`, receipts: true, concurrency: C, n: N },
  { id: 'c0', title: '(c) sequential, no receipts', receipts: false, concurrency: 1, n: SEQ_N },
  { id: 'c1', title: '(c) sequential, receipts + callbacks', receipts: true, concurrency: 1, n: SEQ_N },
];

/** One gateway started for one run: how to send message i, and which callback key it gets. */
interface Running {
  origin: string;
  pids: number[];
  warmPath: string;
  request(i: number): LoadRequest;
  accepted(i: number, status: number, body: string): boolean;
  callbackKey(i: number): string | undefined;
  stop(): Promise<void>;
}

interface Peer {
  name: string;
  /** Scenarios this peer runs in (Kannel's window variant only matters under concurrency). */
  runs(s: Scenario): boolean;
  start(sink: Sink, counter: CallbackCounter, s: Scenario): Promise<Running>;
}

function kannelPeer(sbin: string, maxPending: number): Peer {
  return {
    name: `Kannel ${maxPending}`,
    runs: (s) => maxPending === 100 || s.concurrency > 1,
    async start(sink, counter, s) {
      const k = await startKannel(sbin, sink.port, maxPending);
      const base = `/cgi-bin/sendsms?username=${KANNEL_USER}&password=${KANNEL_PASSWORD}&from=${FROM}&text=${encodeURIComponent(TEXT)}`;
      return {
        origin: k.url,
        pids: k.pids,
        // No parameters: answered 4xx, nothing sent.
        warmPath: '/cgi-bin/sendsms',
        request: (i) => ({
          method: 'GET',
          path:
            `${base}&to=${encodeURIComponent(to(i))}` +
            (s.receipts
              ? `&dlr-mask=3&dlr-url=${encodeURIComponent(`${counter.url}/kannel?i=${i}&t=%d`)}`
              : ''),
        }),
        accepted: (_i, status, body) => status === 202 && body.startsWith('0: Accepted'),
        callbackKey: (i) => String(i),
        stop: k.stop,
      };
    },
  };
}

function smsgwPeer(): Peer {
  return {
    name: 'smsgw',
    runs: () => true,
    async start(sink, counter, s) {
      const gw = await startGateway(
        { SMSGW_ADMIN_API_KEY: KEY, SMSGW_SIMULATOR: 'false', SMSGW_WEBHOOK_ALLOW_PRIVATE: 'true' },
        true,
      );
      try {
        const ch = await api(gw.url, KEY, 'POST', '/v1/channels', {
          name: 'sink',
          type: 'smpp',
          max_in_flight: 400,
          config: {
            host: '127.0.0.1',
            port: sink.port,
            systemId: 'smsgw',
            password: 'secret',
            window: SMSGW_WINDOW,
          },
        });
        if (!ch.id) throw new Error(`cannot create the SMPP channel: ${JSON.stringify(ch)}`);
        if (s.receipts) {
          const set = await api(gw.url, KEY, 'PATCH', '/v1/settings', {
            webhook_url: `${counter.url}/smsgw`,
          });
          if (set.webhook_url !== `${counter.url}/smsgw`)
            throw new Error(`cannot set the webhook: ${JSON.stringify(set)}`);
        }
        await waitUntil(
          () => sink.sim.stats.binds > 0,
          30_000,
          () => 'smsgw did not bind to the sink',
        );
      } catch (err) {
        await gw.stop();
        throw err;
      }
      const ids: string[] = [];
      const headers = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };
      return {
        origin: gw.url,
        pids: [gw.proc.pid as number],
        warmPath: '/readyz',
        request: (i) => ({
          method: 'POST',
          path: '/v1/messages',
          headers,
          body: JSON.stringify({ to: to(i), from: FROM, text: TEXT, delivery_report: s.receipts }),
        }),
        accepted(i, status, body) {
          if (status !== 202) return false;
          const r = JSON.parse(body) as { accepted: number; messages: { id?: string }[] };
          const id = r.messages[0]?.id;
          if (r.accepted !== 1 || !id) return false;
          ids[i] = id;
          return true;
        },
        callbackKey: (i) => ids[i],
        stop: gw.stop,
      };
    },
  };
}

interface RunResult {
  peer: string;
  scenario: Scenario['id'];
  pair: number;
  /** Messages per second, first request → last submit at the sink (or last final callback with receipts). */
  e2e: number;
  /** Requests answered per second. */
  accepted: number;
  p50: number;
  p99: number;
  cpu: number;
  rss: number;
  /** CPU seconds of this process (load generator, sink, counter): near the wall time means it limited the run. */
  benchCpu: number;
  wall: number;
  /** Non-final callbacks (smsgw's `sent`). */
  otherCallbacks: number;
  reconnects: number;
}

const sumCpu = (pids: number[]) => pids.reduce((n, p) => n + cpuSeconds(p), 0);

async function runOnce(peer: Peer, s: Scenario, pair: number): Promise<RunResult> {
  const sink = await startSink(RECEIPT_DELAY_MS);
  const counter = await startCallbackCounter();
  let gw: Running | undefined;
  try {
    gw = await peer.start(sink, counter, s);
    const g = gw;
    const cpu0 = sumCpu(g.pids);
    const bench0 = process.cpuUsage();
    const rss = peakRss(g.pids);
    const load = await runLoad({
      origin: g.origin,
      n: s.n,
      concurrency: s.concurrency,
      warmPath: g.warmPath,
      request: g.request,
      accepted: g.accepted,
    });
    const label = `${peer.name} ${s.title} pair ${pair + 1}`;
    if (load.errors > 0)
      throw new Error(`${label}: ${load.errors} requests not accepted; first: ${load.firstError}`);
    // Fails a gateway that moves fewer than 20 msg/s after its last accept (seen: 68 under load).
    const timeout = 60_000 + s.n * 50;
    await waitUntil(
      () => sink.unique >= s.n,
      timeout,
      () => `${label}: ${sink.unique} of ${s.n} at the sink`,
    );
    if (s.receipts)
      await waitUntil(
        () => counter.finals.size >= s.n,
        timeout,
        () => `${label}: ${counter.finals.size} of ${s.n} final callbacks`,
      );
    const end = s.receipts ? counter.lastNewAt : sink.lastNewAt;
    const cpu = sumCpu(g.pids) - cpu0;
    const benchCpuUsage = process.cpuUsage(bench0);
    const peak = rss.stop();
    // Late duplicates (a resend, a second callback) have a second to show up.
    await new Promise((r) => setTimeout(r, 1000));
    const problems: string[] = [];
    if (sink.duplicates) problems.push(`${sink.duplicates} duplicate submits at the sink`);
    const missing = Array.from({ length: s.n }, (_, i) => i).filter((i) => !sink.has(to(i)));
    if (missing.length)
      problems.push(`${missing.length} messages never reached the sink (first: ${missing[0]})`);
    if (s.receipts) {
      if (counter.duplicates) problems.push(`${counter.duplicates} duplicate final callbacks`);
      const noCallback = Array.from({ length: s.n }, (_, i) => i).filter((i) => {
        const key = g.callbackKey(i);
        return key === undefined || counter.finals.get(key) !== 1;
      });
      if (noCallback.length)
        problems.push(`${noCallback.length} messages without exactly one final callback`);
    }
    if (counter.unreadable) problems.push(`${counter.unreadable} callbacks the counter could not read`);
    if (problems.length) throw new Error(`${label}: ${problems.join('; ')}`);
    const wall = (end - load.startedAt) / 1000;
    return {
      peer: peer.name,
      scenario: s.id,
      pair,
      e2e: s.n / wall,
      accepted: s.n / ((load.endedAt - load.startedAt) / 1000),
      p50: percentile(load.latenciesMs, 50),
      p99: percentile(load.latenciesMs, 99),
      cpu,
      rss: peak,
      benchCpu: (benchCpuUsage.user + benchCpuUsage.system) / 1e6,
      wall,
      otherCallbacks: counter.others,
      reconnects: load.reconnects,
    };
  } finally {
    await gw?.stop();
    await counter.close();
    await sink.stop();
  }
}

// ---- report ----

const fmt = (x: number, digits = 0) =>
  Number.isFinite(x)
    ? x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : '–';
const ms = (x: number) => fmt(x, x < 10 ? 2 : 1);

interface Metric {
  label: string;
  value(r: RunResult): number;
  show(x: number): string;
  scenarios: Scenario['id'][];
}

const METRICS: Metric[] = [
  { label: 'end to end msg/s', value: (r) => r.e2e, show: (x) => fmt(x), scenarios: ['a', 'b'] },
  {
    label: 'accepted req/s',
    value: (r) => r.accepted,
    show: (x) => fmt(x),
    scenarios: ['a', 'b', 'c0', 'c1'],
  },
  { label: 'accept p50 ms', value: (r) => r.p50, show: ms, scenarios: ['a', 'b', 'c0', 'c1'] },
  { label: 'accept p99 ms', value: (r) => r.p99, show: ms, scenarios: ['a', 'b', 'c0', 'c1'] },
  { label: 'gateway CPU-s', value: (r) => r.cpu, show: (x) => fmt(x, 2), scenarios: ['a', 'b', 'c0', 'c1'] },
  { label: 'peak RSS MB', value: (r) => r.rss, show: (x) => fmt(x), scenarios: ['a', 'b', 'c0', 'c1'] },
];

function table(results: RunResult[], peers: Peer[]): string {
  const kannel = peers.find((p) => p.name === 'Kannel 100')?.name ?? '';
  const others = peers.filter((p) => p.name !== 'smsgw').map((p) => p.name);
  const head = [
    'scenario',
    'metric',
    ...others.map((n) => `${n} (median)`),
    'smsgw (median)',
    `smsgw / ${kannel}, per pair`,
    'median ratio',
    ...others.filter((n) => n !== kannel).map((n) => `smsgw / ${n} (medians)`),
  ];
  const rows = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const s of SCENARIOS.filter((x) => results.some((r) => r.scenario === x.id))) {
    for (const m of METRICS.filter((x) => x.scenarios.includes(s.id))) {
      const of = (peer: string) => results.filter((r) => r.peer === peer && r.scenario === s.id);
      const med = (peer: string) => median(of(peer).map(m.value));
      const smsgw = of('smsgw');
      const ratios = smsgw.map((r) => {
        const k = of(kannel).find((x) => x.pair === r.pair);
        return k ? m.value(r) / m.value(k) : NaN;
      });
      rows.push(
        `| ${s.title} | ${m.label} | ${others.map((n) => (of(n).length ? m.show(med(n)) : '')).join(' | ')} | ${m.show(med('smsgw'))} | ${ratios.map((x) => fmt(x, 2)).join(', ')} | ${fmt(median(ratios), 2)} | ${others
          .filter((n) => n !== kannel)
          .map((n) => (of(n).length ? fmt(med('smsgw') / med(n), 2) : ''))
          .join(' | ')} |`,
      );
    }
  }
  return rows.join('\n');
}

const BEGIN = '<!-- bench:vs-kannel begin -->';
const END = '<!-- bench:vs-kannel end -->';

/** Replaces the text between the markers in docs/benchmarks.md (appends a section the first time). */
function writeDocs(body: string): void {
  const file = 'docs/benchmarks.md';
  const doc = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const block = `${BEGIN}\n\n${body.trim()}\n\n${END}`;
  const start = doc.indexOf(BEGIN);
  const stop = doc.indexOf(END);
  const out =
    start !== -1 && stop > start
      ? doc.slice(0, start) + block + doc.slice(stop + END.length)
      : `${doc.trimEnd()}\n\n## smsgw vs Kannel\n\n${block}\n`;
  writeFileSync(file, out);
  execFileSync('npx', ['prettier', '--log-level', 'warn', '--write', file], { stdio: 'inherit' });
}

async function main(): Promise<void> {
  const sbin = findKannel();
  if (!sbin) {
    process.stdout.write(
      'Kannel (bearerbox, smsbox) is not installed, so there is nothing to compare with: ' +
        '`apt-get install kannel` (Debian/Ubuntu), or set KANNEL_SBIN to the directory holding them.\n',
    );
    return;
  }
  // The compiled server, as `npm start` runs it (rebuilt only when a source is newer).
  execFileSync(process.execPath, ['scripts/build-server.mjs'], { stdio: 'inherit' });
  const peers = [kannelPeer(sbin, 100), kannelPeer(sbin, 500), smsgwPeer()].filter(
    (p) => !ONLY_PEERS || ONLY_PEERS.includes(p.name),
  );
  const results: RunResult[] = [];
  const load: number[] = [];
  const started = Date.now();
  for (let pair = 0; pair < PAIRS; pair++) {
    for (const s of SCENARIOS.filter((x) => !ONLY_SCENARIOS || ONLY_SCENARIOS.includes(x.id))) {
      const order = pair % 2 === 0 ? peers : [...peers].reverse();
      for (const peer of order.filter((p) => p.runs(s))) {
        load.push(loadavg()[0] as number);
        const r = await runOnce(peer, s, pair);
        results.push(r);
        process.stdout.write(
          `pair ${pair + 1} ${s.title.padEnd(40)} ${peer.name.padEnd(10)} e2e ${fmt(r.e2e).padStart(6)} msg/s  ` +
            `accept ${fmt(r.accepted).padStart(6)} req/s p50 ${ms(r.p50)} p99 ${ms(r.p99)} ms  ` +
            `CPU ${fmt(r.cpu, 2)} s  RSS ${fmt(r.rss)} MB  bench CPU ${fmt(r.benchCpu, 2)}/${fmt(r.wall, 2)} s` +
            (r.reconnects ? `  reconnects ${r.reconnects}` : '') +
            '\n',
        );
      }
    }
  }
  const minutes = (Date.now() - started) / 60_000;
  const smsgwOther = results
    .filter((r) => r.peer === 'smsgw' && r.scenario === 'b')
    .map((r) => r.otherCallbacks);
  const lines = [
    `Command: \`${commandLine()}\` — ${N} single-recipient requests per run at concurrency ${C} ((a), (b)) and ${SEQ_N} sequential ones ((c)); ${PAIRS} interleaved pairs, each run on a freshly started gateway. Machine: ${machine()}; load average (1 min) before the runs ${fmt(Math.min(...load), 1)}–${fmt(Math.max(...load), 1)} (other engineers' work shares it); ${fmt(minutes, 1)} minutes in all.`,
    '',
    `Both gateways submit to the same SMPP sink (bench/smpp-sink.ts: the project's SMSC simulator, every message DELIVRD, receipts ${RECEIPT_DELAY_MS} ms after the submit) and call back the same HTTP counter; one load generator (bench/load.ts, keep-alive connections opened one by one before the clock starts). Kannel 1.4.5: bearerbox + smsbox, log level warning, no access log, internal DLR storage, \`max-pending-submits\` 100 and (concurrent scenarios) 500; \`/cgi-bin/sendsms\` GET, with \`dlr-mask=3\` + \`dlr-url\` for receipts. smsgw: the compiled build as \`npm start\` runs it (\`node ${compiledStartArgs().join(' ')}\`), SQLite in a temp directory, one SMPP channel (window ${SMSGW_WINDOW}, max_in_flight 400), \`POST /v1/messages\` JSON with \`delivery_report\` false/true and the account's status webhook for receipts (which also reports \`sent\`: ${smsgwOther.join(', ') || '–'} such callbacks per run, not counted as final).`,
    '',
    'End to end: first request → last new `submit_sm` at the sink (no receipts) or → last final-state callback (receipts). Gateway CPU-s: user + system from /proc over the run (Kannel: both boxes); peak RSS: VmRSS sampled every 50 ms (Kannel: both boxes). Every run checked: every request accepted, every message at the sink exactly once, with receipts every final callback exactly once (duplicates counted: 0). Ratios smsgw / Kannel: above 1 is better for smsgw in msg/s and req/s, below 1 in ms, CPU-s and MB.',
    '',
    table(results, peers),
    '',
    'All runs (end to end msg/s; (c): accept p50 ms):',
    '',
    ...peers.flatMap((p) =>
      SCENARIOS.filter((s) => results.some((r) => r.peer === p.name && r.scenario === s.id)).map(
        (s) =>
          `- ${p.name}, ${s.title}: ${results
            .filter((r) => r.peer === p.name && r.scenario === s.id)
            .map((r) => (s.concurrency > 1 ? fmt(r.e2e) : ms(r.p50)))
            .join(', ')}`,
      ),
    ),
  ];
  process.stdout.write(`\n${lines.join('\n')}\n`);
  if (WRITE) writeDocs(lines.join('\n'));
}

function commandLine(): string {
  const knobs = ['BENCH_N', 'BENCH_SEQ_N', 'BENCH_C', 'BENCH_PAIRS', 'BENCH_RECEIPT_DELAY_MS']
    .filter((k) => process.env[k] !== undefined)
    .map((k) => `${k}=${process.env[k]}`);
  return [...knobs, 'npm run bench:vs-kannel'].join(' ');
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:vs-kannel failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
