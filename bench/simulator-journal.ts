/**
 * `npx tsx bench/simulator-journal.ts`: what keeping the simulator's pending receipts in a file
 * costs per submit. The same driver (latency 0, receipts due in 10 s, so none fires during a
 * round) submits one-part messages with and without a state directory; median µs per submit over
 * 11 rounds of 5,000, after a warm-up round. Sequential (one at a time) and 200 in flight.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChannelEvents, OutboundSms } from '../src/channels/port.js';
import { SIMULATOR_DEFAULTS, SimulatorDriver } from '../src/channels/simulator/driver.js';

const events: ChannelEvents = {
  deliveryReport: async () => undefined,
  inbound: async () => undefined,
  state: () => undefined,
};
const sms = (i: number): OutboundSms => ({
  id: `m${i}`,
  to: `+1555${String(i).padStart(7, '0')}`,
  text: 'bench',
  encoding: 'gsm7',
  segments: 1,
  flash: false,
  deliveryReport: true,
});

async function round(stateDir: string | undefined, concurrency: number): Promise<number> {
  const d = new SimulatorDriver(
    { ...SIMULATOR_DEFAULTS, latencyMs: 0, deliveryDelayMs: 10_000, maxPendingReceipts: 1e6 },
    Math.random,
    stateDir,
  );
  await d.start(events);
  const n = 5000;
  let next = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await d.submit(sms(next++));
    }),
  );
  const us = Number(process.hrtime.bigint() - t0) / 1000 / n;
  await d.stop();
  return us;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

for (const concurrency of [1, 200]) {
  for (const mode of ['memory', 'journal'] as const) {
    const dir = () => (mode === 'journal' ? mkdtempSync(join(tmpdir(), 'smsgw-bench-sim-')) : undefined);
    await round(dir(), concurrency);
    const rounds: number[] = [];
    for (let r = 0; r < 11; r++) rounds.push(await round(dir(), concurrency));
    console.log(
      `${mode.padEnd(8)} ${String(concurrency).padStart(3)} in flight: ${median(rounds).toFixed(2)} µs/submit`,
    );
  }
}
