/**
 * A seeded, bounded fuzzer of the SMPP server face over real sockets. Valid PDUs of every kind
 * a client sends are mutated (bit flips, bytes set, inserted, deleted, truncated, terminators
 * removed, lengths inside the body changed, TLVs appended, command ids and statuses replaced),
 * pipelined on unbound and bound sessions in random chunks; framing is broken on purpose
 * (command_length too small, too large, longer or shorter than the bytes sent) and random
 * byte streams are thrown in. The oracle:
 *
 * - every request is answered (with its own response id or generic_nack, never ESME_RSYSERR,
 *   which would mean an exception we did not expect), or the connection is closed cleanly by
 *   the server after a request that may close it (a bind, an unbind, broken framing);
 * - everything the server writes is well-framed SMPP;
 * - the process does not crash, holds no more file descriptors afterwards, leaves no session
 *   or held part behind, and a well-behaved client is served afterwards.
 *
 * SMPP_FUZZ_SEED picks another seed; SMPP_FUZZ_CASES another size (default 3,000 mutated PDUs).
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CMD, MAX_PDU, STATUS, TLV, Writer, messageBody } from '../../src/codec/smpp-pdu.js';
import type { TestApp } from '../support/app.js';
import { eventually } from '../support/app.js';
import { Client, bindBody, cancelBody, queryBody, replaceBody, startSmppFace } from '../support/esme.js';
import type { Seeded } from '../support/random.js';
import { seeded } from '../support/random.js';

const SEED = Number(process.env.SMPP_FUZZ_SEED ?? 20261129);
const CASES = Number(process.env.SMPP_FUZZ_CASES ?? 3000);
const PER_CONNECTION = 25;
const PARALLEL = 6;
const LOGIN = 'fuzz';
const PASSWORD = 'fuzzpass';

type Rng = Seeded;

const submit = (extra: Partial<Parameters<typeof messageBody>[0]> = {}) =>
  messageBody({
    source: 'FUZZ',
    destination: '79001230000',
    esmClass: 0,
    dataCoding: 0,
    registeredDelivery: 1,
    body: Buffer.from('fuzz me'),
    ...extra,
  });

/** A user data header of concatenation and shift elements, often cut short or overlong. */
function randomUdh(rng: Rng): Buffer {
  const ies: number[] = [];
  for (let i = 0, n = 1 + rng.int(3); i < n; i++) {
    const [iei, len] = rng.pick([
      [0x00, 3],
      [0x08, 4],
      [0x24, 1],
      [rng.int(256), rng.int(8)],
    ] as const);
    // The element's data is as long as it says, or shorter (the header ends first), or longer.
    ies.push(iei, len, ...rng.bytes(rng.pick([len, rng.int(len), len + 1])));
  }
  const udhl = rng.int(4) === 0 ? rng.int(256) : ies.length;
  return Buffer.concat([Buffer.from([udhl, ...ies]), Buffer.from('text after the header')]);
}

/** Valid requests (and responses) a client sends, as [command_id, body]. */
const TEMPLATES: [number, (rng: Rng) => Writer][] = [
  // Headers are where parsers slip: three times the weight.
  ...Array.from({ length: 3 }, (): [number, (rng: Rng) => Writer] => [
    CMD.submit_sm,
    (rng) => submit({ esmClass: 0x40, body: randomUdh(rng) }),
  ]),
  [CMD.submit_sm, () => submit()],
  [CMD.submit_sm, () => submit({ dataCoding: 8, body: Buffer.from('0041006200630064', 'hex') })],
  [
    CMD.submit_sm,
    () =>
      submit({
        esmClass: 0x40,
        body: Buffer.concat([Buffer.from([5, 0, 3, 7, 2, 1]), Buffer.from('part one ')]),
      }),
  ],
  [
    CMD.submit_sm,
    () =>
      submit({
        esmClass: 0x40,
        body: Buffer.concat([Buffer.from([6, 8, 4, 1, 2, 2, 2]), Buffer.from('part two')]),
      }),
  ],
  [
    CMD.submit_sm,
    () =>
      submit({
        tlvs: [
          [TLV.sar_msg_ref_num, Buffer.from([0, 9])],
          [TLV.sar_total_segments, Buffer.from([2])],
          [TLV.sar_segment_seqnum, Buffer.from([1])],
        ],
      }),
  ],
  [CMD.submit_sm, () => submit({ body: Buffer.alloc(300, 0x41) })], // message_payload
  [
    CMD.submit_multi,
    () =>
      new Writer()
        .cstring('')
        .u8(1)
        .u8(1)
        .cstring('FUZZ')
        .u8(2)
        .u8(1)
        .u8(1)
        .u8(1)
        .cstring('79001230001')
        .u8(2)
        .cstring('list')
        .u8(0)
        .u8(0)
        .u8(0)
        .cstring('')
        .cstring('000001000000000R')
        .u8(1)
        .u8(0)
        .u8(0)
        .u8(0)
        .u8(5)
        .bytes(Buffer.from('multi')),
  ],
  [CMD.query_sm, () => queryBody('0190f0e4-7b3c-7000-8000-000000000000')],
  [CMD.cancel_sm, () => cancelBody('nope')],
  [CMD.replace_sm, () => replaceBody('nope', 'new')],
  [CMD.enquire_link, () => new Writer()],
  [CMD.unbind, () => new Writer()],
  [CMD.bind_transceiver, () => bindBody(LOGIN, PASSWORD)],
  [CMD.bind_receiver, () => bindBody('nobody', 'x')],
  [CMD.deliver_sm_resp, () => new Writer().cstring('')],
  [CMD.generic_nack, () => new Writer()],
  [CMD.enquire_link_resp, () => new Writer()],
  [CMD.data_sm, () => submit()],
  [0x00000099, () => new Writer().bytes(Buffer.from('??'))],
];

/** One mutation of a PDU body (the header is rebuilt around it). */
function mutate(rng: Rng, body: Buffer): { body: Buffer; how: string } {
  const b = Buffer.from(body);
  const at = () => rng.int(Math.max(1, b.length));
  switch (rng.int(9)) {
    case 0: {
      for (let i = 0, n = 1 + rng.int(4); i < n && b.length; i++) {
        const p = at();
        b[p] = (b[p] as number) ^ (1 << rng.int(8));
      }
      return { body: b, how: 'bit flips' };
    }
    case 1: {
      for (let i = 0, n = 1 + rng.int(4); i < n && b.length; i++)
        b[at()] = rng.pick([0, 0xff, 0x7f, 0x80, rng.int(256)]);
      return { body: b, how: 'bytes set' };
    }
    case 2:
      return { body: b.subarray(0, rng.int(b.length + 1)), how: 'truncated' };
    case 3: {
      const p = rng.int(b.length + 1);
      return {
        body: Buffer.concat([b.subarray(0, p), rng.bytes(1 + rng.int(40)), b.subarray(p)]),
        how: 'inserted',
      };
    }
    case 4: {
      const p = at();
      return { body: Buffer.concat([b.subarray(0, p), b.subarray(p + 1 + rng.int(20))]), how: 'deleted' };
    }
    case 5: {
      // Every C-string terminator gone: fields run into each other.
      for (let i = 0; i < b.length; i++) if (b[i] === 0) b[i] = 0x41;
      return { body: b, how: 'no terminators' };
    }
    case 6: {
      // A length byte or TLV length inside the body says more (or less) than follows.
      if (b.length) b[at()] = rng.pick([0, 1, 0xfe, 0xff]);
      return {
        body: Buffer.concat([
          b,
          Buffer.from([0x04, 0x24, rng.int(256), rng.int(256)]),
          rng.bytes(rng.int(8)),
        ]),
        how: 'lengths',
      };
    }
    case 7: {
      const tlv = Buffer.alloc(4);
      tlv.writeUInt16BE(
        rng.pick([
          TLV.sar_msg_ref_num,
          TLV.sar_total_segments,
          TLV.sar_segment_seqnum,
          TLV.message_payload,
          rng.int(65536),
        ]),
        0,
      );
      const value = rng.bytes(rng.int(6));
      tlv.writeUInt16BE(rng.int(3) === 0 ? rng.int(65536) : value.length, 2);
      return { body: Buffer.concat([b, tlv, value]), how: 'TLV appended' };
    }
    default:
      return { body: rng.bytes(rng.int(200)), how: 'random body' };
  }
}

interface Case {
  pdu: Buffer;
  id: number;
  seq: number;
  /** A request: it must be answered unless the connection closed first. */
  expect: boolean;
  /** May end the connection (a refused bind, an unbind). */
  mayClose: boolean;
}

function header(id: number, status: number, seq: number, body: Buffer, length = 16 + body.length): Buffer {
  const h = Buffer.alloc(16);
  h.writeUInt32BE(length >>> 0, 0);
  h.writeUInt32BE(id >>> 0, 4);
  h.writeUInt32BE(status >>> 0, 8);
  h.writeUInt32BE(seq >>> 0, 12);
  return Buffer.concat([h, body]);
}

/** Requests after which the server may hang up; rare, so most connections run all their cases. */
const CLOSERS = new Set<number>([CMD.unbind, CMD.bind_receiver, CMD.bind_transmitter, CMD.bind_transceiver]);
const OPEN_TEMPLATES = TEMPLATES.filter(([id]) => !CLOSERS.has(id));
const CLOSING_TEMPLATES = TEMPLATES.filter(([id]) => CLOSERS.has(id));

function makeCase(rng: Rng, seq: number, stats: Map<string, number>): Case {
  const [templateId, build] = rng.pick(rng.int(60) === 0 ? CLOSING_TEMPLATES : OPEN_TEMPLATES);
  let id = templateId;
  let status = 0;
  let body = build(rng).pdu(0, 0, 0).subarray(16);
  if (rng.int(10) < 9) {
    const m = mutate(rng, body);
    body = m.body;
    stats.set(m.how, (stats.get(m.how) ?? 0) + 1);
  } else stats.set('unmutated', (stats.get('unmutated') ?? 0) + 1);
  if (rng.int(20) === 0) {
    id = rng.pick([rng.int(2 ** 32), rng.int(0x200), (templateId | 0x80000000) >>> 0]);
    stats.set('command_id', (stats.get('command_id') ?? 0) + 1);
  }
  if (rng.int(20) === 0) status = rng.int(2 ** 32);
  const request = (id & 0x80000000) === 0;
  const mayClose = CLOSERS.has(id);
  return { pdu: header(id, status, seq, body), id, seq, expect: request, mayClose };
}

/** A PDU whose framing is broken: what follows cannot be parsed as the client meant it. */
function brokenFrame(rng: Rng, seq: number): { bytes: Buffer; kind: string } {
  const body = rng.bytes(rng.int(40));
  switch (rng.int(4)) {
    case 0:
      return { bytes: header(CMD.submit_sm, 0, seq, body, rng.int(16)), kind: 'length below 16' };
    case 1:
      return {
        bytes: header(CMD.submit_sm, 0, seq, body, MAX_PDU + 1 + rng.int(2 ** 30)),
        kind: 'length above maximum',
      };
    case 2:
      return {
        bytes: header(CMD.enquire_link, 0, seq, body, 16 + body.length + 1 + rng.int(1000)),
        kind: 'length beyond the bytes sent',
      };
    default:
      return {
        bytes: header(CMD.query_sm, 0, seq, body, 16 + rng.int(body.length + 1)),
        kind: 'length short of the bytes sent',
      };
  }
}

interface Outcome {
  answered: number;
  closedByServer: boolean;
  failures: string[];
  statuses: number[];
}

/** Runs cases on one connection and checks the oracle. */
async function session(
  port: number,
  rng: Rng,
  cases: Case[],
  opts: { bindFirst: boolean; tail?: Buffer; deadlineMs: number },
): Promise<Outcome> {
  const socket: Socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  await new Promise((r) => socket.once('connect', r));
  const answers = new Map<number, { id: number; status: number }[]>();
  const failures: string[] = [];
  let buf = Buffer.alloc(0);
  let ended = false;
  let closed = false;
  socket.on('end', () => (ended = true));
  socket.on('close', () => (closed = true));
  socket.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 16) {
      const len = buf.readUInt32BE(0);
      if (len < 16 || len > MAX_PDU) {
        failures.push(`server wrote a PDU with command_length ${len}`);
        buf = Buffer.alloc(0);
        return;
      }
      if (buf.length < len) return;
      const seq = buf.readUInt32BE(12);
      // The server's own requests are not answers: receipts of the concatenated messages the
      // fuzzer left incomplete (refused as parts_missing) reach its transceiver binds.
      if (buf.readUInt32BE(4) === CMD.deliver_sm) {
        buf = buf.subarray(len);
        continue;
      }
      const list = answers.get(seq) ?? [];
      list.push({ id: buf.readUInt32BE(4), status: buf.readUInt32BE(8) });
      answers.set(seq, list);
      buf = buf.subarray(len);
    }
  });
  const waitFor = async (check: () => boolean, ms: number) => {
    const until = Date.now() + ms;
    while (!check() && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    return check();
  };
  if (opts.bindFirst) {
    socket.write(header(CMD.bind_transceiver, 0, 1, bindBody(LOGIN, PASSWORD).pdu(0, 0, 0).subarray(16)));
    if (
      !(await waitFor(() => answers.has(1) || closed, opts.deadlineMs)) ||
      answers.get(1)?.[0]?.status !== 0
    ) {
      failures.push('the well-formed bind was not accepted');
    }
  }
  // The cases go out pipelined, cut into chunks at random places.
  const stream = Buffer.concat([...cases.map((c) => c.pdu), opts.tail ?? Buffer.alloc(0)]);
  for (let p = 0; p < stream.length && !closed;) {
    const n = 1 + rng.int(Math.min(stream.length - p, rng.int(4) === 0 ? 7 : 2000));
    socket.write(stream.subarray(p, p + n));
    p += n;
    if (rng.int(3) === 0) await new Promise((r) => setImmediate(r));
  }
  const expected = cases.filter((c) => c.expect);
  const done = () => closed || ended || expected.every((c) => answers.has(c.seq));
  await waitFor(done, opts.deadlineMs);
  // A broken frame at the end: the server answers and hangs up, or waits for bytes that never come.
  if (opts.tail) await waitFor(() => ended || closed, 300);
  const closedByServer = ended;
  if (!done()) failures.push(`no answer and no close within ${opts.deadlineMs} ms`);
  const firstCloser = cases.findIndex((c) => c.mayClose);
  const mustAnswer = closedByServer ? cases.slice(0, firstCloser === -1 ? cases.length : firstCloser) : cases;
  const statuses: number[] = [];
  for (const c of mustAnswer.filter((x) => x.expect)) {
    const got = answers.get(c.seq);
    if (!got) {
      if (!closedByServer || firstCloser !== -1 || !opts.tail)
        failures.push(
          `request 0x${c.id.toString(16)} seq ${c.seq} not answered${closedByServer ? ' before the server closed' : ''}`,
        );
      continue;
    }
    for (const a of got) {
      statuses.push(a.status);
      if (a.id !== (c.id | 0x80000000) >>> 0 && a.id !== CMD.generic_nack)
        failures.push(`request 0x${c.id.toString(16)} answered with 0x${a.id.toString(16)}`);
      if (a.status === STATUS.ESME_RSYSERR)
        failures.push(`request 0x${c.id.toString(16)} hit an unexpected error (ESME_RSYSERR)`);
    }
  }
  for (const c of cases.filter((x) => !x.expect)) {
    if (answers.has(c.seq)) failures.push(`response-type PDU 0x${c.id.toString(16)} was answered`);
  }
  socket.destroy();
  return { answered: statuses.length, closedByServer, failures, statuses };
}

const openFds = () => readdirSync('/proc/self/fd').length;

describe('SMPP face fuzzer', () => {
  let t: TestApp;
  let port: number;

  beforeAll(async () => {
    ({ t, port } = await startSmppFace(
      { login: LOGIN, password: PASSWORD },
      {
        SMSGW_SMPP_PARTS_TIMEOUT_MS: '1000',
        SMSGW_SMPP_BIND_TIMEOUT_MS: '3000',
        SMSGW_SMPP_MAX_CONNECTIONS_PER_IP: '1000',
        SMSGW_SMPP_MAX_BINDS_PER_SYSTEM_ID: '1000',
      },
    ));
  });
  afterAll(() => t?.stop());

  it(`answers ${CASES} mutated PDUs or hangs up cleanly, and leaks nothing (seed ${SEED})`, async () => {
    // Warm up: one full session, so lazily opened descriptors (database, thread pool) exist.
    const warm = await Client.open(port);
    expect((await warm.bind(LOGIN, PASSWORD)).status).toBe(0);
    expect((await warm.submit('79001230000', 'warm up')).status).toBe(0);
    warm.close();
    await eventually(async () => (t.app.smpp?.connections === 0 ? true : undefined));
    const fdsBefore = openFds();
    const rssBefore = process.memoryUsage().rss;

    const rng = seeded(SEED);
    const mutations = new Map<string, number>();
    const frames = new Map<string, number>();
    const failures: string[] = [];
    const statusCounts = new Map<number, number>();
    let cases = 0;
    let connections = 0;
    let closedByServer = 0;
    let answered = 0;
    const jobs: (() => Promise<void>)[] = [];
    while (cases < CASES) {
      const n = Math.min(PER_CONNECTION, CASES - cases);
      const batch = Array.from({ length: n }, (_, i) => makeCase(rng, 2 + i, mutations));
      cases += n;
      const bindFirst = rng.int(4) !== 0; // most on bound sessions, where most code is
      let tail: Buffer | undefined;
      if (rng.int(8) === 0) {
        const broken = brokenFrame(rng, 2 + n);
        frames.set(broken.kind, (frames.get(broken.kind) ?? 0) + 1);
        tail = broken.bytes;
      } else if (rng.int(20) === 0) {
        tail = rng.bytes(1 + rng.int(300));
        frames.set('random bytes', (frames.get('random bytes') ?? 0) + 1);
      }
      const connRng = seeded(SEED + cases);
      jobs.push(async () => {
        const o = await session(port, connRng, batch, { bindFirst, tail, deadlineMs: 20_000 });
        connections++;
        answered += o.answered;
        if (o.closedByServer) closedByServer++;
        for (const s of o.statuses) statusCounts.set(s, (statusCounts.get(s) ?? 0) + 1);
        failures.push(...o.failures);
      });
    }
    const started = Date.now();
    await Promise.all(
      Array.from({ length: PARALLEL }, async () => {
        for (let job = jobs.shift(); job; job = jobs.shift()) await job();
      }),
    );
    const elapsed = Date.now() - started;

    // Every connection is gone on the server's side too, and nothing is held for them.
    await eventually(async () => (t.app.smpp?.connections === 0 ? true : undefined), 30_000);
    await eventually(async () => (t.app.smpp?.assembler.building === 0 ? true : undefined), 30_000);
    const fdsAfter = await eventually(async () => {
      const n = openFds();
      return n <= fdsBefore ? n : undefined;
    }, 30_000).catch(() => openFds());
    const rssAfter = process.memoryUsage().rss;

    const fmt = (m: Map<string | number, number>) =>
      [...m].map(([k, v]) => `${typeof k === 'number' ? `0x${k.toString(16)}` : k}: ${v}`).join(', ');
    console.log(
      [
        `SMPP fuzz, seed ${SEED}: ${cases} PDUs on ${connections} connections in ${elapsed} ms;`,
        `  mutations: ${fmt(mutations)}`,
        `  broken framing at the end of a connection: ${fmt(frames)}`,
        `  ${answered} answers (statuses ${fmt(statusCounts)}); ${closedByServer} connections closed by the server`,
        `  open fds ${fdsBefore} before, ${fdsAfter} after; RSS ${(rssBefore / 2 ** 20).toFixed(0)} MB before, ${(rssAfter / 2 ** 20).toFixed(0)} MB after`,
        `  failures: ${failures.length}`,
      ].join('\n'),
    );
    expect(failures.slice(0, 20)).toEqual([]);
    expect(fdsAfter).toBeLessThanOrEqual(fdsBefore);

    // A well-behaved client is served as before.
    const c = await Client.open(port);
    // A transmitter: receipts of the fuzzer's incomplete messages would interleave on a transceiver.
    expect((await c.bind(LOGIN, PASSWORD, CMD.bind_transmitter)).status).toBe(STATUS.ESME_ROK);
    const resp = await c.submit('79001239999', 'after the storm', { registered: 1 });
    expect(resp.status).toBe(STATUS.ESME_ROK);
    const id = resp.body.toString('latin1', 0, resp.body.indexOf(0));
    const m = await t.call('GET', `/v1/messages/${id}`, { auth: `${LOGIN}:${PASSWORD}` });
    expect(m.body).toMatchObject({ text: 'after the storm', status: 'queued' });
    expect((await c.call(CMD.enquire_link)).status).toBe(STATUS.ESME_ROK);
    c.close();
  }, 240_000);
});
