/**
 * What smsgw owes SMPP clients is durable: a client that submits with registered_delivery,
 * unbinds, and comes back after the gateway restarted still gets every receipt it asked for
 * (one whose deliver_sm was never answered comes again on the next bind), and inbound messages
 * for a receiver that is away wait for it the same way.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CMD, STATUS, Writer, messageBody } from '../../src/codec/smpp-pdu.js';
import type { Pdu } from '../support/esme.js';
import { Client } from '../support/esme.js';
import type { TestApp } from '../support/app.js';
import { eventually, startTestApp } from '../support/app.js';
import { freePort } from '../support/net.js';

const FINAL = ['delivered', 'undelivered', 'failed', 'expired'];

describe('SMPP receipts and inbound messages across restarts', () => {
  let t: TestApp;
  let port: number;
  const dataDir = mkdtempSync(join(tmpdir(), 'smsgw-receipts-'));
  const env = () => ({ SMSGW_SMPP_PORT: String(port), SMSGW_DATA_DIR: dataDir });

  beforeAll(async () => {
    port = await freePort();
    t = await startTestApp(env());
    const sim = (await t.call('GET', '/v1/channels')).body.data[0];
    await t.call('PATCH', `/v1/channels/${sim.id}`, {
      body: {
        config: {
          deliveryDelayMs: 50,
          successRate: 1,
          rules: [{ prefix: '+7900999', outcome: 'absent_subscriber' }],
        },
      },
    });
    await t.call('POST', '/v1/users', { body: { login: 'esme', password: 'esmepass' } });
  });
  afterAll(() => t.stop());

  /** Reads deliver_sm PDUs until `n` arrived (answering none of them). */
  async function receipts(c: Client, n: number): Promise<Pdu[]> {
    const got: Pdu[] = [];
    while (got.length < n) {
      const p = await c.next();
      if (p.id === CMD.deliver_sm) got.push(p);
    }
    return got;
  }
  /** Rows waiting in the outbox (read straight from the table). */
  const owed = () => t.app.store.db.kysely.selectFrom('smpp_outbox').select('owner_id').execute();
  const ack = (c: Client, p: Pdu) =>
    c.raw(new Writer().cstring('').pdu(CMD.deliver_sm_resp, STATUS.ESME_ROK, p.seq));
  const idOf = (resp: Pdu) => resp.body.toString('latin1', 0, resp.body.indexOf(0));

  it('keeps receipts for a client that is not bound, through a restart, until it acknowledges them', async () => {
    const tx = await Client.open(port);
    expect((await tx.bind('esme', 'esmepass', CMD.bind_transmitter)).status).toBe(STATUS.ESME_ROK);
    const ok = idOf(await tx.submit('79001230001', 'receipt on any outcome', { registered: 1 }));
    const failed = idOf(await tx.submit('79009990002', 'receipt on any outcome', { registered: 1 }));
    const failureOnly = idOf(await tx.submit('79001230003', 'receipt on failure only', { registered: 2 }));
    const none = idOf(await tx.submit('79001230004', 'no receipt', { registered: 0 }));
    tx.close();
    for (const id of [ok, failed, failureOnly, none]) {
      await eventually(async () => {
        const m = await t.call('GET', `/v1/messages/${id}`);
        return FINAL.includes(m.body.status) ? true : undefined;
      });
    }
    expect((await t.call('GET', `/v1/messages/${failed}`)).body.status).toBe('undelivered');

    // The gateway restarts before anyone collected the two receipts owed.
    await eventually(async () => ((await owed()).length === 2 ? true : undefined));
    await t.stop();
    t = await startTestApp(env());

    const rx = await Client.open(port);
    expect((await rx.bind('esme', 'esmepass', CMD.bind_receiver)).status).toBe(STATUS.ESME_ROK);
    const first = await receipts(rx, 2);
    const texts = first.map((p) => p.body.toString('latin1'));
    // One receipt each for the two messages that asked for any outcome; none for the others.
    expect(texts.find((x) => x.includes(`id:${ok} `))).toMatch(/stat:DELIVRD/);
    expect(texts.find((x) => x.includes(`id:${failed} `))).toMatch(/stat:UNDELIV/);
    expect(texts.some((x) => x.includes(failureOnly) || x.includes(none))).toBe(false);
    // receipted_message_id (0x001E) carries the id the submit was answered with.
    expect(first.every((p) => p.body.includes(Buffer.from([0x00, 0x1e])))).toBe(true);

    // The first is acknowledged; the bind drops before the second is: it comes again.
    const acked = first.find((p) => p.body.toString('latin1').includes(`id:${ok} `)) as Pdu;
    ack(rx, acked);
    await new Promise((r) => setTimeout(r, 200));
    rx.close();

    const again = await Client.open(port);
    expect((await again.bind('esme', 'esmepass', CMD.bind_transceiver)).status).toBe(STATUS.ESME_ROK);
    const [second] = await receipts(again, 1);
    expect(second!.body.toString('latin1')).toContain(`id:${failed} `);
    ack(again, second!);
    await eventually(async () => ((await owed()).length === 0 ? true : undefined));
    // Nothing more arrives: the acknowledged receipt is not sent twice.
    await expect(again.next()).rejects.toThrow(/no PDU/);
    again.close();
  });

  it("sends a concatenated message's receipt for the part that asked for it, under that part's id", async () => {
    const c = await Client.open(port);
    expect((await c.bind('esme', 'esmepass', CMD.bind_transceiver)).status).toBe(STATUS.ESME_ROK);
    const part = (seq: number, registered: number, text: string) =>
      messageBody({
        source: 'SMSGW',
        destination: '79001230077',
        esmClass: 0x40,
        registeredDelivery: registered,
        dataCoding: 0,
        body: Buffer.concat([Buffer.from([5, 0, 3, 0x2a, 3, seq]), Buffer.from(text)]),
      });
    // The request rides on the last part only here (Kannel puts it on the first).
    c.raw(part(1, 0, 'one ').pdu(CMD.submit_sm, 0, 501));
    c.raw(part(2, 0, 'two ').pdu(CMD.submit_sm, 0, 502));
    c.raw(part(3, 1, 'three').pdu(CMD.submit_sm, 0, 503));
    const resps: Pdu[] = [];
    const receiptsSeen: Pdu[] = [];
    while (resps.length < 3) {
      const p = await c.next();
      if (p.id === CMD.submit_sm_resp) resps.push(p);
      else if (p.id === CMD.deliver_sm) receiptsSeen.push(p);
    }
    // Each part is acknowledged when stored, with its own id (the message is built afterwards).
    const ids = resps.sort((a, b) => a.seq - b.seq).map(idOf);
    expect(new Set(ids).size).toBe(3);
    const id = ids[2] as string;
    while (receiptsSeen.length < 1) {
      const p = await c.next();
      if (p.id === CMD.deliver_sm) receiptsSeen.push(p);
    }
    expect(receiptsSeen[0]!.body.toString('latin1')).toMatch(new RegExp(`id:${id} .*stat:DELIVRD`));
    ack(c, receiptsSeen[0]!);
    const user = await t.app.store.users.byLogin('esme');
    const messageId = (await t.app.store.smppParts.byId(id, user?.id ?? ''))?.message_id;
    expect((await t.call('GET', `/v1/messages/${messageId}`)).body).toMatchObject({
      text: 'one two three',
      status: 'delivered',
    });
    await eventually(async () => ((await owed()).length === 0 ? true : undefined));
    // One receipt: the other parts did not ask for one.
    await expect(c.next()).rejects.toThrow(/no PDU/);
    c.close();
  });

  it('keeps inbound messages for an SMPP receiver that is away, and queues none for users who never bound', async () => {
    const sim = (await t.call('GET', '/v1/channels')).body.data[0];
    // The esme user bound a receiver above; +79001230001 last heard from it.
    const inject = (from: string, text: string) =>
      t.call('POST', `/v1/channels/${sim.id}/inbound`, { body: { from, text } });
    expect((await inject('+79001230001', 'Yes, that works')).status).toBe(202);
    await t.call('POST', '/v1/users', { body: { login: 'webonly', password: 'webonly-pass' } });
    await t.call('POST', '/v1/messages', {
      auth: 'webonly:webonly-pass',
      body: { to: '+15555550777', text: 'hi' },
    });
    await eventually(async () => {
      const l = await t.call('GET', '/v1/messages?to=%2B15555550777', { auth: 'webonly:webonly-pass' });
      return l.body.data[0]?.status === 'delivered' ? true : undefined;
    });
    expect((await inject('+15555550777', 'hello back')).status).toBe(202);
    await eventually(async () => ((await owed()).length === 1 ? true : undefined));
    const webonly = (await t.call('GET', '/v1/users')).body.data.find(
      (u: { login: string }) => u.login === 'webonly',
    );
    expect((await owed()).map((r) => r.owner_id)).not.toContain(webonly.id);

    await t.stop();
    t = await startTestApp(env());
    const rx = await Client.open(port);
    expect((await rx.bind('esme', 'esmepass', CMD.bind_receiver)).status).toBe(STATUS.ESME_ROK);
    const [mo] = await receipts(rx, 1);
    expect(mo!.body.includes(Buffer.from('Yes, that works', 'latin1'))).toBe(true);
    expect(mo!.body.includes(Buffer.from('79001230001', 'latin1'))).toBe(true);
    ack(rx, mo!);
    await eventually(async () => ((await owed()).length === 0 ? true : undefined));
    rx.close();
  });
});
