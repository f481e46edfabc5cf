/**
 * `npm run bench:campaign`: BENCH_CAMPAIGN_N contacts (default 1,000,000) streamed into a
 * gateway (its own process, compiled as `npm start` runs it — BENCH_TSX=1 for the tsx loader —
 * SQLite, synchronous=FULL) with POST /v1/contacts/import (rows/s,
 * the gateway's peak RSS), then one campaign to all of them through the simulator channel
 * (messages accepted per second from start to completion, peak RSS). The campaign's cap is set
 * far above what the box can do (100,000 msg/s), so the figure is the runner's own speed.
 * BENCH_CAMPAIGN_IMPORT_ONLY=1: the import alone, printed with the gateway's heap figures.
 * BENCH_CAMPAIGN_PROF=dir: the gateway under `node --cpu-prof` (profile left in dir);
 * BENCH_CAMPAIGN_GATEWAY_DIR=<checkout>: another checkout's build (A/B against the code before).
 * BENCH_CAMPAIGN_CHANNEL=off: the channel disabled (the runner's cost without the sends).
 * BENCH_CAMPAIGN_RATE: the cap asked for (10000 for a build before the cap went to 100,000).
 * BENCH_CAMPAIGN_NO_DOCS=1: figures printed, docs/benchmarks.md untouched (A/B runs).
 * BENCH_CAMPAIGN_FINAL=0: stop at accepted (by default the bench goes on until every message is
 * final: sent and its delivery report applied).
 */
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { loadavg } from 'node:os';
import { api, cpuSeconds, machine, startGateway, writeSection } from './support.js';

const N = Number(process.env.BENCH_CAMPAIGN_N ?? 1_000_000);
const KEY = 'bench-admin-key-0123456789abcdef';

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Samples the process's RSS every 200 ms until stopped; returns the peak in MB. */
function rssSampler(pid: number): { stop(): number } {
  let peak = rssMb(pid);
  const t = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 200);
  return {
    stop() {
      clearInterval(t);
      return Math.max(peak, rssMb(pid));
    },
  };
}

function* csv(): Generator<string> {
  yield 'number,name,city\n';
  let chunk = '';
  for (let i = 0; i < N; i++) {
    chunk += `+3932${String(i).padStart(8, '0')},Name ${i},${i % 2 ? 'Roma' : 'Milano'}\n`;
    if (chunk.length >= 256 * 1024) {
      yield chunk;
      chunk = '';
    }
  }
  yield chunk;
}

async function main(): Promise<void> {
  const gw = await startGateway(
    {
      SMSGW_ADMIN_API_KEY: KEY,
      SMSGW_LOG_LEVEL: 'warn',
      SMSGW_HTTP_REQUEST_TIMEOUT_MS: '3600000',
      // Creating a 1M-recipient campaign answers only once its recipients are written; at load
      // 30 its socket was closed unanswered (the 60 s idle limit, most likely).
      SMSGW_HTTP_IDLE_TIMEOUT_MS: '3600000',
    },
    process.env.BENCH_TSX !== '1',
    {
      cwd: process.env.BENCH_CAMPAIGN_GATEWAY_DIR,
      nodeArgs: process.env.BENCH_CAMPAIGN_PROF
        ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CAMPAIGN_PROF}`]
        : undefined,
    },
  );
  const pid = gw.proc.pid as number;
  try {
    const ch = await api(gw.url, KEY, 'GET', '/v1/channels');
    const channel = (ch as { data: { id: string }[] }).data[0]?.id as string;
    await api(gw.url, KEY, 'PATCH', `/v1/channels/${channel}`, {
      config: { latencyMs: 0, deliveryDelayMs: 100, successRate: 1 },
      max_in_flight: 1000,
      // BENCH_CAMPAIGN_CHANNEL=off: nothing is sent, the runner's own cost alone (as bench:ingest).
      ...(process.env.BENCH_CAMPAIGN_CHANNEL === 'off' ? { enabled: false } : {}),
    });
    const load0 = loadavg()[0] as number;
    const rssIdle = rssMb(pid);

    let sampler = rssSampler(pid);
    let cpu0 = cpuSeconds(pid);
    let t0 = performance.now();
    const res = await fetch(`${gw.url}/v1/contacts/import?group=all`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'text/csv' },
      body: Readable.toWeb(Readable.from(csv())) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    const report = (await res.json()) as { rows_imported: number; group_id: string };
    const importS = (performance.now() - t0) / 1000;
    const importRss = sampler.stop();
    // Gateway CPU per row: what the box's other tenants do not change (its wall clock they do).
    const importCpuUs = ((cpuSeconds(pid) - cpu0) / N) * 1e6;
    if (report.rows_imported !== N)
      throw new Error(`imported ${report.rows_imported} of ${N}: ${JSON.stringify(report)}`);
    console.log(
      `import: ${N} rows in ${importS.toFixed(1)} s = ${(N / importS).toFixed(0)} rows/s, peak RSS ${importRss.toFixed(0)} MB (idle ${rssIdle.toFixed(0)} MB), gateway CPU ${importCpuUs.toFixed(1)} µs/row, load ${load0.toFixed(1)}→${(loadavg()[0] as number).toFixed(1)}`,
    );
    if (process.env.BENCH_CAMPAIGN_IMPORT_ONLY === '1') {
      // The import alone (the campaign takes minutes): printed, docs/benchmarks.md untouched.
      const metrics = await (
        await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${KEY}` } })
      ).text();
      console.log(
        metrics
          .split('\n')
          .filter((l) => /^nodejs_heap_size|^nodejs_external|^process_resident/.test(l))
          .join('\n'),
      );
      return;
    }

    sampler = rssSampler(pid);
    cpu0 = cpuSeconds(pid);
    t0 = performance.now();
    const c = await api(gw.url, KEY, 'POST', '/v1/campaigns', {
      name: 'bench',
      text: 'Hello {name}, news from {city}.',
      audience: { group_ids: [report.group_id] },
      rate: Number(process.env.BENCH_CAMPAIGN_RATE ?? 100_000),
    });
    const createS = (performance.now() - t0) / 1000;
    if (!(c as { id?: string }).id) throw new Error(`campaign not created: ${JSON.stringify(c)}`);
    let done = 0;
    while (done < N) {
      await new Promise((r) => setTimeout(r, 1000));
      // The list's done/total is a column read; GET /v1/campaigns/:id counts every recipient
      // by message status (a join over the campaign), too heavy to poll every second at 1M.
      const v = (await api(gw.url, KEY, 'GET', '/v1/campaigns?limit=1')) as {
        data: { progress: { done: number } }[];
      };
      done = v.data[0]?.progress.done ?? 0;
      process.stdout.write(`\r  campaign: ${done}/${N}`);
    }
    const campaignS = (performance.now() - t0) / 1000;
    const campaignCpuUs = ((cpuSeconds(pid) - cpu0) / N) * 1e6;
    // Accepted is not sent: the runner and the sends share one thread, so a runner that takes
    // more of it finishes sooner and leaves more sends behind. Where the sends stood then, and
    // (BENCH_CAMPAIGN_FINAL=0 to skip) how long until every message was final: the figure that
    // counts all the work. Polled cheaply: smsgw_queue_depth from /metrics until nothing waits to
    // be sent, then the campaign's counts by status (GET /v1/campaigns/:id joins its recipients
    // to their messages, ~0.1 s of gateway CPU at 100,000) until no message waits for its report.
    const byStatus = async (): Promise<Record<string, number>> =>
      (
        (await api(gw.url, KEY, 'GET', `/v1/campaigns/${(c as { id: string }).id}`)) as {
          progress: { by_status: Record<string, number> };
        }
      ).progress.by_status;
    const queueDepth = async (): Promise<number> => {
      const text = await (
        await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${KEY}` } })
      ).text();
      return Number(/^smsgw_queue_depth (\d+)/m.exec(text)?.[1] ?? NaN);
    };
    const notSent = await queueDepth();
    console.log(
      `\ncampaign: ${N} messages accepted in ${campaignS.toFixed(1)} s = ${(N / campaignS).toFixed(0)} msg/s (create + recipients: ${createS.toFixed(1)} s), gateway CPU ${campaignCpuUs.toFixed(1)} µs/message; not yet sent then: ${notSent}`,
    );
    let finalS = NaN;
    let finalCpuUs = NaN;
    if (process.env.BENCH_CAMPAIGN_FINAL !== '0' && process.env.BENCH_CAMPAIGN_CHANNEL !== 'off') {
      while ((await queueDepth()) > 0) await new Promise((r) => setTimeout(r, 500));
      for (;;) {
        const b = await byStatus();
        if ((b.queued ?? 0) + (b.scheduled ?? 0) + (b.sending ?? 0) + (b.sent ?? 0) === 0) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      finalS = (performance.now() - t0) / 1000;
      finalCpuUs = ((cpuSeconds(pid) - cpu0) / N) * 1e6;
    }
    const campaignRss = sampler.stop();
    console.log(
      `campaign: every message final after ${finalS.toFixed(1)} s = ${(N / finalS).toFixed(0)} msg/s, gateway CPU ${finalCpuUs.toFixed(1)} µs/message; peak RSS ${campaignRss.toFixed(0)} MB`,
    );
    const load1 = loadavg()[0] as number;
    if (process.env.BENCH_CAMPAIGN_NO_DOCS === '1') return;

    writeSection(
      'Campaigns: contact import and a campaign to all',
      `\`npm run bench:campaign\` (BENCH_CAMPAIGN_N=${N}). ${machine()}; 1-minute load average ${load0.toFixed(1)} at the start, ${load1.toFixed(1)} at the end (the box is shared with other jobs: figures are lower bounds). Gateway in its own process (${process.env.BENCH_TSX === '1' ? 'tsx loader' : 'compiled, as `npm start`'}), SQLite, synchronous=FULL, simulator channel.

| step | rows | time | rate | gateway peak RSS | gateway CPU per row |
| --- | --- | --- | --- | --- | --- |
| import (streamed CSV, POST /v1/contacts/import) | ${N} | ${importS.toFixed(1)} s | ${(N / importS).toFixed(0)} rows/s | ${importRss.toFixed(0)} MB | ${importCpuUs.toFixed(1)} µs |
| campaign to all (accepted, start to completion) | ${N} | ${campaignS.toFixed(1)} s | ${(N / campaignS).toFixed(0)} msg/s | | ${campaignCpuUs.toFixed(1)} µs |
| campaign to all (every message final) | ${N} | ${finalS.toFixed(1)} s | ${(N / finalS).toFixed(0)} msg/s | ${campaignRss.toFixed(0)} MB | ${finalCpuUs.toFixed(1)} µs |

Idle RSS before the import: ${rssIdle.toFixed(0)} MB. Creating the campaign (writing its ${N} recipients from the group) took ${createS.toFixed(1)} s of the campaign's time.`,
    );
  } finally {
    await gw.stop();
  }
}

void main();
