/**
 * `npm run bench:stats`: what the dashboard's overview costs. The gateway (own process, SQLite,
 * no channel, so messages stay queued) holds N messages from one user; GET /v1/stats for 30 days
 * by day, and for today by hour, and GET /v1/queue are timed as the admin (every message) and
 * as that user. The overview makes one 30-day stats call and one queue call every 10 s.
 * 20 calls each, median and p95.
 */
import { api, machine, median, percentile, startGateway, writeSection } from './support.js';

const TOTAL = Number(process.env.BENCH_STATS ?? 200_000);
const KEY = 'bench-admin-key-0123456789abcdef';
const CALLS = 20;

async function timed(url: string, auth: string, path: string): Promise<{ p50: number; p95: number }> {
  const times: number[] = [];
  for (let i = 0; i < CALLS; i++) {
    const t0 = performance.now();
    const res = await fetch(url + path, { headers: { authorization: auth } });
    if (res.status !== 200) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    await res.arrayBuffer();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { p50: median(times), p95: percentile(times, 95) };
}

async function main(): Promise<void> {
  const gw = await startGateway({ SMSGW_ADMIN_API_KEY: KEY, SMSGW_SIMULATOR: 'false', SMSGW_SMPP_PORT: '0' });
  try {
    await api(gw.url, KEY, 'POST', '/v1/users', { login: 'shop', password: 'shop-password' });
    const user = `Basic ${Buffer.from('shop:shop-password').toString('base64')}`;
    const text = 'Your order has shipped and will arrive tomorrow.';
    for (let i = 0; i < TOTAL; i += 1000) {
      const to = Array.from({ length: 1000 }, (_, j) => `+1555${String(i + j).padStart(7, '0')}`);
      const res = await fetch(`${gw.url}/v1/messages`, {
        method: 'POST',
        headers: { authorization: user, 'content-type': 'application/json' },
        body: JSON.stringify({ to, text }),
      });
      if (res.status !== 202) throw new Error(`ingest: ${res.status}`);
    }
    const month = encodeURIComponent(new Date(Date.now() - 30 * 86_400_000).toISOString());
    const today = encodeURIComponent(new Date(Date.now() - 86_400_000).toISOString());
    const rows = [
      ['admin, 30 days by day', `Bearer ${KEY}`, `/v1/stats?since=${month}&bucket=day&tz=Europe/Berlin`],
      ['user, 30 days by day', user, `/v1/stats?since=${month}&bucket=day&tz=Europe/Berlin`],
      ['user, 24 hours by hour', user, `/v1/stats?since=${today}&bucket=hour&tz=Europe/Berlin`],
      ['admin, queue (GET /v1/queue)', `Bearer ${KEY}`, '/v1/queue'],
      ['user, queue (GET /v1/queue)', user, '/v1/queue'],
    ] as const;
    const lines = [
      `Command: \`npm run bench:stats\` — GET /v1/stats and GET /v1/queue over ${TOTAL.toLocaleString('en')} messages of one user, all queued (gateway in its own process, SQLite), ${CALLS} calls each, after one warm-up call. Machine: ${machine()}.`,
      '',
      '| query | p50 ms | p95 ms |',
      '|---|---|---|',
    ];
    for (const [label, auth, path] of rows) {
      await fetch(gw.url + path, { headers: { authorization: auth } }).then((r) => r.arrayBuffer());
      const r = await timed(gw.url, auth, path);
      lines.push(`| ${label} | ${r.p50.toFixed(1)} | ${r.p95.toFixed(1)} |`);
    }
    writeSection('Statistics (dashboard overview)', lines.join('\n'));
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await gw.stop();
  }
}

await main();
