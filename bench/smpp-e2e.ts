/**
 * `npm run bench:smpp` (b): end to end — HTTP API → durable queue → SMPP client channel → SMSC
 * simulator (in this process) → receipts → final status in the database. 50,000 messages in
 * requests of 1,000; the clock stops when every receipt is acknowledged (committed) and no
 * message waits for one. Nothing may be lost. Two receipt modes: `delay` (200 ms after the
 * submit) and `race` (each receipt in the same socket write as its submit_sm_resp).
 */
import type { SmscSim } from '../src/sim/smsc/simulator.js';
import { startSmscSimulator } from '../src/sim/smsc/simulator.js';
import { api, cpuSeconds, startGateway } from './support.js';

const KEY = 'bench-admin-key-0123456789abcdef';
export const E2E_TOTAL = Number(process.env.BENCH_E2E ?? 50_000);
const PER_REQUEST = 1000;

const call = (url: string, method: string, path: string, body?: unknown) => api(url, KEY, method, path, body);

export type ReceiptMode = 'delay' | 'race';

export interface EndToEndRun {
  mode: ReceiptMode;
  submits: number;
  receipts: number;
  resent: number;
  /** Messages in a final state when the clock stopped. */
  final: number;
  delivered: number;
  acceptedSeconds: number;
  seconds: number;
  /** CPU time the gateway process used from the first request to the last final message. */
  gatewayCpuSeconds: number;
}

/** Messages in these statuses, page by page (the list API has no total). */
async function count(url: string, statuses: string): Promise<number> {
  let n = 0;
  let cursor = '';
  for (;;) {
    const page = await call(url, 'GET', `/v1/messages?status=${statuses}&limit=500${cursor}`);
    n += page.data.length;
    if (!page.next_cursor) return n;
    cursor = `&cursor=${page.next_cursor}`;
  }
}

export async function endToEnd(mode: ReceiptMode = 'delay'): Promise<EndToEndRun> {
  const TOTAL = E2E_TOTAL;
  const sim: SmscSim = await startSmscSimulator(
    mode === 'race'
      ? { receiptTiming: 'with-resp', successRate: 1 }
      : { receiptDelayMs: 200, successRate: 1 },
  );
  const gw = await startGateway({ SMSGW_ADMIN_API_KEY: KEY, SMSGW_SIMULATOR: 'false' });
  try {
    const ch = await call(gw.url, 'POST', '/v1/channels', {
      name: 'upstream',
      type: 'smpp',
      max_in_flight: 400,
      config: { host: '127.0.0.1', port: sim.port, systemId: 'gw', password: 'pw', window: 200 },
    });
    if (!ch.id) throw new Error(`cannot create the channel: ${JSON.stringify(ch)}`);
    await new Promise((r) => setTimeout(r, 500));
    const started = performance.now();
    const cpuAtStart = cpuSeconds(gw.proc.pid);
    for (let i = 0; i < TOTAL / PER_REQUEST; i++) {
      const r = await call(gw.url, 'POST', '/v1/messages', {
        to: Array.from(
          { length: PER_REQUEST },
          (_, k) => `+4477${String(i).padStart(3, '0')}${String(k).padStart(5, '0')}`,
        ),
        text: `End to end ${i}`,
      });
      if (r.accepted !== PER_REQUEST) throw new Error(`request ${i} accepted ${r.accepted}`);
    }
    const acceptedAt = performance.now();
    // Every receipt acknowledged means every receipt committed; a message still open after that
    // lost its receipt (the race this mode measures). Such a run stops 10 s later and says so.
    let allAckedAt = 0;
    for (;;) {
      const open = await call(gw.url, 'GET', '/v1/messages?status=queued,sending,sent&limit=1');
      const acked = sim.stats.receiptsAcked >= TOTAL;
      if (acked && open.data.length === 0) break;
      if (acked) allAckedAt ||= performance.now();
      if (allAckedAt && performance.now() - allAckedAt > 10_000) break;
      if (performance.now() - started > 600_000) throw new Error('not all final in 10 minutes');
      await new Promise((r) => setTimeout(r, 200));
    }
    const seconds = (performance.now() - started) / 1000;
    const gatewayCpuSeconds = cpuSeconds(gw.proc.pid) - cpuAtStart;
    const open = await count(gw.url, 'scheduled,queued,sending,sent');
    return {
      mode,
      submits: sim.stats.submits,
      receipts: sim.stats.receipts,
      resent: sim.stats.receiptsResent,
      final: TOTAL - open,
      delivered: await count(gw.url, 'delivered'),
      acceptedSeconds: (acceptedAt - started) / 1000,
      seconds,
      gatewayCpuSeconds,
    };
  } finally {
    await gw.stop();
    await sim.stop();
  }
}
