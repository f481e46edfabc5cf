/**
 * `npm run soak` (SOAK_MINUTES, default 60): the real gateway in its own process (SQLite
 * synchronous=FULL) under mixed traffic for SOAK_MINUTES, its SMPP upstream (the SMSC simulator
 * in this process, storing receipts until they are acknowledged, as an SMSC does) cut every
 * SOAK_DROP_SECONDS (default 5). Traffic, every loop paced and stopping by itself at the deadline:
 * single HTTP sends (every fifth one two parts), bulk sends of 100, an ESME submitting over the
 * gateway's SMPP face with receipts requested, and status reads (one message, a history page).
 * Then the drops stop, receipts are given SOAK_SETTLE_SECONDS (default 120) to arrive, and every
 * acknowledged message is looked up: lost = acknowledged but not in the history; stuck = not
 * final. Also counted: HTTP 5xx, network errors, and the gateway's RSS and open fds (from
 * /proc/<pid>) at start, every minute and at the end. The simulator keeps every receipt until
 * it is acknowledged and offers it again after each reconnect, as an SMSC does.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { CMD, Writer, messageBody } from '../src/codec/smpp-pdu.js';
import { startSmscSimulator } from '../src/sim/smsc/simulator.js';
import { bindTransceiverPdu, freePort, machine, startGateway, writeSection } from './support.js';

const MINUTES = Number(process.env.SOAK_MINUTES ?? 60);
const DROP_MS = Number(process.env.SOAK_DROP_SECONDS ?? 5) * 1000;
const SETTLE_MS = Number(process.env.SOAK_SETTLE_SECONDS ?? 120) * 1000;
if (!(MINUTES > 0) || !(DROP_MS >= 1000) || !(SETTLE_MS >= 0)) {
  throw new Error('SOAK_MINUTES > 0, SOAK_DROP_SECONDS ≥ 1 and SOAK_SETTLE_SECONDS ≥ 0, please');
}
const KEY = 'soak-admin-key-0123456789abcdef';
const ESME_PASSWORD = 'soak-pw1';
const BULK = 100;
/** Pauses between requests of one loop: about 150 messages/s offered in all, on a shared box. */
const SINGLE_PAUSE_MS = 25;
const BULK_PAUSE_MS = 1000;
const READ_PAUSE_MS = 50;
const ESME_WINDOW = 10;
const ESME_PAUSE_MS = 40;

interface Sample {
  at: string;
  rssMb: number;
  fds: number;
  accepted: number;
}

const accepted = new Set<string>();
const counts = {
  httpRequests: 0,
  http5xx: 0,
  http4xx: 0,
  networkErrors: 0,
  reads: 0,
  smppSubmits: 0,
  smppAccepted: 0,
  smppRefused: 0,
  smppRefusedBy: new Map<number, number>(),
  smppReceipts: 0,
  drops: 0,
};
const status5xx = new Map<string, number>();

function procSample(pid: number, startedAt: number): Sample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return {
    at: `${((Date.now() - startedAt) / 60_000).toFixed(1)} min`,
    rssMb: rssKb / 1024,
    fds: readdirSync(`/proc/${pid}/fd`).length,
    accepted: accepted.size,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function http(
  url: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: any }> {
  counts.httpRequests++;
  try {
    const res = await fetch(url + path, {
      method,
      headers: { authorization: `Bearer ${KEY}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    if (res.status >= 500) {
      counts.http5xx++;
      const k = `${method} ${path.split('?')[0]!.replace(/[0-9a-f-]{36}/, ':id')} ${res.status}`;
      status5xx.set(k, (status5xx.get(k) ?? 0) + 1);
    } else if (res.status >= 400) counts.http4xx++;
    return { status: res.status, json: text ? JSON.parse(text) : null };
  } catch {
    counts.networkErrors++;
    return { status: 0, json: null };
  }
}

const number = (n: number) => `+4477${String(n % 100_000_000).padStart(8, '0')}`;

async function singleSender(url: string, worker: number, deadline: number): Promise<void> {
  for (let i = 0; Date.now() < deadline; i++) {
    const text = i % 5 === 0 ? `soak ${worker}-${i} `.padEnd(200, 'x') : `soak ${worker}-${i}`;
    const r = await http(url, 'POST', '/v1/messages', { to: number(worker * 10_000_000 + i), text });
    if (r.status === 202) for (const m of r.json.messages as { id?: string }[]) if (m.id) accepted.add(m.id);
    await sleep(SINGLE_PAUSE_MS);
  }
}

async function bulkSender(url: string, deadline: number): Promise<void> {
  for (let i = 0; Date.now() < deadline; i++) {
    const to = Array.from({ length: BULK }, (_, k) => number(50_000_000 + i * BULK + k));
    const r = await http(url, 'POST', '/v1/messages', { to, text: `soak bulk ${i}` });
    if (r.status === 202) for (const m of r.json.messages as { id?: string }[]) if (m.id) accepted.add(m.id);
    await sleep(BULK_PAUSE_MS);
  }
}

async function reader(url: string, deadline: number): Promise<void> {
  const ids: string[] = [];
  for (let i = 0; Date.now() < deadline; i++) {
    if (ids.length < 1000 && accepted.size > ids.length) ids.push(...[...accepted].slice(ids.length, 1000));
    if (i % 10 === 0 || ids.length === 0) await http(url, 'GET', '/v1/messages?limit=50');
    else await http(url, 'GET', `/v1/messages/${ids[i % ids.length]}`);
    counts.reads++;
    await sleep(READ_PAUSE_MS);
  }
}

/** One ESME over the gateway's SMPP face: window ESME_WINDOW, receipts requested and acknowledged. */
async function esme(port: number, deadline: number): Promise<() => void> {
  let socket: Socket | undefined;
  let seq = 0;
  let outstanding = 0;
  let done = false;
  let bound = false;
  const open = () => {
    const s = connect(port, '127.0.0.1');
    socket = s;
    outstanding = 0;
    bound = false;
    let buf: Buffer = Buffer.alloc(0);
    s.on('error', () => undefined);
    s.on('close', () => {
      if (!done) setTimeout(open, 1000);
    });
    s.on('connect', () => s.write(bindTransceiverPdu('soak', ESME_PASSWORD)));
    s.on('data', (chunk: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      const out: Buffer[] = [];
      while (buf.length >= 16 && buf.length >= buf.readUInt32BE(0)) {
        const len = buf.readUInt32BE(0);
        const id = buf.readUInt32BE(4);
        const st = buf.readUInt32BE(8);
        const sq = buf.readUInt32BE(12);
        const body = buf.subarray(16, len);
        buf = buf.subarray(len);
        if (id === CMD.bind_transceiver_resp) {
          if (st !== 0) throw new Error(`ESME bind refused: ${st}`);
          bound = true;
        } else if (id === CMD.submit_sm_resp) {
          outstanding--;
          if (st === 0) {
            counts.smppAccepted++;
            accepted.add(body.subarray(0, body.indexOf(0)).toString('latin1'));
          } else {
            counts.smppRefused++;
            counts.smppRefusedBy.set(st, (counts.smppRefusedBy.get(st) ?? 0) + 1);
          }
        } else if (id === CMD.deliver_sm) {
          counts.smppReceipts++;
          out.push(new Writer().cstring('').pdu(CMD.deliver_sm_resp, 0, sq));
        } else if (id === CMD.enquire_link) {
          out.push(new Writer().pdu(CMD.enquire_link_resp, 0, sq));
        }
      }
      if (out.length) s.write(Buffer.concat(out));
    });
  };
  open();
  void (async () => {
    for (let i = 0; Date.now() < deadline; i++) {
      if (socket && !socket.destroyed && bound && outstanding < ESME_WINDOW) {
        outstanding++;
        counts.smppSubmits++;
        socket.write(
          messageBody({
            source: 'SOAK',
            destination: `4478${String(i % 100_000_000).padStart(8, '0')}`,
            esmClass: 0,
            registeredDelivery: 1,
            dataCoding: 0,
            body: Buffer.from(`soak smpp ${i}`, 'latin1'),
          }).pdu(CMD.submit_sm, 0, (seq = (seq % 0x7ffffff0) + 1)),
        );
      }
      await sleep(ESME_PAUSE_MS);
    }
  })();
  /** Stops reconnecting and closes (after the receipts were waited for). */
  return () => {
    done = true;
    socket?.destroy();
  };
}

/** Every message the gateway holds: id → final (walks the history 500 at a time). */
async function history(url: string): Promise<Map<string, { status: string; final: boolean }>> {
  const out = new Map<string, { status: string; final: boolean }>();
  let cursor: string | null = null;
  do {
    const r = await http(url, 'GET', `/v1/messages?limit=500${cursor ? `&cursor=${cursor}` : ''}`);
    if (r.status !== 200) throw new Error(`history answered ${r.status}`);
    for (const m of r.json.data as { id: string; status: string; final: boolean }[])
      out.set(m.id, { status: m.status, final: m.final });
    cursor = r.json.next_cursor as string | null;
  } while (cursor);
  return out;
}

async function main(): Promise<void> {
  // Receipts 300 ms after submit; 1 in 10 fails (UNDELIV/EXPIRED/REJECTD), so every final status shows.
  const sim = await startSmscSimulator({
    receiptDelayMs: 300,
    successRate: 0.9,
  });
  const smppPort = await freePort();
  const gw = await startGateway({
    SMSGW_ADMIN_API_KEY: KEY,
    SMSGW_SIMULATOR: 'false',
    SMSGW_SMPP_PORT: String(smppPort),
  });
  const pid = gw.proc.pid!;
  const startedAt = Date.now();
  const samples: Sample[] = [procSample(pid, startedAt)];
  let stopEsme = () => undefined as void;
  try {
    const ch = await http(gw.url, 'POST', '/v1/channels', {
      name: 'upstream',
      type: 'smpp',
      max_in_flight: 200,
      config: { host: '127.0.0.1', port: sim.port, systemId: 'gw', password: 'pw', window: 100 },
    });
    if (ch.status !== 201) throw new Error(`cannot create the channel: ${JSON.stringify(ch.json)}`);
    const user = await http(gw.url, 'POST', '/v1/users', { login: 'soak', password: ESME_PASSWORD });
    if (user.status !== 201) throw new Error(`cannot create the ESME user: ${JSON.stringify(user.json)}`);

    const deadline = Date.now() + MINUTES * 60_000;
    const dropper = setInterval(() => {
      sim.dropConnections();
      counts.drops++;
    }, DROP_MS);
    const sampler = setInterval(() => {
      const s = procSample(pid, startedAt);
      samples.push(s);
      process.stdout.write(
        `${s.at}: RSS ${s.rssMb.toFixed(0)} MB, ${s.fds} fds, ${s.accepted} accepted, ${counts.http5xx} 5xx, ${counts.drops} drops\n`,
      );
    }, 60_000);
    stopEsme = await esme(smppPort, deadline);
    await Promise.all([
      singleSender(gw.url, 1, deadline),
      singleSender(gw.url, 2, deadline),
      bulkSender(gw.url, deadline),
      reader(gw.url, deadline),
      sleep(Math.max(0, deadline - Date.now())),
    ]);
    clearInterval(dropper);
    clearInterval(sampler);
    const loadEnded = Date.now();
    process.stdout.write(`load ended: ${accepted.size} accepted; waiting for receipts\n`);

    // Receipts are due 300 ms after each submit; the last drop may have held some back until
    // the channel rebinds (about a second). Wait until nothing is open or SETTLE_MS has passed.
    let open = -1;
    while (Date.now() - loadEnded < SETTLE_MS) {
      const r = await http(gw.url, 'GET', '/v1/messages?status=queued,sending,sent&limit=500');
      open = (r.json?.data as { final: boolean }[] | undefined)?.filter((m) => !m.final).length ?? -1;
      if (open === 0) break;
      await sleep(1000);
    }
    const settleSeconds = (Date.now() - loadEnded) / 1000;
    const stored = await history(gw.url);
    samples.push({ ...procSample(pid, startedAt), at: 'end' });
    stopEsme();

    const lost = [...accepted].filter((id) => !stored.has(id));
    const stuck = [...accepted].filter((id) => stored.has(id) && !stored.get(id)!.final);
    const byStatus = new Map<string, number>();
    for (const id of accepted) {
      const st = stored.get(id)?.status ?? 'lost';
      byStatus.set(st, (byStatus.get(st) ?? 0) + 1);
    }
    const start = samples[0]!;
    const end = samples[samples.length - 1]!;
    const lines = [
      `Command: \`SOAK_MINUTES=${MINUTES} npm run soak\` (default 60 minutes) — the gateway in its own process (SQLite synchronous=FULL) with an SMPP client channel to the SMSC simulator (receipts after 300 ms, 10 % failed, kept until acknowledged and offered again after each reconnect), whose connections are cut every ${DROP_MS / 1000} s; traffic: two loops of single HTTP sends (every fifth in two parts), bulk sends of ${BULK} every second, an ESME over the SMPP face (window ${ESME_WINDOW}, receipts requested) and status reads. Machine: ${machine()}, shared with other engineers' test runs while it ran, so the rates say little; what counts is lost, stuck, 5xx and whether RSS and fds stay flat.`,
      '',
      '| minutes | upstream drops | accepted | lost | stuck | HTTP requests | 5xx | network errors | SMPP submits accepted / refused | receipts to the ESME | settled after |',
      '|---|---|---|---|---|---|---|---|---|---|---|',
      `| ${MINUTES} | ${counts.drops} | ${accepted.size} | ${lost.length} | ${stuck.length} | ${counts.httpRequests} | ${counts.http5xx} | ${counts.networkErrors} | ${counts.smppAccepted} / ${counts.smppRefused} | ${counts.smppReceipts} | ${settleSeconds.toFixed(1)} s |`,
      '',
      `Final statuses of the accepted messages: ${[...byStatus].map(([s, n]) => `${s} ${n}`).join(', ')}. SMPP refusals by command_status: ${[...counts.smppRefusedBy].map(([s, n]) => `0x${s.toString(16).padStart(8, '0')} × ${n}`).join(', ') || 'none'}.${status5xx.size ? ` 5xx by route: ${[...status5xx].map(([k, n]) => `${k} × ${n}`).join(', ')}.` : ''}`,
      '',
      '| at | gateway RSS MB | open fds | accepted so far |',
      '|---|---|---|---|',
      ...samples.map((s) => `| ${s.at} | ${s.rssMb.toFixed(0)} | ${s.fds} | ${s.accepted} |`),
      '',
      `RSS ${start.rssMb.toFixed(0)} → ${end.rssMb.toFixed(0)} MB, fds ${start.fds} → ${end.fds} (start: before any traffic; end: after the receipts were waited for, ESME still bound).`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    if (lost.length || stuck.length) {
      process.stdout.write(`lost: ${lost.slice(0, 20).join(' ')}\nstuck: ${stuck.slice(0, 20).join(' ')}\n`);
    }
    writeSection('Soak', lines.join('\n'));
    if (lost.length || stuck.length || counts.http5xx) process.exitCode = 1;
  } finally {
    stopEsme();
    await gw.stop();
    await sim.stop();
  }
}

await main();
