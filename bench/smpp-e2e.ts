/**
 * `npm run bench:smpp` (b): end to end — HTTP API → durable queue → SMPP client channel → SMSC
 * simulator (in this process) → receipts → final status in the database. 50,000 messages in
 * requests of 1,000; the clock stops when every message is delivered. Nothing may be lost.
 */
import type { SmscSim } from '../src/sim/smsc/simulator.js';
import { startSmscSimulator } from '../src/sim/smsc/simulator.js';
import { api, machine, startGateway } from './support.js';

const KEY = 'bench-admin-key-0123456789abcdef';
const TOTAL = Number(process.env.BENCH_E2E ?? 50_000);
const PER_REQUEST = 1000;

const call = (url: string, method: string, path: string, body?: unknown) => api(url, KEY, method, path, body);

export async function endToEnd(): Promise<string[]> {
  const sim: SmscSim = await startSmscSimulator({ receiptDelayMs: 200, successRate: 1 });
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
    for (;;) {
      const open = await call(gw.url, 'GET', '/v1/messages?status=queued,sending,sent&limit=1');
      if (open.data.length === 0 && sim.stats.receipts >= TOTAL) break;
      if (performance.now() - started > 600_000) throw new Error('not all delivered in 10 minutes');
      await new Promise((r) => setTimeout(r, 200));
    }
    const seconds = (performance.now() - started) / 1000;
    const delivered = await call(gw.url, 'GET', '/v1/messages?status=delivered&limit=1');
    const lost = TOTAL - sim.stats.submits;
    return [
      `(b) end to end: HTTP (${TOTAL / PER_REQUEST} requests of ${PER_REQUEST}) → SQLite queue → SMPP client channel (window 200) → SMSC simulator (receipts after 200 ms) → every message \`delivered\`. Machine: ${machine()}.`,
      '',
      '| messages | submits seen by the SMSC | receipts | all accepted after | all delivered after | messages/s end to end |',
      '|---|---|---|---|---|---|',
      `| ${TOTAL} | ${sim.stats.submits} | ${sim.stats.receipts} | ${((acceptedAt - started) / 1000).toFixed(1)} s | ${seconds.toFixed(1)} s | ${(TOTAL / seconds).toFixed(0)} |`,
      '',
      `Lost: ${lost} (submits missing at the SMSC); any delivered message found: ${delivered.data.length === 1}.`,
    ];
  } finally {
    await gw.stop();
    await sim.stop();
  }
}
