/** The SMSC simulator as a raw ESME sees it: receipt timing on the wire, ids, and resends until ESME_ROK. */
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { PduReader } from '../../../src/codec/smpp-frames.js';
import { CMD, STATUS, Writer, messageBody, readHeader } from '../../../src/codec/smpp-pdu.js';
import type { SmscSim, SmscSimOptions } from '../../../src/sim/smsc/simulator.js';
import { startSmscSimulator } from '../../../src/sim/smsc/simulator.js';
import { eventually } from '../../support/app.js';

interface Seen {
  id: number;
  status: number;
  seq: number;
  body: string;
  chunk: number;
}

const rid = (p: Seen) => /id:(\S+)/.exec(p.body)?.[1];

/** A bare transceiver: records every PDU with the socket read it came in. */
async function esme(port: number) {
  const socket: Socket = connect(port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  const reader = new PduReader();
  const seen: Seen[] = [];
  let chunks = 0;
  socket.on('data', (c: Buffer) => {
    chunks++;
    const pdus = reader.push(c);
    if (pdus === 'invalid') throw new Error('invalid stream');
    for (const raw of pdus) {
      const h = readHeader(raw);
      seen.push({
        id: h.id,
        status: h.status,
        seq: h.seq,
        body: raw.subarray(16).toString('latin1'),
        chunk: chunks,
      });
    }
  });
  let seq = 0;
  const write = (id: number, body: Writer, status = 0, s = ++seq) => socket.write(body.pdu(id, status, s));
  write(
    CMD.bind_transceiver,
    new Writer().cstring('gw').cstring('pw').cstring('').u8(0x34).u8(0).u8(0).cstring(''),
  );
  await eventually(async () => seen.find((p) => p.id === CMD.bind_transceiver_resp));
  return {
    socket,
    seen,
    submit: (to: string) =>
      write(
        CMD.submit_sm,
        messageBody({
          source: 'T',
          destination: to,
          esmClass: 0,
          registeredDelivery: 1,
          dataCoding: 0,
          body: Buffer.from('x'),
        }),
      ),
    answer: (p: Seen, status: number) => write(CMD.deliver_sm_resp, new Writer().cstring(''), status, p.seq),
    receipts: () => seen.filter((p) => p.id === CMD.deliver_sm),
  };
}

describe('SMSC simulator', () => {
  let sim: SmscSim | undefined;
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await sim?.stop();
    sim = undefined;
  });
  const start = async (o: Partial<SmscSimOptions>) => (sim = await startSmscSimulator(o));
  const client = async (port: number) => {
    const c = await esme(port);
    sockets.push(c.socket);
    return c;
  };

  it('writes a receipt in the same socket write as its submit_sm_resp, or before it', async () => {
    const s = await start({ receiptTiming: 'with-resp' });
    const c = await client(s.port);
    c.submit('100');
    const receipt = await eventually(async () => c.receipts()[0]);
    const resp = c.seen.find((p) => p.id === CMD.submit_sm_resp)!;
    expect(receipt.chunk).toBe(resp.chunk);
    expect(c.seen.indexOf(resp)).toBe(c.seen.indexOf(receipt) - 1);

    const before = await startSmscSimulator({ receiptTiming: 'before-resp' });
    try {
      const b = await client(before.port);
      b.submit('101');
      await eventually(async () => b.seen.find((p) => p.id === CMD.submit_sm_resp));
      const ids = b.seen.map((p) => p.id);
      expect(ids.indexOf(CMD.deliver_sm)).toBeLessThan(ids.indexOf(CMD.submit_sm_resp));
    } finally {
      await before.stop();
    }
  });

  it('numbers ids 1, 2, 3 …, holds receipts N submits late, and fails ids deterministically', async () => {
    const s = await start({
      respIdFormat: 'sequential',
      receiptIdFormat: 'sequential',
      receiptLagSubmits: 2,
      undelivEvery: 3,
    });
    const c = await client(s.port);
    for (let i = 0; i < 4; i++) c.submit(`20${i}`);
    await eventually(async () => (c.receipts().length === 2 ? true : undefined));
    expect(c.seen.filter((p) => p.id === CMD.submit_sm_resp).map((p) => p.body.replace(/\0.*$/, ''))).toEqual(
      ['1', '2', '3', '4'],
    );
    s.releaseReceipts();
    await eventually(async () => (c.receipts().length === 4 ? true : undefined));
    const stats = c.receipts().map((p) => /id:(\d+) .*stat:(\w+)/.exec(p.body)!.slice(1).join(' '));
    expect(stats).toEqual(['1 DELIVRD', '2 DELIVRD', '3 UNDELIV', '4 DELIVRD']);
  });

  it('keeps a receipt until ESME_ROK: again after a temporary error, and after a rebind', async () => {
    const s = await start({ receiptTiming: 'with-resp', retryDelayMs: 20 });
    const c = await client(s.port);
    c.submit('300');
    const first = await eventually(async () => c.receipts()[0]);
    c.answer(first, STATUS.ESME_RX_T_APPN);
    const again = await eventually(async () => c.receipts()[1]);
    expect(rid(again)).toBe(rid(first));
    c.answer(again, STATUS.ESME_ROK);
    await eventually(async () => (s.stats.receiptsAcked === 1 ? true : undefined));
    expect(s.stats).toMatchObject({ receipts: 1, receiptsResent: 1, receiptsNacked: 1, receiptsUnacked: 0 });

    // Unanswered when the connection drops: offered on the next bind.
    c.submit('301');
    await eventually(async () => c.receipts()[2]);
    c.socket.destroy();
    const d = await client(s.port);
    const resent = await eventually(async () => d.receipts()[0]);
    expect(rid(resent)).toBe(rid(c.receipts()[2]!));
    d.answer(resent, STATUS.ESME_ROK);
    await eventually(async () => (s.stats.receiptsUnacked === 0 ? true : undefined));
    expect(s.stats).toMatchObject({ receipts: 2, receiptsAcked: 2, receiptsResent: 2 });
  });
});
