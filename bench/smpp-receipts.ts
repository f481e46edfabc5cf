/**
 * `npm run bench:smpp-receipts`: durable SMPP receipts end to end. One ESME (transceiver) submits
 * N messages with registered_delivery=1 through the gateway (own process, SQLite FULL, the
 * simulator channel delivering after 100 ms) and acknowledges every receipt as it arrives.
 * Measured: time until the last receipt, receipts/s, and receipts seen twice. 3 runs, median.
 */
import { connect } from 'node:net';
import { CMD, Writer, messageBody } from '../src/codec/smpp-pdu.js';
import {
  api,
  bindTransceiverPdu,
  deferred,
  freePort,
  machine,
  median,
  startGateway,
  writeSection,
} from './support.js';

const TOTAL = Number(process.env.BENCH_RECEIPTS ?? 20_000);
const WINDOW = 100;
const ROUNDS = 3;
const PASSWORD = 'benchpw1';
const KEY = 'bench-admin-key-0123456789abcdef';

async function run(
  port: number,
  offset: number,
): Promise<{ seconds: number; receipts: number; duplicates: number }> {
  const socket = connect(port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  socket.setNoDelay(true);
  let buf: Buffer = Buffer.alloc(0);
  let next = 1;
  let outstanding = 0;
  const seen = new Set<string>();
  let duplicates = 0;
  const { promise: boundP, resolve: bound } = deferred();
  const { promise: doneP, resolve: done } = deferred();
  const pump = () => {
    const batch: Buffer[] = [];
    while (next <= TOTAL && outstanding < WINDOW) {
      const seq = next++;
      outstanding++;
      const body = Buffer.from(`Order ${seq} shipped`, 'latin1');
      batch.push(
        messageBody({
          source: 'SHOP',
          destination: `1555${String(offset + seq).padStart(7, '0')}`,
          esmClass: 0,
          registeredDelivery: 1,
          dataCoding: 0,
          body,
        }).pdu(CMD.submit_sm, 0, seq),
      );
    }
    if (batch.length) socket.write(Buffer.concat(batch));
  };
  socket.on('data', (chunk: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    const acks: Buffer[] = [];
    while (buf.length >= 16 && buf.length >= buf.readUInt32BE(0)) {
      const len = buf.readUInt32BE(0);
      const id = buf.readUInt32BE(4);
      const seq = buf.readUInt32BE(12);
      const body = buf.subarray(16, len);
      buf = buf.subarray(len);
      if (id === CMD.bind_transceiver_resp) bound();
      else if (id === CMD.submit_sm_resp) {
        outstanding--;
        pump();
      } else if (id === CMD.deliver_sm) {
        const rid = /id:(\S+)/.exec(body.toString('latin1'))?.[1] ?? '';
        if (seen.has(rid)) duplicates++;
        seen.add(rid);
        acks.push(new Writer().cstring('').pdu(CMD.deliver_sm_resp, 0, seq));
        if (seen.size === TOTAL) done();
      }
    }
    if (acks.length) socket.write(Buffer.concat(acks));
  });
  socket.write(bindTransceiverPdu('bench', PASSWORD));
  await boundP;
  const started = performance.now();
  pump();
  await doneP;
  const seconds = (performance.now() - started) / 1000;
  socket.destroy();
  return { seconds, receipts: seen.size, duplicates };
}

async function main(): Promise<void> {
  const smppPort = await freePort();
  const gw = await startGateway({ SMSGW_ADMIN_API_KEY: KEY, SMSGW_SMPP_PORT: String(smppPort) });
  try {
    const sim = (await api(gw.url, KEY, 'GET', '/v1/channels')).data[0];
    await api(gw.url, KEY, 'PATCH', `/v1/channels/${sim.id}`, {
      max_in_flight: 1000,
      config: { latencyMs: 0, deliveryDelayMs: 100, successRate: 1 },
    });
    await api(gw.url, KEY, 'POST', '/v1/users', { login: 'bench', password: PASSWORD });
    const runs = [];
    for (let r = 0; r < ROUNDS; r++) runs.push(await run(smppPort, r * TOTAL));
    const rates = runs.map((r) => r.receipts / r.seconds);
    const lines = [
      `Command: \`npm run bench:smpp-receipts\` — one ESME (transceiver, window ${WINDOW}) submits ${TOTAL} messages with registered_delivery=1 and acknowledges each receipt; gateway in its own process (SQLite synchronous=FULL), simulator channel delivering 100 ms after submit; every receipt goes through the database outbox (queued by the event fan-out, deleted on deliver_sm_resp). Machine: ${machine()}. Median of ${ROUNDS} runs.`,
      '',
      '| messages | receipts received | duplicates | submit → last receipt | receipts/s |',
      '|---|---|---|---|---|',
      `| ${TOTAL} | ${runs.map((r) => r.receipts).join(' / ')} | ${runs.reduce((n, r) => n + r.duplicates, 0)} | ${median(runs.map((r) => r.seconds)).toFixed(1)} s | ${median(rates).toFixed(0)} |`,
      '',
      `All runs (receipts/s): ${rates.map((x) => x.toFixed(0)).join(', ')}.`,
    ];
    writeSection('SMPP receipts', lines.join('\n'));
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await gw.stop();
  }
}

await main();
