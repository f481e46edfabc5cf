/**
 * `npm run bench:smpp` (a): SMPP server ingest. One ESME binds to the gateway (its own process,
 * SQLite synchronous=FULL, channels off) and keeps a window of 100 submit_sm outstanding until
 * N are acknowledged; every acknowledgement means the message is committed. 3 runs, median.
 * (b): end to end through the SMPP client channel (bench/smpp-e2e.ts), receipts 200 ms after
 * the submit and receipts in the same write as submit_sm_resp (the race), runs interleaved so
 * that a noisy machine weighs on both modes alike; medians, and how many messages ended final.
 */
import { connect } from 'node:net';
import { CMD, messageBody } from '../src/codec/smpp-pdu.js';
import { freePort } from '../test/support/net.js';
import type { EndToEndRun, ReceiptMode } from './smpp-e2e.js';
import { E2E_TOTAL, endToEnd } from './smpp-e2e.js';
import {
  bindTransceiverPdu,
  deferred,
  machine,
  median,
  percentile,
  startGateway,
  writeSection,
} from './support.js';

const TOTAL = Number(process.env.BENCH_SMPP ?? 100_000);
const WINDOW = 100;
const ROUNDS = 3;
const E2E_ROUNDS = Number(process.env.BENCH_E2E_ROUNDS ?? 3);
/** `BENCH_E2E_ONLY=1`: skip (a), for A/B runs of the end-to-end modes. */
const E2E_ONLY = process.env.BENCH_E2E_ONLY === '1';
const PASSWORD = 'benchpw1';

function submitPdu(seq: number, to: string): Buffer {
  const body = Buffer.from(`Your code is ${seq % 1000000}`, 'latin1');
  return messageBody({ source: 'BENCH', destination: to, esmClass: 0, dataCoding: 0, body }).pdu(
    CMD.submit_sm,
    0,
    seq,
  );
}

async function run(
  port: number,
  offset: number,
): Promise<{ seconds: number; ok: number; failed: number; p50: number; p99: number }> {
  const socket = connect(port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  socket.setNoDelay(true);
  let buf: Buffer = Buffer.alloc(0);
  const sentAt = new Map<number, number>();
  const latencies: number[] = [];
  let ok = 0;
  let failed = 0;
  let nextSeq = 1;
  const { promise: boundP, resolve: bound } = deferred();
  const { promise: doneP, resolve: done } = deferred();
  const pump = () => {
    const batch: Buffer[] = [];
    while (nextSeq <= TOTAL && sentAt.size < WINDOW) {
      const seq = nextSeq++;
      sentAt.set(seq, performance.now());
      batch.push(submitPdu(seq, `1555${String(offset + seq).padStart(7, '0')}`));
    }
    if (batch.length) socket.write(Buffer.concat(batch));
  };
  socket.on('data', (chunk: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    while (buf.length >= 16 && buf.length >= buf.readUInt32BE(0)) {
      const len = buf.readUInt32BE(0);
      const id = buf.readUInt32BE(4);
      const status = buf.readUInt32BE(8);
      const seq = buf.readUInt32BE(12);
      buf = buf.subarray(len);
      if (id === CMD.bind_transceiver_resp) {
        if (status !== 0) throw new Error(`bind failed: ${status}`);
        bound();
      } else if (id === CMD.submit_sm_resp) {
        const t0 = sentAt.get(seq);
        sentAt.delete(seq);
        if (t0 !== undefined) latencies.push(performance.now() - t0);
        if (status === 0) ok++;
        else failed++;
        if (ok + failed === TOTAL) done();
        else pump();
      }
    }
  });
  socket.write(bindTransceiverPdu('bench', PASSWORD));
  await boundP;
  const started = performance.now();
  pump();
  await doneP;
  const seconds = (performance.now() - started) / 1000;
  socket.destroy();
  latencies.sort((a, b) => a - b);
  return { seconds, ok, failed, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

/** (b): both receipt modes, interleaved, E2E_ROUNDS runs each. */
async function endToEndModes(): Promise<string[]> {
  const runs: EndToEndRun[] = [];
  const modes: ReceiptMode[] = ['delay', 'race'];
  for (let r = 0; r < E2E_ROUNDS; r++) {
    for (const mode of modes) {
      const run = await endToEnd(mode);
      process.stdout.write(`end to end ${mode}: ${JSON.stringify(run)}\n`);
      runs.push(run);
    }
  }
  const rate = (x: EndToEndRun) => E2E_TOTAL / x.seconds;
  const cpu = (x: EndToEndRun) => (x.gatewayCpuSeconds / E2E_TOTAL) * 1e6;
  const row = (mode: ReceiptMode) => {
    const of = runs.filter((x) => x.mode === mode);
    const label = mode === 'race' ? 'same write as submit_sm_resp' : '200 ms after the submit';
    return `| ${label} | ${E2E_TOTAL} | ${of.map((x) => x.submits).join(' / ')} | ${of.map((x) => x.final).join(' / ')} | ${of.map((x) => x.delivered).join(' / ')} | ${median(of.map((x) => x.acceptedSeconds)).toFixed(1)} s | ${median(of.map((x) => x.seconds)).toFixed(1)} s | ${median(of.map(rate)).toFixed(0)} | ${of.map((x) => rate(x).toFixed(0)).join(', ')} | ${median(of.map(cpu)).toFixed(0)} |`;
  };
  const med = (mode: ReceiptMode) => median(runs.filter((x) => x.mode === mode).map(rate));
  return [
    `(b) end to end: HTTP (${E2E_TOTAL / 1000} requests of 1000) → SQLite queue → SMPP client channel (window 200) → SMSC simulator → receipts → every message final. The clock stops when the simulator has every receipt acknowledged (committed) and no message waits for one. Receipt modes interleaved, ${E2E_ROUNDS} runs each, medians. Machine: ${machine()}.`,
    '',
    '| receipt | messages | submits seen by the SMSC | final state | delivered | all accepted after | all final after | messages/s end to end | all runs (msg/s) | gateway CPU µs per message |',
    '|---|---|---|---|---|---|---|---|---|---|',
    row('delay'),
    row('race'),
    '',
    `Race mode throughput / delay mode: ${(med('race') / med('delay')).toFixed(2)}; gateway CPU per message, race / delay: ${(median(runs.filter((x) => x.mode === 'race').map(cpu)) / median(runs.filter((x) => x.mode === 'delay').map(cpu))).toFixed(2)}. Lost: ${runs.reduce((n, x) => n + (E2E_TOTAL - x.submits), 0)} (submits missing at the SMSC, all runs).`,
  ];
}

async function main(): Promise<void> {
  const smppPort = await freePort();
  const key = 'bench-admin-key-0123456789abcdef';
  const gw = await startGateway({
    SMSGW_ADMIN_API_KEY: key,
    SMSGW_SIMULATOR: 'false',
    SMSGW_SMPP_PORT: String(smppPort),
  });
  try {
    const res = await fetch(`${gw.url}/v1/users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ login: 'bench', password: PASSWORD }),
    });
    if (res.status !== 201) throw new Error(`cannot create the bench user: ${res.status}`);
    if (E2E_ONLY) {
      await gw.stop();
      const lines = await endToEndModes();
      process.stdout.write(`${lines.join('\n')}\n`);
      return;
    }
    const runs = [];
    for (let r = 0; r < ROUNDS; r++) runs.push(await run(smppPort, r * TOTAL));
    const sorted = [...runs].sort((a, b) => a.ok / a.seconds - b.ok / b.seconds);
    const m = sorted[Math.floor(sorted.length / 2)]!;
    const lines = [
      `Command: \`npm run bench:smpp\` — (a) server ingest: one ESME, window ${WINDOW}, ${TOTAL} submit_sm per run, each acknowledged after its message is committed (gateway in its own process, SQLite synchronous=FULL, channels off). Machine: ${machine()}. Median of ${ROUNDS} runs.`,
      '',
      '| submits | acknowledged | refused | submit_sm/s | p50 ms | p99 ms |',
      '|---|---|---|---|---|---|',
      `| ${TOTAL} | ${m.ok} | ${m.failed} | ${(m.ok / m.seconds).toFixed(0)} | ${m.p50.toFixed(1)} | ${m.p99.toFixed(1)} |`,
      '',
      `All runs (submit_sm/s): ${runs.map((r) => (r.ok / r.seconds).toFixed(0)).join(', ')}.`,
      '',
    ];
    await gw.stop();
    lines.push(...(await endToEndModes()));
    writeSection('SMPP', lines.join('\n'));
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    if (gw.proc.exitCode === null) await gw.stop();
  }
}

await main();
