/**
 * `npm run bench:modems`: SIM balancing throughput. Four modem-like channels that take 6 s per
 * message, one message at a time each (the seed's lock), each with a monthly limit; 100 queued
 * messages. The ceiling is 4 × 1/6 msg/s, so 150 s; the target is ≤ 160 s (≥ 95 % of it) with no
 * SIM over its limit. Prints each SIM's share and utilization.
 * The modems are AT-command modem simulators (this process, over TCP) driven by the real AT
 * modem channel in the gateway process: PDU encoding, AT+CMGS, the lot.
 * BENCH_MODEM_SECONDS scales the per-message time for a quick check.
 */
import { MODEM_SIM_DEFAULTS, ModemSimulator, serveModemTcp } from '../src/sim/modem/simulator.js';
import { api, machine, startGateway, writeSection } from './support.js';

const KEY = 'bench-admin-key-0123456789abcdef';
const SIMS = 4;
const MESSAGES = 100;
const PER_MESSAGE_S = Number(process.env.BENCH_MODEM_SECONDS ?? 6);
const LIMIT = 30;

const call = (url: string, method: string, path: string, body?: unknown) => api(url, KEY, method, path, body);

async function main(): Promise<void> {
  const gw = await startGateway({ SMSGW_ADMIN_API_KEY: KEY, SMSGW_SIMULATOR: 'false' });
  const servers: { close(): Promise<void> }[] = [];
  try {
    const sims: { id: string; name: string }[] = [];
    for (let i = 1; i <= SIMS; i++) {
      const modem = new ModemSimulator({ ...MODEM_SIM_DEFAULTS, sendDelayMs: PER_MESSAGE_S * 1000 });
      const tcp = await serveModemTcp(modem);
      servers.push(tcp);
      const ch = await call(gw.url, 'POST', '/v1/channels', {
        name: `sim-${i}`,
        type: 'modem',
        config: { port: `tcp://127.0.0.1:${tcp.port}` },
        max_in_flight: 1,
        min_interval_ms: 0,
        monthly_limit: LIMIT,
        count_mode: 'messages',
      });
      sims.push({ id: ch.id, name: ch.name });
    }
    // Let the gateway open and initialise the modems before the clock starts.
    await new Promise((r) => setTimeout(r, 1500));
    const started = Date.now();
    const r = await call(gw.url, 'POST', '/v1/messages', {
      to: Array.from({ length: MESSAGES }, (_, i) => `+1555555${String(i).padStart(4, '0')}`),
      text: 'balanced',
    });
    const ids = new Set<string>(r.messages.map((m: { id: string }) => m.id));
    let rows: { id: string; status: string; channel_id: string; sent_at: string }[] = [];
    for (;;) {
      const page = await call(gw.url, 'GET', `/v1/messages?batch_id=${r.batch_id}&limit=500`);
      rows = page.data;
      if (rows.filter((m) => ids.has(m.id) && m.sent_at).length === MESSAGES) break;
      if (Date.now() - started > PER_MESSAGE_S * 1000 * MESSAGES)
        throw new Error('messages did not all go out');
      await new Promise((res) => setTimeout(res, 250));
    }
    const last = Math.max(...rows.map((m) => Date.parse(m.sent_at)));
    const seconds = (last - started) / 1000;
    const ceiling = (MESSAGES * PER_MESSAGE_S) / SIMS;
    const lines = [
      `Command: \`npm run bench:modems\` (${SIMS} AT modem simulators behind the AT modem channel, ${PER_MESSAGE_S} s per message, one at a time each, monthly limit ${LIMIT} each; ${MESSAGES} messages queued at once). Machine: ${machine()}.`,
      '',
      `All ${MESSAGES} sent in **${seconds.toFixed(1)} s**; the ceiling is ${ceiling.toFixed(0)} s, so ${((ceiling / seconds) * 100).toFixed(1)} % of it.`,
      '',
      '| SIM | messages | month count | utilization |',
      '|---|---|---|---|',
    ];
    for (const s of sims) {
      const n = rows.filter((m) => m.channel_id === s.id).length;
      const counters = await call(gw.url, 'GET', `/v1/channels/${s.id}/counters`);
      const count = counters.months[0]?.count ?? 0;
      if (count > LIMIT) throw new Error(`${s.name} passed its limit: ${count}`);
      lines.push(
        `| ${s.name} | ${n} | ${count} / ${LIMIT} | ${(((n * PER_MESSAGE_S) / seconds) * 100).toFixed(1)} % |`,
      );
    }
    writeSection('SIM balancing (modems)', lines.join('\n'));
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await gw.stop();
    for (const s of servers) await s.close();
  }
}

await main();
