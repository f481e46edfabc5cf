/**
 * `npx tsx bench/smpp-parts.ts`: what acknowledging each part when stored costs. A window-1
 * ESME (it sends a part only after the previous part's submit_sm_resp) sends N 2-part messages
 * (UDH) to a gateway in this process (SQLite synchronous=FULL, no channel, so nothing but
 * accepting runs); prints the per-part answer latency (p50, p99) and messages per second, and
 * the same for N single-part messages as the baseline. Before this change, such a client got
 * no answer to part 1 until part 2 arrived: it stalled for the parts timeout (60 s) per message.
 */
import { CMD, messageBody } from '../src/codec/smpp-pdu.js';
import { eventually, startTestApp } from '../test/support/app.js';
import { Client } from '../test/support/esme.js';
import { freePort } from '../test/support/net.js';

const N = Number(process.env.BENCH_PARTS ?? 500);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

async function main(): Promise<void> {
  const port = await freePort();
  const t = await startTestApp({
    SMSGW_SMPP_PORT: String(port),
    SMSGW_SIMULATOR: 'false',
    SMSGW_SQLITE_SYNCHRONOUS: 'FULL',
    SMSGW_SMPP_MAX_HELD_PARTS: '10000',
  });
  await t.call('POST', '/v1/users', { body: { login: 'bench', password: 'benchpw1' } });
  const c = await Client.open(port);
  await c.bind('bench', 'benchpw1', CMD.bind_transmitter);
  const timed = async (body: ReturnType<typeof messageBody>, latencies: number[]) => {
    const t0 = performance.now();
    const r = await c.call(CMD.submit_sm, body);
    latencies.push(performance.now() - t0);
    if (r.status !== 0) throw new Error(`refused: ${r.status}`);
  };
  const text = 'x'.repeat(153);
  for (const mode of ['single', 'two parts'] as const) {
    const latencies: number[] = [];
    const started = performance.now();
    for (let i = 0; i < N; i++) {
      const to = `7900${mode === 'single' ? 1 : 2}${String(i).padStart(6, '0')}`;
      if (mode === 'single') {
        await timed(
          messageBody({
            source: 'BENCH',
            destination: to,
            esmClass: 0,
            dataCoding: 0,
            body: Buffer.from('hello'),
          }),
          latencies,
        );
        continue;
      }
      for (const seq of [1, 2]) {
        const body = Buffer.concat([
          Buffer.from([5, 0, 3, i & 0xff, 2, seq]),
          Buffer.from(seq === 1 ? text : 'end'),
        ]);
        await timed(
          messageBody({ source: 'BENCH', destination: to, esmClass: 0x40, dataCoding: 0, body }),
          latencies,
        );
      }
    }
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `${mode}: ${N} messages, ${latencies.length} submit_sm, answer p50 ${pct(latencies, 50).toFixed(2)} ms, p99 ${pct(latencies, 99).toFixed(2)} ms, ${(N / seconds).toFixed(0)} messages/s`,
    );
  }
  const built = await eventually(async () => {
    const r = await t.app.store.db.kysely
      .selectFrom('smpp_parts')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('message_id', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(r.n) === 0 ? true : undefined;
  }, 120_000);
  const m = await t.app.store.db.kysely
    .selectFrom('messages')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  console.log(`all parts built: ${built}; messages stored: ${Number(m.n)} (expected ${2 * N})`);
  c.close();
  await t.stop();
}

void main();
