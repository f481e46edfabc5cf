/**
 * `npm run bench:accept` (issue 13): the accept path alone, `POST /v1/messages` with one
 * recipient, sequential (concurrency 1) and at concurrency 64, as bench:vs-kannel's scenarios (a)
 * and (c) send it (bench/load.ts, the same SMPP sink, the compiled gateway, SQLite
 * synchronous=FULL), without Kannel and without receipts, so a change to the accept path can be
 * compared A/B in a few minutes.
 *
 * ACCEPT_DIRS: comma-separated checkouts whose builds (`npm run build` in each) take turns, run
 * by run (e.g. `/work/base,.`); every round runs each concurrency once per checkout, interleaved.
 * ACCEPT_N (4000 requests per concurrent run), ACCEPT_SEQ_N (1000 per sequential run), ACCEPT_C
 * (`1,64`), ACCEPT_ROUNDS (3),
 * ACCEPT_PROF=dir: the gateway runs under `node --cpu-prof` and leaves its profile in dir.
 * ACCEPT_RECEIPTS=1: every message asks for a delivery report, the sink sends it at once, and a
 * run ends when every receipt was acknowledged by the gateway (committed) too.
 * ACCEPT_FSYNCS=1: `strace -f -c -e trace=fdatasync,fsync` is attached to the gateway for the
 * measured part of each run and the fsync calls per request are reported (strace slows every
 * syscall, so latencies and CPU of such runs are not comparable with runs without it).
 *
 * Per run: accept p50/p99 (send → answer read), requests per second, and the gateway's CPU
 * (/proc, user + system) from the first request until the last message reached the sink, per
 * request: the send side's share is in it (each accepted message is also claimed and sent).
 * It fails unless every request was accepted and every message reached the sink exactly once.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { runLoad } from './load.js';
import { startSink } from './smpp-sink.js';
import { api, cpuSeconds, machine, median, percentile, startGateway, waitUntil } from './support.js';

const KEY = 'bench-admin-key-0123456789abcdef';
const N = Number(process.env.ACCEPT_N ?? 4000);
const SEQ_N = Number(process.env.ACCEPT_SEQ_N ?? 1000);
const CONCURRENCIES = (process.env.ACCEPT_C ?? '1,64').split(',').map(Number);
const ROUNDS = Number(process.env.ACCEPT_ROUNDS ?? 3);
const DIRS = (process.env.ACCEPT_DIRS ?? '.').split(',').map((d) => resolve(d));
const PROF = process.env.ACCEPT_PROF;
const FSYNCS = process.env.ACCEPT_FSYNCS === '1';
const RECEIPTS = process.env.ACCEPT_RECEIPTS === '1';

/** Counts fdatasync + fsync calls of `pid` and its threads until `stop()` (strace -c). */
async function countFsyncs(pid: number | undefined): Promise<{ stop(): Promise<number> }> {
  const st = spawn('strace', ['-f', '-c', '-e', 'trace=fdatasync,fsync', '-p', String(pid)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  st.stderr.on('data', (d: Buffer) => (err += d.toString()));
  // strace prints "attached" per thread once it traces them.
  await waitUntil(
    () => /attached/.test(err),
    10_000,
    () => `strace did not attach: ${err}`,
  );
  return {
    async stop() {
      const done = new Promise((r) => st.once('exit', r));
      st.kill('SIGINT');
      await done;
      let n = 0;
      for (const m of err.matchAll(/^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(fdatasync|fsync)$/gm))
        n += Number(m[1]);
      return n;
    },
  };
}

interface Run {
  dir: string;
  concurrency: number;
  reqPerSec: number;
  p50: number;
  p99: number;
  cpuMsPerReq: number;
  fsyncsPerReq?: number;
}

const to = (i: number) => `+4477${String(i).padStart(8, '0')}`;

async function run(dir: string, concurrency: number): Promise<Run> {
  const n = concurrency === 1 ? SEQ_N : N;
  const sink = await startSink(0);
  const gw = await startGateway({ SMSGW_ADMIN_API_KEY: KEY, SMSGW_SIMULATOR: 'false' }, true, {
    cwd: dir,
    nodeArgs: PROF ? ['--cpu-prof', `--cpu-prof-dir=${resolve(PROF)}`] : [],
    // One start on the shared machine at load average 30 took over a minute.
    readyTimeoutMs: 300_000,
  });
  try {
    const ch = await api(gw.url, KEY, 'POST', '/v1/channels', {
      name: 'sink',
      type: 'smpp',
      max_in_flight: 400,
      config: { host: '127.0.0.1', port: sink.port, systemId: 'smsgw', password: 'secret', window: 100 },
    });
    if (!ch.id) throw new Error(`cannot create the SMPP channel: ${JSON.stringify(ch)}`);
    await waitUntil(
      () => sink.sim.stats.binds > 0,
      30_000,
      () => 'no bind at the sink',
    );
    const headers = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };
    const fsyncs = FSYNCS ? await countFsyncs(gw.proc.pid) : undefined;
    const cpu0 = cpuSeconds(gw.proc.pid);
    const load = await runLoad({
      origin: gw.url,
      n,
      concurrency,
      warmPath: '/readyz',
      request: (i) => ({
        method: 'POST',
        path: '/v1/messages',
        headers,
        body: JSON.stringify({
          to: to(i),
          from: '12345',
          text: 'Your code is 123456',
          delivery_report: RECEIPTS,
        }),
      }),
      accepted: (_i, status) => status === 202,
    });
    if (load.errors > 0) throw new Error(`${load.errors} requests not accepted; first: ${load.firstError}`);
    await waitUntil(
      () => sink.unique >= n,
      60_000 + n * 50,
      () => `${sink.unique} of ${n} at the sink`,
    );
    if (RECEIPTS)
      await waitUntil(
        () => sink.sim.stats.receiptsAcked >= n,
        60_000 + n * 50,
        () => `${sink.sim.stats.receiptsAcked} of ${n} receipts acknowledged`,
      );
    const cpu = cpuSeconds(gw.proc.pid) - cpu0;
    const fsyncCalls = await fsyncs?.stop();
    if (sink.duplicates) throw new Error(`${sink.duplicates} duplicate submits at the sink`);
    return {
      dir,
      concurrency,
      reqPerSec: n / ((load.endedAt - load.startedAt) / 1000),
      p50: percentile(load.latenciesMs, 50),
      p99: percentile(load.latenciesMs, 99),
      cpuMsPerReq: (cpu * 1000) / n,
      ...(fsyncCalls === undefined ? {} : { fsyncsPerReq: fsyncCalls / n }),
    };
  } finally {
    await gw.stop();
    await sink.stop();
  }
}

const runs: Run[] = [];
for (let r = 0; r < ROUNDS; r++)
  for (const c of CONCURRENCIES)
    // Alternate which checkout goes first, so drift of the shared machine hits both.
    for (const dir of r % 2 === 0 ? DIRS : [...DIRS].reverse()) {
      const x = await run(dir, c);
      runs.push(x);
      console.log(JSON.stringify(x));
    }

const f = (x: number, d = 2) => x.toFixed(d);
const lines = [
  `Command: ${RECEIPTS ? 'ACCEPT_RECEIPTS=1 ' : ''}ACCEPT_N=${N} ACCEPT_SEQ_N=${SEQ_N} ACCEPT_C=${CONCURRENCIES.join(',')} ACCEPT_ROUNDS=${ROUNDS} npm run bench:accept; ${machine()}`,
  '',
  '| checkout | concurrency | req/s (median) | p50 ms (runs) | median | p99 ms (runs) | median | CPU-ms per request (runs) | median |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
];
for (const c of CONCURRENCIES)
  for (const dir of DIRS) {
    const of = runs.filter((x) => x.dir === dir && x.concurrency === c);
    const med = (g: (x: Run) => number) => median(of.map(g));
    const all = (g: (x: Run) => number) => of.map((x) => f(g(x))).join(', ');
    lines.push(
      `| ${dir} | ${c} | ${f(
        med((x) => x.reqPerSec),
        0,
      )} | ${all((x) => x.p50)} | ${f(med((x) => x.p50))} | ${all((x) => x.p99)} | ${f(med((x) => x.p99))} | ${all((x) => x.cpuMsPerReq)} | ${f(med((x) => x.cpuMsPerReq))} |`,
    );
  }
console.log(lines.join('\n'));
// Keep-alive sockets of the sink must not keep the bench alive.
process.exit(0);
