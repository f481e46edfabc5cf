/**
 * `npm run bench:campaign-reads`: what the dashboard's Campaigns pages ask of a big campaign.
 * BENCH_READS_N contacts (default 100,000) imported into a group, a draft campaign to them, then
 * the median of 5 of: `GET /v1/campaigns/:id/estimate` (every recipient priced, the wizard's
 * last step), `GET /v1/campaigns/:id` (counts per status: a campaign's page polls it) and
 * `GET /v1/campaigns?limit=50` (the list) — on the draft, and again once the campaign has sent
 * to all of them through the simulator. Gateway in its own process, SQLite.
 */
import { Readable } from 'node:stream';
import { loadavg } from 'node:os';
import { api, machine, startGateway, writeSection } from './support.js';

const N = Number(process.env.BENCH_READS_N ?? 100_000);
const KEY = 'bench-admin-key-0123456789abcdef';
const ROUNDS = 5;

function* csv(): Generator<string> {
  yield 'number,name\n';
  let chunk = '';
  for (let i = 0; i < N; i++) {
    chunk += `+3932${String(i).padStart(8, '0')},Name ${i}\n`;
    if (chunk.length >= 256 * 1024) {
      yield chunk;
      chunk = '';
    }
  }
  yield chunk;
}

async function median(url: string, path: string): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t0 = performance.now();
    const res = await fetch(url + path, { headers: { authorization: `Bearer ${KEY}` } });
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`${path}: ${res.status}`);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(ROUNDS / 2)] as number;
}

async function main(): Promise<void> {
  const gw = await startGateway({
    SMSGW_ADMIN_API_KEY: KEY,
    SMSGW_LOG_LEVEL: 'warn',
    SMSGW_HTTP_REQUEST_TIMEOUT_MS: '3600000',
  });
  try {
    const ch = (await api(gw.url, KEY, 'GET', '/v1/channels')) as { data: { id: string }[] };
    await api(gw.url, KEY, 'PATCH', `/v1/channels/${ch.data[0]?.id}`, {
      config: { latencyMs: 0, deliveryDelayMs: 100, successRate: 1 },
      max_in_flight: 1000,
    });
    // A price list of the usual shape: a default and a few country and operator prefixes.
    for (const [prefix, per] of [
      ['default', 5],
      ['39', 3],
      ['3932', 2],
      ['49', 4],
      ['1', 1],
    ] as const)
      await api(gw.url, KEY, 'PUT', '/v1/prices', { prefix, per_segment: per });
    const load0 = loadavg()[0] as number;
    const res = await fetch(`${gw.url}/v1/contacts/import?group=all`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'text/csv' },
      body: Readable.toWeb(Readable.from(csv())) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    const report = (await res.json()) as { rows_imported: number; group_id: string };
    if (report.rows_imported !== N) throw new Error(`imported ${JSON.stringify(report)}`);
    const c = (await api(gw.url, KEY, 'POST', '/v1/campaigns', {
      name: 'reads',
      text: 'Hello {name}',
      audience: { group_ids: [report.group_id] },
      rate: 10_000,
      draft: true,
    })) as { id: string };
    const rows: string[] = [];
    const measure = async (when: string) => {
      const estimate = await median(gw.url, `/v1/campaigns/${c.id}/estimate`);
      const one = await median(gw.url, `/v1/campaigns/${c.id}`);
      const list = await median(gw.url, '/v1/campaigns?limit=50');
      rows.push(`| ${when} | ${estimate.toFixed(0)} ms | ${one.toFixed(0)} ms | ${list.toFixed(0)} ms |`);
      console.log(
        `${when}: estimate ${estimate.toFixed(0)} ms, campaign ${one.toFixed(0)} ms, list ${list.toFixed(0)} ms`,
      );
    };
    await measure('draft');
    const est = (await api(gw.url, KEY, 'GET', `/v1/campaigns/${c.id}/estimate`)) as { cost: number };
    if (est.cost !== 2 * N) throw new Error(`estimate ${JSON.stringify(est)}, expected ${2 * N}`);
    await api(gw.url, KEY, 'POST', `/v1/campaigns/${c.id}/start`);
    for (;;) {
      await new Promise((r) => setTimeout(r, 1000));
      const v = (await api(gw.url, KEY, 'GET', '/v1/campaigns?limit=1')) as {
        data: { status: string; progress: { done: number } }[];
      };
      process.stdout.write(`\r  campaign: ${v.data[0]?.progress.done}/${N}`);
      if (v.data[0]?.status === 'completed') break;
    }
    console.log('');
    await measure('sent to all');
    const load1 = loadavg()[0] as number;
    writeSection(
      "Campaigns: the dashboard's reads of a big campaign",
      `\`npm run bench:campaign-reads\` (BENCH_READS_N=${N}). ${machine()}; 1-minute load average ${load0.toFixed(1)} at the start, ${load1.toFixed(1)} at the end (shared box). Median of ${ROUNDS} requests each; gateway in its own process, SQLite, a 5-entry price list.

| campaign of ${N} | GET …/estimate (cost) | GET /v1/campaigns/:id (counts per status) | GET /v1/campaigns?limit=50 |
| --- | --- | --- | --- |
${rows.join('\n')}

The dashboard reads a campaign's counts every 2 s while it runs, and waits ten times as long as the last answer took when that is more (\`web/src/pages/campaigns.tsx\`).`,
    );
  } finally {
    await gw.stop();
  }
}

void main();
