/**
 * `npm run bench:hot`: the send side's hot path, end to end, for profiling and before/after
 * comparisons (issue 13). The gateway runs compiled (`dist/`, `npm run build` first) in its own
 * process; this process is the load generator, the SMSC (the project's simulator) and, with
 * receipts, the webhook receiver.
 *
 *  - `plain`: N single-message POSTs (concurrency 64, keep-alive), no delivery report asked; the
 *    clock stops at the N-th submit_sm seen by the SMSC.
 *  - `receipts`: the same with a receipt per message (sent with its submit_sm_resp) and a status
 *    webhook to the account; the clock stops when every message's `delivered` callback arrived.
 *
 * Verifies, or fails: every message final, every callback exactly once (duplicates counted).
 * HOT_MODE=plain|receipts (default: both, interleaved), HOT_N (20000), HOT_ROUNDS (3),
 * HOT_PROF=dir: runs the gateway under `node --cpu-prof` and leaves the profile in dir.
 * HOT_WRITE=1: writes the table into docs/benchmarks.md.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { startSmscSimulator } from '../src/sim/smsc/simulator.js';
import { compiledStartArgs, exited, freePort, waitReady } from '../test/support/net.js';
import { api, cpuSeconds, machine, median, percentile, writeSection } from './support.js';

const KEY = 'bench-admin-key-0123456789abcdef';
const N = Number(process.env.HOT_N ?? 20_000);
const ROUNDS = Number(process.env.HOT_ROUNDS ?? 3);
const CONCURRENCY = 64;
type Mode = 'plain' | 'receipts';
const MODES: Mode[] = process.env.HOT_MODE ? [process.env.HOT_MODE as Mode] : ['plain', 'receipts'];

interface Run {
  mode: Mode;
  msgPerSec: number;
  acceptP50: number;
  acceptP99: number;
  cpuSeconds: number;
  peakRssMb: number;
  callbacks: number;
  duplicates: number;
}

function peakRssMb(pid: number | undefined): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function startCompiled(env: Record<string, string>): Promise<{ url: string; proc: ChildProcess }> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'smsgw-hot-'));
  const prof = process.env.HOT_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.HOT_PROF}`] : [];
  // HOT_GATEWAY_DIR: another checkout's build (A/B runs against the code before a change).
  const cwd = process.env.HOT_GATEWAY_DIR ?? process.cwd();
  const proc = spawn(process.execPath, [...prof, ...compiledStartArgs(cwd)], {
    cwd,
    env: {
      ...process.env,
      SMSGW_HOST: '127.0.0.1',
      SMSGW_SMPP_PORT: '0',
      SMSGW_LOG_LEVEL: 'warn',
      SMSGW_PORT: String(port),
      SMSGW_DATA_DIR: dataDir,
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  await waitReady(url);
  return { url, proc };
}

async function run(mode: Mode): Promise<Run> {
  const receipts = mode === 'receipts';
  const sim = await startSmscSimulator({ receiptTiming: 'with-resp', successRate: 1 });
  // The webhook receiver: counts each (message, status) once and every repeat as a duplicate.
  const seen = new Set<string>();
  let delivered = 0;
  let duplicates = 0;
  let allCalledBack: () => void = () => undefined;
  const calledBack = new Promise<void>((r) => (allCalledBack = r));
  const hook = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      const events = Array.isArray(body) ? body : [body];
      for (const e of events as { message_id: string; status: string }[]) {
        const key = `${e.message_id}|${e.status}`;
        if (seen.has(key)) duplicates++;
        else {
          seen.add(key);
          if (e.status === 'delivered' && ++delivered === N) allCalledBack();
        }
      }
      res.end();
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
  const gw = await startCompiled({
    SMSGW_ADMIN_API_KEY: KEY,
    SMSGW_SIMULATOR: 'false',
    SMSGW_WEBHOOK_ALLOW_PRIVATE: 'true',
  });
  const call = (method: string, path: string, body?: unknown) => api(gw.url, KEY, method, path, body);
  const pool = new Pool(gw.url, { connections: CONCURRENCY, pipelining: 1 });
  try {
    const ch = await call('POST', '/v1/channels', {
      name: 'upstream',
      type: 'smpp',
      max_in_flight: 400,
      config: { host: '127.0.0.1', port: sim.port, systemId: 'gw', password: 'pw', window: 200 },
    });
    if (!ch.id) throw new Error(`cannot create the channel: ${JSON.stringify(ch)}`);
    if (receipts) await call('PATCH', '/v1/settings', { webhook_url: hookUrl });
    await new Promise((r) => setTimeout(r, 500));
    const latencies: number[] = [];
    let next = 0;
    const started = performance.now();
    const cpu0 = cpuSeconds(gw.proc.pid);
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < N) {
          const i = next++;
          const t0 = performance.now();
          const res = await pool.request({
            path: '/v1/messages',
            method: 'POST',
            headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
            body: JSON.stringify({
              to: `+4477${String(i).padStart(8, '0')}`,
              text: `Hot path ${i}`,
              delivery_report: receipts,
            }),
          });
          const text = await res.body.text();
          latencies.push(performance.now() - t0);
          if (res.statusCode !== 202) throw new Error(`POST ${res.statusCode}: ${text}`);
        }
      }),
    );
    const deadline = Date.now() + 600_000;
    if (receipts) {
      await Promise.race([
        calledBack,
        new Promise((_, reject) => setTimeout(() => reject(new Error('callbacks missing')), 600_000)),
      ]);
    } else {
      while (sim.stats.submits < N) {
        if (Date.now() > deadline) throw new Error(`only ${sim.stats.submits} submits`);
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    const seconds = (performance.now() - started) / 1000;
    const cpu = cpuSeconds(gw.proc.pid) - cpu0;
    // Every message final; with receipts every callback (sent and delivered) arrived once.
    for (;;) {
      // Without a report asked for, `sent` is final.
      const statuses = receipts ? 'scheduled,queued,sending,sent' : 'scheduled,queued,sending';
      const open = await call('GET', `/v1/messages?status=${statuses}&limit=1`);
      if (open.data.length === 0) break;
      if (Date.now() > deadline) throw new Error('messages left open');
      await new Promise((r) => setTimeout(r, 100));
    }
    if (sim.stats.submits !== N) throw new Error(`${sim.stats.submits} submits for ${N} messages`);
    if (receipts) {
      while (seen.size < 2 * N && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      if (seen.size !== 2 * N) throw new Error(`${seen.size} callbacks for ${2 * N} expected`);
    }
    latencies.sort((a, b) => a - b);
    return {
      mode,
      msgPerSec: N / seconds,
      acceptP50: percentile(latencies, 50),
      acceptP99: percentile(latencies, 99),
      cpuSeconds: cpu,
      peakRssMb: peakRssMb(gw.proc.pid),
      callbacks: seen.size,
      duplicates,
    };
  } finally {
    // Bounded: a close that waits on a peer already gone must not hang the bench.
    const bounded = (p: Promise<unknown>) =>
      Promise.race([p, new Promise((r) => setTimeout(r, 5000).unref())]);
    gw.proc.kill('SIGTERM');
    await bounded(exited(gw.proc));
    if (gw.proc.exitCode === null && gw.proc.signalCode === null) gw.proc.kill('SIGKILL');
    await bounded(pool.close());
    hook.closeAllConnections();
    hook.close();
    await bounded(sim.stop());
  }
}

async function main(): Promise<void> {
  const runs: Run[] = [];
  for (let r = 0; r < ROUNDS; r++)
    for (const mode of MODES) {
      const x = await run(mode);
      runs.push(x);
      console.log(JSON.stringify(x));
    }
  const rows = MODES.map((mode) => {
    const of = runs.filter((r) => r.mode === mode);
    const med = (f: (r: Run) => number) => median(of.map(f));
    return `| ${mode === 'plain' ? 'no receipts' : 'receipt + status webhooks'} | ${N} | ${med((r) => r.msgPerSec).toFixed(0)} | ${of.map((r) => r.msgPerSec.toFixed(0)).join(', ')} | ${med((r) => r.acceptP50).toFixed(1)} / ${med((r) => r.acceptP99).toFixed(1)} | ${med((r) => r.cpuSeconds).toFixed(1)} | ${med((r) => r.peakRssMb).toFixed(0)} | ${of.reduce((n, r) => n + r.duplicates, 0)} |`;
  });
  const body = `Command: \`npm run build && npm run bench:hot\` — compiled gateway in its own process (SQLite synchronous=FULL), SMPP client channel (window 200) to the SMSC simulator in the bench process (receipts in the same write as submit_sm_resp), ${N} single-recipient POSTs at concurrency ${CONCURRENCY} (keep-alive); with receipts, a status webhook per \`sent\` and \`delivered\` to a receiver in the bench process. End to end: first request → last submit_sm at the SMSC (no receipts) or last \`delivered\` callback (receipts). Verified: every message final, every callback once. Machine: ${machine()}. Median of ${ROUNDS} runs, modes interleaved.

| mode | messages | msg/s end to end | all runs | accept p50 / p99 ms | gateway CPU-s | peak RSS MB | duplicate callbacks |
| ---- | -------- | ---------------- | -------- | ------------------- | ------------- | ----------- | ------------------- |
${rows.join('\n')}`;
  if (process.env.HOT_WRITE === '1') writeSection('Hot path: end to end', body);
  console.log(body);
}

await main();
// Keep-alive sockets of the webhook receiver and the SMSC simulator must not keep the bench alive.
process.exit(0);
