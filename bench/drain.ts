/**
 * `npm run bench:drain`: the send side alone (issue 13) — how fast the gateway drains a backlog
 * to one SMPP channel: dispatcher claim → submit_sm → submit_sm_resp → `sent` outcome.
 *
 * The compiled gateway (`npm run build` first) runs in its own process (SQLite synchronous=FULL)
 * with one SMPP channel created disabled; DRAIN_N messages are queued through the HTTP API (bulk
 * POSTs of 1,000 recipients, no delivery report), then the channel is enabled and the clock runs
 * from that PATCH to the last new submit_sm at the sink (bench/smpp-sink.ts, this process).
 * Reported: msg/s, the gateway's CPU seconds over the drain (until every message is final, so
 * the outcome writes count) and per message, its peak RSS sampled during the drain.
 *
 * The queuing is measured too (issue 13's "1,000,000 queued"): the accept rate of the first and
 * the last tenth of the backlog (100k each at DRAIN_N=1000000), the peak RSS while queuing and
 * the RSS once everything is queued, before the channel is enabled, and the gateway's CPU per
 * accepted message. DRAIN_QUEUE_ONLY=1 stops there (the drain figures print as NaN).
 *
 * Verifies, or fails: every message at the sink exactly once and every message final (`sent`).
 * DRAIN_N (100000; 1000000 for the issue's figure), DRAIN_ROUNDS (1), DRAIN_PROF=dir (node
 * --cpu-prof), DRAIN_GATEWAY_DIR=<checkout> (another checkout's build, for A/B runs).
 */
import { rmSync } from 'node:fs';
import { Pool } from 'undici';
import { exited } from '../test/support/net.js';
import { startSink } from './smpp-sink.js';
import { api, cpuSeconds, machine, median, peakRss, rssMb, startCompiled, waitUntil } from './support.js';

const KEY = 'bench-admin-key-0123456789abcdef';
const N = Number(process.env.DRAIN_N ?? 100_000);
const ROUNDS = Number(process.env.DRAIN_ROUNDS ?? 1);
const PER_REQUEST = 1000;
const QUEUE_CONCURRENCY = 4;
const WINDOW = 200;
const MAX_IN_FLIGHT = 400;
/** DRAIN_QUEUE_ONLY=1: measure the queuing, stop before the drain (1M queued without the drain's minutes). */
const QUEUE_ONLY = process.env.DRAIN_QUEUE_ONLY === '1';

interface Run {
  /** Accepted msg/s over the first and the last tenth of the backlog. */
  queueFirstPerSec: number;
  queueLastPerSec: number;
  queuePeakRssMb: number;
  /** RSS with the whole backlog queued, before the channel is enabled. */
  queuedRssMb: number;
  /** Gateway CPU-ms per message accepted while queuing. */
  queueCpuMsPerMsg: number;
  msgPerSec: number;
  seconds: number;
  finalSeconds: number;
  cpuSeconds: number;
  cpuMsPerMsg: number;
  peakRssMb: number;
  duplicates: number;
}

const destination = (i: number) => `+4477${String(i).padStart(8, '0')}`;

/** Queues N messages; returns the accept rates (msg/s) of the first and the last tenth. */
async function queue(url: string): Promise<{ first: number; last: number }> {
  const pool = new Pool(url, { connections: QUEUE_CONCURRENCY, pipelining: 1 });
  let next = 0;
  let accepted = 0;
  const tenth = Math.max(PER_REQUEST, Math.floor(N / 10));
  const started = performance.now();
  let firstAt = NaN;
  let lastFrom = NaN;
  try {
    await Promise.all(
      Array.from({ length: QUEUE_CONCURRENCY }, async () => {
        while (next < N) {
          const from = next;
          next = Math.min(N, next + PER_REQUEST);
          const to = Array.from({ length: next - from }, (_, k) => destination(from + k));
          const res = await pool.request({
            path: '/v1/messages',
            method: 'POST',
            headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
            body: JSON.stringify({ to, text: 'Drain bench: your order has shipped', delivery_report: false }),
          });
          const body = await res.body.text();
          if (res.statusCode !== 202) throw new Error(`POST ${res.statusCode}: ${body}`);
          const n = (JSON.parse(body) as { accepted?: number }).accepted;
          if (n !== to.length) throw new Error(`${n} of ${to.length} accepted: ${body}`);
          accepted += n;
          if (Number.isNaN(firstAt) && accepted >= tenth) firstAt = performance.now();
          if (Number.isNaN(lastFrom) && accepted >= N - tenth) lastFrom = performance.now();
        }
      }),
    );
    const ended = performance.now();
    return { first: (tenth / (firstAt - started)) * 1000, last: (tenth / (ended - lastFrom)) * 1000 };
  } finally {
    await pool.close();
  }
}

async function run(): Promise<Run> {
  const sink = await startSink(0);
  const gw = await startCompiled('DRAIN', { SMSGW_ADMIN_API_KEY: KEY, SMSGW_SIMULATOR: 'false' });
  const call = (method: string, path: string, body?: unknown) => api(gw.url, KEY, method, path, body);
  try {
    const ch = await call('POST', '/v1/channels', {
      name: 'upstream',
      type: 'smpp',
      enabled: false,
      max_in_flight: MAX_IN_FLIGHT,
      config: { host: '127.0.0.1', port: sink.port, systemId: 'gw', password: 'pw', window: WINDOW },
    });
    if (!ch.id) throw new Error(`cannot create the channel: ${JSON.stringify(ch)}`);
    const q0 = performance.now();
    const queueRss = peakRss([gw.proc.pid], 200);
    const queueCpu0 = cpuSeconds(gw.proc.pid);
    const rates = await queue(gw.url);
    const queueCpuMsPerMsg = ((cpuSeconds(gw.proc.pid) - queueCpu0) / N) * 1000;
    const queuePeak = queueRss.stop();
    console.log(
      `queued ${N} in ${((performance.now() - q0) / 1000).toFixed(1)} s: first tenth ${rates.first.toFixed(0)} msg/s, ` +
        `last tenth ${rates.last.toFixed(0)} msg/s, peak RSS ${queuePeak.toFixed(0)} MB`,
    );
    if (sink.unique !== 0) throw new Error(`${sink.unique} submits before the channel was enabled`);
    await new Promise((r) => setTimeout(r, 1000));
    const queuedRss = rssMb(gw.proc.pid);
    const queued = {
      queueFirstPerSec: rates.first,
      queueLastPerSec: rates.last,
      queuePeakRssMb: queuePeak,
      queuedRssMb: queuedRss,
      queueCpuMsPerMsg,
    };
    if (QUEUE_ONLY) {
      const none = { msgPerSec: NaN, seconds: NaN, finalSeconds: NaN, cpuSeconds: NaN, cpuMsPerMsg: NaN };
      return { ...queued, ...none, peakRssMb: NaN, duplicates: 0 };
    }
    const cpu0 = cpuSeconds(gw.proc.pid);
    const rss = peakRss([gw.proc.pid]);
    const started = performance.now();
    const en = await call('PATCH', `/v1/channels/${ch.id}`, { enabled: true });
    if (!en.id) throw new Error(`cannot enable the channel: ${JSON.stringify(en)}`);
    await waitUntil(
      () => sink.unique >= N,
      1_800_000,
      () => `${sink.unique} of ${N} at the sink`,
    );
    const seconds = (sink.lastNewAt - started) / 1000;
    // Every message final: without a report asked for, `sent` is.
    for (;;) {
      const open = await call('GET', '/v1/messages?status=scheduled,queued,sending&limit=1');
      if (open.data.length === 0) break;
      if (performance.now() - started > 1_800_000) throw new Error('messages left open');
      await new Promise((r) => setTimeout(r, 20));
    }
    const finalSeconds = (performance.now() - started) / 1000;
    const cpu = cpuSeconds(gw.proc.pid) - cpu0;
    const peak = rss.stop();
    const sent = await call('GET', '/v1/messages?limit=1');
    if (sink.unique !== N || sink.duplicates !== 0)
      throw new Error(`${sink.unique} distinct submits for ${N} messages, ${sink.duplicates} duplicates`);
    if (sent.data?.[0]?.status !== 'sent')
      throw new Error(`the last message is not sent: ${JSON.stringify(sent).slice(0, 300)}`);
    return {
      ...queued,
      msgPerSec: N / seconds,
      seconds,
      finalSeconds,
      cpuSeconds: cpu,
      cpuMsPerMsg: (cpu / N) * 1000,
      peakRssMb: peak,
      duplicates: sink.duplicates,
    };
  } finally {
    const bounded = (p: Promise<unknown>) =>
      Promise.race([p, new Promise((r) => setTimeout(r, 5000).unref())]);
    gw.proc.kill('SIGTERM');
    await bounded(exited(gw.proc));
    if (gw.proc.exitCode === null && gw.proc.signalCode === null) gw.proc.kill('SIGKILL');
    await bounded(sink.stop());
    rmSync(gw.dataDir, { recursive: true, force: true });
  }
}

const runs: Run[] = [];
for (let r = 0; r < ROUNDS; r++) {
  const x = await run();
  runs.push(x);
  console.log(JSON.stringify({ gateway: process.env.DRAIN_GATEWAY_DIR ?? process.cwd(), n: N, ...x }));
}
const med = (f: (r: Run) => number) => median(runs.map(f));
console.log(
  `drain of ${N} (SMPP window ${WINDOW}, max_in_flight ${MAX_IN_FLIGHT}; ${machine()}), median of ${ROUNDS}: ` +
    `${med((r) => r.msgPerSec).toFixed(0)} msg/s to the last submit_sm, all final after ${med((r) => r.finalSeconds).toFixed(1)} s, ` +
    `${med((r) => r.cpuSeconds).toFixed(2)} gateway CPU-s (${med((r) => r.cpuMsPerMsg).toFixed(3)} CPU-ms/msg), ` +
    `peak RSS ${med((r) => r.peakRssMb).toFixed(0)} MB, duplicates 0; queuing: first tenth ` +
    `${med((r) => r.queueFirstPerSec).toFixed(0)} msg/s, last tenth ${med((r) => r.queueLastPerSec).toFixed(0)} msg/s, ` +
    `peak RSS ${med((r) => r.queuePeakRssMb).toFixed(0)} MB, ${med((r) => r.queuedRssMb).toFixed(0)} MB once queued, ` +
    `${med((r) => r.queueCpuMsPerMsg).toFixed(3)} CPU-ms/msg` +
    (QUEUE_ONLY ? ' (DRAIN_QUEUE_ONLY: not drained)' : ''),
);
// The sink's and the pool's keep-alive sockets must not keep the bench alive.
process.exit(0);
