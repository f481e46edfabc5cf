/**
 * `npm run bench:codec`: encoding choice and segmentation — a 160-character GSM message and a
 * 1,000-character UCS-2 message through `preview`, and the 1,000-character message through the
 * SMS-SUBMIT encoder. Median ns per call over 21 rounds after warm-up.
 */
import { preview } from '../src/codec/index.js';
import { encodeSubmitPdus } from '../src/codec/tpdu.js';
import { machine, median, writeSection } from './support.js';

const gsm160 =
  'Your verification code is 482913. It expires in 10 minutes. If you did not ask for it, ignore this message and tell us at support@example.com now!'.padEnd(
    160,
    '.',
  );
const ucs1000 = 'Здравствуйте! Ваш заказ №12345 отправлен. '.repeat(30).slice(0, 1000);

function measure(fn: () => unknown, callsPerRound: number): number {
  for (let i = 0; i < callsPerRound; i++) fn();
  const rounds: number[] = [];
  for (let r = 0; r < 21; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < callsPerRound; i++) fn();
    rounds.push(Number(process.hrtime.bigint() - t0) / callsPerRound);
  }
  return median(rounds);
}

const rows: [string, number][] = [
  ['preview: 160-character GSM-7 message', measure(() => preview(gsm160), 20_000)],
  ['preview: 1,000-character UCS-2 message', measure(() => preview(ucs1000), 2_000)],
  [
    'preview with Turkish/Spanish/Portuguese tables: 1,000-character UCS-2',
    measure(() => preview(ucs1000, { shiftTables: ['turkish', 'spanish', 'portuguese'] }), 1_000),
  ],
  [
    'SMS-SUBMIT PDUs: 160-character GSM-7',
    measure(() => encodeSubmitPdus({ to: '+79001234567', text: gsm160 }), 5_000),
  ],
  [
    'SMS-SUBMIT PDUs: 1,000-character UCS-2 (15 parts)',
    measure(() => encodeSubmitPdus({ to: '+79001234567', text: ucs1000 }), 500),
  ],
];
const lines = [
  `Command: \`npm run bench:codec\` (median of 21 rounds after warm-up). Machine: ${machine()}. Target: a 160-character message previewed in under 5 µs.`,
  '',
  '| operation | median per call |',
  '|---|---|',
  ...rows.map(
    ([name, ns]) =>
      `| ${name} | ${ns < 10_000 ? `${(ns / 1000).toFixed(2)} µs` : `${(ns / 1000).toFixed(1)} µs`} |`,
  ),
];
writeSection('Codec', lines.join('\n'));
process.stdout.write(`${lines.join('\n')}\n`);
