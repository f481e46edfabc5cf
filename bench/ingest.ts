/**
 * `npm run bench:ingest`: how fast the HTTP API accepts messages durably, on SQLite.
 * The gateway runs as its own process (as in production, synchronous=FULL); this process is the
 * load generator. Channels are off so the numbers are ingest alone.
 *  (a) single-message POSTs at concurrency 64; (b) bulk POSTs of 1,000 recipients.
 * Each scenario runs 3 times; the median run is reported.
 */
import { Pool } from 'undici';
import { cpuSeconds, machine, median, percentile, startGateway, writeSection } from './support.js';

const KEY = 'bench-admin-key-0123456789abcdef';
const SINGLE_REQUESTS = Number(process.env.BENCH_SINGLE ?? 30_000);
const BULK_REQUESTS = Number(process.env.BENCH_BULK ?? 100);
const CONCURRENCY = 64;
const BULK_CONCURRENCY = 8;
const ROUNDS = 3;

interface Run {
  seconds: number;
  requests: number;
  messages: number;
  p50: number;
  p99: number;
  errors: number;
  /** The gateway process's CPU seconds (user + system) during the run. */
  cpu: number;
}

async function load(
  url: string,
  pid: number | undefined,
  total: number,
  concurrency: number,
  body: (i: number) => string,
): Promise<Run> {
  const pool = new Pool(url, { connections: concurrency, pipelining: 1 });
  const latencies: number[] = [];
  let next = 0;
  let messages = 0;
  let errors = 0;
  const started = performance.now();
  const cpu0 = cpuSeconds(pid);
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        const t0 = performance.now();
        const res = await pool.request({
          path: '/v1/messages',
          method: 'POST',
          headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
          body: body(i),
        });
        const json = (await res.body.json()) as { accepted?: number };
        latencies.push(performance.now() - t0);
        if (res.statusCode === 202) messages += json.accepted ?? 0;
        else errors++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await pool.close();
  latencies.sort((a, b) => a - b);
  return {
    seconds,
    requests: total,
    messages,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    errors,
    cpu: cpuSeconds(pid) - cpu0,
  };
}

/** Median over the runs of the gateway's CPU per message (steadier than rates on a shared box). */
function perMessage(runs: Run[]): string {
  return median(runs.map((r) => (r.cpu / Math.max(1, r.messages)) * 1e6)).toFixed(1);
}

function medianRun(runs: Run[]): Run {
  const byRate = [...runs].sort((a, b) => a.requests / a.seconds - b.requests / b.seconds);
  return byRate[Math.floor(byRate.length / 2)] as Run;
}

/**
 * BENCH_POLICY=1: every sending-policy rule does its full work for every message (issue 14):
 * 10,000 numbers on the global blacklist (none of the bench's), global caps per hour and per day
 * (each message counted against them), a quiet-hours window for every category that is never in
 * force (each message's zone worked out), and the sender prepaid with a price per prefix (each
 * message is charged).
 */
async function withPolicy(url: string): Promise<void> {
  const call = async (method: string, path: string, body: string, type = 'application/json') => {
    const res = await fetch(url + path, {
      method,
      headers: { authorization: `Bearer ${KEY}`, ...(body ? { 'content-type': type } : {}) },
      body: body || undefined,
    });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as Record<string, unknown>;
  };
  const csv = Array.from({ length: 10_000 }, (_, i) => `+3361${String(i).padStart(7, '0')},bench`).join('\n');
  await call('POST', '/v1/blacklist/import?scope=global', csv, 'text/csv');
  await call(
    'PUT',
    '/v1/policy/caps',
    JSON.stringify({
      scope: 'global',
      caps: [
        { period: 'hour', max: 100 },
        { period: 'day', max: 100 },
      ],
    }),
  );
  await call('PUT', '/v1/prices', JSON.stringify({ prefix: 'default', per_segment: 2 }));
  await call('PUT', '/v1/prices', JSON.stringify({ prefix: '44', per_segment: 1 }));
  const h = (d: number) => String((new Date().getUTCHours() + d + 24) % 24).padStart(2, '0');
  await call(
    'PATCH',
    '/v1/policy',
    JSON.stringify({ quiet_hours: [{ category: '*', start: `${h(15)}:00`, end: `${h(16)}:00` }] }),
  );
  const me = await call('GET', '/v1/policy', '');
  await call(
    'POST',
    `/v1/users/${String(me.user_id)}/credit`,
    JSON.stringify({ amount: 1e12, mode: 'prepaid' }),
  );
}

async function main(): Promise<void> {
  const gw = await startGateway({ SMSGW_ADMIN_API_KEY: KEY, SMSGW_SIMULATOR: 'false' });
  try {
    if (process.env.BENCH_POLICY === '1') await withPolicy(gw.url);
    // Warm-up: JIT, prepared statements, connection pool.
    await load(gw.url, gw.proc.pid, 2000, CONCURRENCY, (i) =>
      JSON.stringify({ to: `+1555${String(i).padStart(7, '0')}`, text: 'warm' }),
    );
    const single: Run[] = [];
    const bulk: Run[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      single.push(
        await load(gw.url, gw.proc.pid, SINGLE_REQUESTS, CONCURRENCY, (i) =>
          JSON.stringify({ to: `+1555${String(i).padStart(7, '0')}`, text: `Your code is ${100000 + i}` }),
        ),
      );
      bulk.push(
        await load(gw.url, gw.proc.pid, BULK_REQUESTS, BULK_CONCURRENCY, (i) =>
          JSON.stringify({
            to: Array.from(
              { length: 1000 },
              (_, k) => `+4477${String(i % 100).padStart(2, '0')}${String(k).padStart(6, '0')}`,
            ),
            text: 'Campaign: 20% off this weekend only',
          }),
        ),
      );
    }
    const s = medianRun(single);
    const b = medianRun(bulk);
    const lines = [
      `Command: \`npm run bench:ingest\` (gateway in its own process, SQLite WAL synchronous=FULL, group commit; channels off). Machine: ${machine()}. Median of ${ROUNDS} runs.`,
      '',
      '| scenario | requests | messages | req/s | messages/s | p50 ms | p99 ms | errors | gateway CPU µs/message |',
      '|---|---|---|---|---|---|---|---|---|',
      `| single-message POST, concurrency ${CONCURRENCY} | ${s.requests} | ${s.messages} | ${(s.requests / s.seconds).toFixed(0)} | ${(s.messages / s.seconds).toFixed(0)} | ${s.p50.toFixed(1)} | ${s.p99.toFixed(1)} | ${s.errors} | ${perMessage(single)} |`,
      `| bulk POST of 1,000 recipients, concurrency ${BULK_CONCURRENCY} | ${b.requests} | ${b.messages} | ${(b.requests / b.seconds).toFixed(1)} | ${(b.messages / b.seconds).toFixed(0)} | ${b.p50.toFixed(1)} | ${b.p99.toFixed(1)} | ${b.errors} | ${perMessage(bulk)} |`,
      '',
      `All runs (req/s single; messages/s bulk): ${single.map((r) => (r.requests / r.seconds).toFixed(0)).join(', ')}; ${bulk.map((r) => (r.messages / r.seconds).toFixed(0)).join(', ')}. Median single req/s: ${median(single.map((r) => r.requests / r.seconds)).toFixed(0)}.`,
    ];
    if (process.env.BENCH_NO_WRITE !== '1')
      writeSection('Ingest (HTTP API → durable queue)', lines.join('\n'));
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await gw.stop();
  }
}

await main();
