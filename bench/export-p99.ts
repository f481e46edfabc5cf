/**
 * `npm run bench:export`: does a heavy read stall the send API? The gateway runs as its own
 * process (SQLite, synchronous=FULL, no channel: new messages stay queued) over a database of
 * BENCH_EXPORT_ROWS messages (default 1,000,000, written straight into the SQLite file before the
 * start, 20 days of history, two owners). POST /v1/messages (one recipient, keep-alive,
 * concurrency 8) is timed: alone; while GET /v1/messages/export streams every row; while
 * GET /v1/stats (30 days by day, every message) runs back to back. Plus the time of a
 * GET /metrics scrape (the first counts, the next ones read the sample).
 *
 * BENCH_EXPORT_TITLE names the docs/benchmarks.md section written (to keep a before/after pair).
 * The seeded file is kept in the temp directory (smsgw-bench-export-<rows>.db) for the next run.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { v7 } from 'uuid';
import { openDb } from '../src/store/db.js';
import { machine, percentile, startGateway, writeSection } from './support.js';

const ROWS = Number(process.env.BENCH_EXPORT_ROWS ?? 1_000_000);
const TITLE = process.env.BENCH_EXPORT_TITLE ?? 'Heavy reads under load (export, stats, metrics)';
const KEY = 'bench-admin-key-0123456789abcdef';
const CONCURRENCY = 8;
const BASELINE_MS = 10_000;
const STATS_CALLS = 5;
const DAY = 86_400_000;

/** A SQLite file with ROWS final messages over the last 20 days; built once per size, then copied. */
async function seeded(): Promise<string> {
  const cached = join(tmpdir(), `smsgw-bench-export-${ROWS}.db`);
  if (existsSync(cached)) return cached;
  const building = `${cached}.${process.pid}.tmp`;
  const t0 = performance.now();
  const db = await openDb({ sqlitePath: building, sqliteSynchronous: 'NORMAL' });
  const s = db.sqlite as NonNullable<typeof db.sqlite>;
  const cols = [
    'id',
    'owner_id',
    'batch_id',
    'to',
    'text',
    'encoding',
    'segments',
    'flash',
    'expires_at',
    'status',
    'attempts',
    'max_attempts',
    'tries_per_attempt',
    'next_attempt_at',
    'report_requested',
    'created_at',
    'updated_at',
    'sent_at',
    'final_at',
  ];
  const insert = s.prepare(
    `insert into messages (${cols.map((c) => `"${c}"`).join(',')}) values (${cols.map(() => '?').join(',')})`,
  );
  const start = Date.now() - 20 * DAY;
  const chunk = s.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const at = start + Math.floor((i * 20 * DAY) / ROWS);
      const status = i % 20 === 0 ? 'failed' : i % 20 === 1 ? 'expired' : 'delivered';
      insert.run(
        v7({ msecs: at }),
        i % 10 === 0 ? 'bench-other' : 'bench-shop',
        `batch-${Math.floor(i / 1000)}`,
        `+1555${String(i).padStart(7, '0')}`,
        'Your order has shipped and will arrive tomorrow.',
        'gsm7',
        1,
        0,
        at + DAY,
        status,
        1,
        3,
        1,
        at,
        1,
        at,
        at,
        at,
        at,
      );
    }
  });
  for (let i = 0; i < ROWS; i += 50_000) chunk(i, Math.min(ROWS, i + 50_000));
  await db.close();
  renameSync(building, cached);
  process.stdout.write(`seeded ${ROWS} messages in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  return cached;
}

interface Load {
  stop(): Promise<{ times: number[]; errors: number }>;
}

/** CONCURRENCY loops of single-recipient POST /v1/messages over keep-alive connections. */
function sendLoad(pool: Pool): Load {
  const times: number[] = [];
  let errors = 0;
  let running = true;
  let n = 0;
  const loop = async () => {
    while (running) {
      const to = `+1666${String(n++ % 10_000_000).padStart(7, '0')}`;
      const t0 = performance.now();
      try {
        const res = await pool.request({
          method: 'POST',
          path: '/v1/messages',
          headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify({ to, text: 'Your code is 123456' }),
        });
        await res.body.text();
        if (res.statusCode === 202) times.push(performance.now() - t0);
        else errors++;
      } catch {
        // A stalled server answers 408 or resets the connection: counted, not fatal.
        errors++;
      }
    }
  };
  const loops = Array.from({ length: CONCURRENCY }, loop);
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return { times: times.sort((a, b) => a - b), errors };
    },
  };
}

/**
 * The gateway's own event-loop delay since the previous scrape (prom-client resets its
 * histogram on every collect): max and p99 in ms.
 */
async function loopLag(url: string): Promise<{ max: string; p99: string }> {
  const text = await fetch(`${url}/metrics`).then((r) => r.text());
  const read = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN) * 1000;
  return {
    max: read('nodejs_eventloop_lag_max_seconds').toFixed(0),
    p99: read('nodejs_eventloop_lag_p99_seconds').toFixed(0),
  };
}

/** The gateway's resident memory, sampled every 200 ms until stopped: the peak in MB. */
function rssPeak(pid: number | undefined): { stop(): number } {
  let peak = 0;
  const read = () => {
    try {
      const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
      peak = Math.max(peak, kb / 1024);
    } catch {
      // not Linux, or gone
    }
  };
  read();
  const timer = setInterval(read, 200);
  return {
    stop() {
      clearInterval(timer);
      read();
      return peak;
    },
  };
}

const fmt = ({ times: sorted, errors }: { times: number[]; errors: number }) => ({
  n: sorted.length,
  errors,
  p50: percentile(sorted, 50).toFixed(1),
  p99: percentile(sorted, 99).toFixed(1),
  max: (sorted[sorted.length - 1] ?? NaN).toFixed(1),
});

async function main(): Promise<void> {
  const template = await seeded();
  const dataDir = mkdtempSync(join(tmpdir(), 'smsgw-bench-export-'));
  copyFileSync(template, join(dataDir, 'smsgw.db'));
  const gw = await startGateway({
    SMSGW_DATA_DIR: dataDir,
    SMSGW_ADMIN_API_KEY: KEY,
    SMSGW_SIMULATOR: 'false',
    SMSGW_SMPP_PORT: '0',
    SMSGW_LOG_LEVEL: 'error',
  });
  const pool = new Pool(gw.url, { connections: CONCURRENCY + 2, pipelining: 1 });
  const auth = { authorization: `Bearer ${KEY}` };
  try {
    const scrapes: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      const m = await fetch(`${gw.url}/metrics`).then((r) => r.text());
      scrapes.push(performance.now() - t0);
      if (!m.includes('smsgw_messages{status="delivered"}')) throw new Error('no smsgw_messages in /metrics');
    }

    // Warm-up, then the send API alone.
    await sendLoad(pool).stop();
    await loopLag(gw.url);
    let load = sendLoad(pool);
    await new Promise((r) => setTimeout(r, BASELINE_MS));
    const alone = { ...fmt(await load.stop()), lag: await loopLag(gw.url) };
    const rssBefore = rssPeak(gw.proc.pid).stop();

    // The same while an export of every message streams (read as fast as the client can).
    await loopLag(gw.url);
    load = sendLoad(pool);
    const rss = rssPeak(gw.proc.pid);
    const t0 = performance.now();
    const res = await fetch(`${gw.url}/v1/messages/export`, { headers: auth });
    let bytes = 0;
    let lines = 0;
    let exportError = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        bytes += chunk.length;
        for (const b of chunk) if (b === 10) lines++;
      }
    } catch (err) {
      exportError = ` (cut off: ${(err as Error).message})`;
    }
    const exportSeconds = (performance.now() - t0) / 1000;
    const rssExport = rss.stop();
    const duringExport = { ...fmt(await load.stop()), lag: await loopLag(gw.url) };
    const rows = lines - 1;

    // The same while GET /v1/stats over 30 days (every message) runs back to back.
    const since = encodeURIComponent(new Date(Date.now() - 30 * DAY).toISOString());
    load = sendLoad(pool);
    await loopLag(gw.url);
    const statsTimes: number[] = [];
    for (let i = 0; i < STATS_CALLS; i++) {
      const s0 = performance.now();
      const r = await fetch(`${gw.url}/v1/stats?since=${since}&bucket=day&tz=Europe/Berlin`, {
        headers: auth,
      });
      const body = (await r.json()) as { totals?: { messages: number } };
      if ((body.totals?.messages ?? 0) < ROWS) throw new Error(`stats counted ${body.totals?.messages}`);
      statsTimes.push(performance.now() - s0);
    }
    const duringStats = { ...fmt(await load.stop()), lag: await loopLag(gw.url) };
    statsTimes.sort((a, b) => a - b);

    const lines_ = [
      `Command: \`npm run bench:export\` — gateway in its own process (SQLite synchronous=FULL, no channel) over ${ROWS.toLocaleString('en')} messages written into the file before the start; POST /v1/messages with one recipient, ${CONCURRENCY} concurrent keep-alive clients, ms. Machine: ${machine()}, shared with other work.`,
      '',
      '| send API | answered 202 | failed | p50 ms | p99 ms | max ms | gateway loop delay p99 / max ms |',
      '| --- | --- | --- | --- | --- | --- | --- |',
      ...(
        [
          [`alone, ${BASELINE_MS / 1000} s`, alone],
          ['during GET /v1/messages/export of every row', duringExport],
          [`during ${STATS_CALLS} GET /v1/stats (30 days by day)`, duringStats],
        ] as const
      ).map(
        ([label, r]) =>
          `| ${label} | ${r.n} | ${r.errors} | ${r.p50} | ${r.p99} | ${r.max} | ${r.lag.p99} / ${r.lag.max} |`,
      ),
      '',
      `Export: ${rows.toLocaleString('en')} rows${exportError}, ${(bytes / 1e6).toFixed(0)} MB in ${exportSeconds.toFixed(1)} s; gateway RSS ${rssBefore.toFixed(0)} MB before it, peak ${rssExport.toFixed(0)} MB during it. GET /v1/stats over every message: median ${percentile(statsTimes, 50).toFixed(0)} ms. GET /metrics: first scrape ${scrapes[0]?.toFixed(1)} ms, next ${scrapes[1]?.toFixed(1)} and ${scrapes[2]?.toFixed(1)} ms.`,
    ];
    const body = lines_.join('\n');
    writeSection(TITLE, body);
    process.stdout.write(`${body}\n`);
  } finally {
    await pool.close();
    await gw.stop();
    rmSync(dataDir, { recursive: true, force: true }); // 450 MB per run on a shared disk
  }
}

await main();
