/**
 * E-mail to SMS: how many mails a second the SMTP face commits, over one connection and over
 * eight (nodemailer's pool, STARTTLS, AUTH with the user's password, 2 numbers per mail, an
 * HTML body). The gateway runs in its own process (so its CPU time is its own, read from
 * /proc) with no channel: the figure is the acceptance path — parse, strip, commit, 250.
 *
 *   npx tsx bench/smtp.ts            (BENCH_MAILS=400 per run, BENCH_ROUNDS=3)
 */
import { readFileSync } from 'node:fs';
import nodemailer from 'nodemailer';
import { selfSignedCert } from '../test/support/tls.js';
import { api, freePort, machine, median, percentile, startGateway, writeSection } from './support.js';

const MAILS = Number(process.env.BENCH_MAILS ?? 400);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const KEY = 'bench-smtp-admin-key-0123456789abcdef';
const DOMAIN = 'sms.example.com';

interface Run {
  mailsPerS: number;
  p50: number;
  p99: number;
  cpuMsPerMail: number;
}

/** utime + stime of a process, in ms (/proc/<pid>/stat fields 14 and 15, clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function run(port: number, ca: string, pid: number, connections: number, round: number): Promise<Run> {
  const transport = nodemailer.createTransport({
    pool: true,
    maxConnections: connections,
    maxMessages: Infinity,
    host: '127.0.0.1',
    port,
    secure: false,
    requireTLS: true,
    tls: { ca },
    auth: { user: 'mailer', pass: 'mail-pass-1' },
  });
  const latencies: number[] = [];
  const cpu0 = cpuMs(pid);
  const t0 = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < MAILS) {
      const i = next++;
      const n = String((round * 10 + connections) * 1000 + (i % 1000)).padStart(5, '0');
      const start = performance.now();
      await transport.sendMail({
        from: 'ops@example.org',
        to: [`4477009${n}@${DOMAIN}`, `4477019${n}@${DOMAIN}`],
        subject: `Alert ${i}: disk almost full`,
        html: `<p>Disk <b>sda${i % 8}</b> at 9${i % 10}%</p><div>-- <br>Ops team</div>`,
      });
      latencies.push(performance.now() - start);
    }
  };
  // Twice as many senders as connections keeps every pooled connection busy.
  await Promise.all(Array.from({ length: connections * 2 }, worker));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuMs(pid) - cpu0;
  transport.close();
  latencies.sort((a, b) => a - b);
  return {
    mailsPerS: MAILS / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    cpuMsPerMail: cpu / MAILS,
  };
}

async function main(): Promise<void> {
  const tls = selfSignedCert();
  const port = await freePort();
  const gw = await startGateway({
    SMSGW_ADMIN_API_KEY: KEY,
    SMSGW_SIMULATOR: 'false',
    SMSGW_SMTP_PORT: String(port),
    SMSGW_SMTP_TLS_CERT: tls.certFile,
    SMSGW_SMTP_TLS_KEY: tls.keyFile,
    SMSGW_SMTP_DOMAINS: DOMAIN,
  });
  try {
    const user = await api(gw.url, KEY, 'POST', '/v1/users', { login: 'mailer', password: 'mail-pass-1' });
    if (!user.id) throw new Error(`could not create the bench user: ${JSON.stringify(user)}`);
    const pid = gw.proc.pid as number;
    await run(port, tls.cert, pid, 2, 0); // warm-up: JIT, TLS, statements
    const results: Record<number, Run[]> = { 1: [], 8: [] };
    for (let r = 1; r <= ROUNDS; r++) {
      for (const c of [1, 8]) results[c]?.push(await run(port, tls.cert, pid, c, r));
    }
    const f = (n: number) => n.toFixed(n < 10 ? 1 : 0);
    const row = (c: number) => {
      const runs = results[c] as Run[];
      const range = (pick: (r: Run) => number) =>
        `${f(median(runs.map(pick)))} (${f(Math.min(...runs.map(pick)))}–${f(Math.max(...runs.map(pick)))})`;
      return `| ${c} | ${range((r) => r.mailsPerS)} | ${range((r) => r.p50)} | ${range((r) => r.p99)} | ${range((r) => r.cpuMsPerMail)} |`;
    };
    const body = [
      'Command: `npx tsx bench/smtp.ts` (`BENCH_MAILS` per run, `BENCH_ROUNDS`). nodemailer pool,',
      'STARTTLS and AUTH, 2 numbers per mail, HTML body; the gateway in its own process with SQLite',
      '`FULL` and no channel (the acceptance path: parse, strip, commit, then `250`). Medians',
      `(min–max) of ${ROUNDS} runs of ${MAILS} mails. ${machine()}, load average ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]} at the end.`,
      '',
      '| connections | mails/s | p50 ms | p99 ms | gateway CPU ms / mail |',
      '| --- | --- | --- | --- | --- |',
      row(1),
      row(8),
    ].join('\n');
    console.log(body);
    if (process.env.BENCH_WRITE !== '0') writeSection('E-mail to SMS (SMTP face)', body);
  } finally {
    await gw.stop();
  }
}

await main();
