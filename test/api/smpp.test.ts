/** The SMPP server face at the protocol level, over a real socket: binds, submits, errors, fuzz. */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CMD, STATUS, Writer, messageBody } from '../../src/codec/smpp-pdu.js';
import type { TestApp } from '../support/app.js';
import { eventually } from '../support/app.js';
import { Client, cancelBody, queryBody, replaceBody, startSmppFace } from '../support/esme.js';
import { ConnectionGate } from '../../src/api/smpp/gate.js';
import { receiptRequest } from '../../src/api/smpp/parts.js';
import { ConfigError, SMPP_LIMIT_DEFAULTS, loadConfig } from '../../src/config.js';
import { owesSmppReceipt } from '../../src/store/webhooks.js';

const cstr = (b: Buffer) => b.toString('latin1', 0, b.indexOf(0));

describe('SMPP server face', () => {
  let t: TestApp;
  let port: number;

  beforeAll(async () => {
    // No channel: messages stay queued, so cancel_sm and replace_sm have something to act on.
    ({ t, port } = await startSmppFace(
      { login: 'esme', password: 'esmepass' },
      { SMSGW_USER_RATE_LIMIT: '50', SMSGW_SMPP_BIND_TIMEOUT_MS: '1000' },
    ));
  });
  afterAll(() => t.stop());

  it('refuses work before bind, and closes the connection after a refused bind', async () => {
    const c = await Client.open(port);
    expect((await c.submit('79001234567', 'x')).status).toBe(STATUS.ESME_RINVBNDSTS);
    // Not even enquire_link keeps an unbound socket alive.
    expect(await c.call(CMD.enquire_link)).toMatchObject({
      id: CMD.enquire_link_resp,
      status: STATUS.ESME_RINVBNDSTS,
    });
    const bad = await c.bind('esme', 'wrong');
    expect(bad).toMatchObject({ id: CMD.bind_transceiver_resp, status: STATUS.ESME_RINVPASWD });
    await eventually(async () => (c.closed ? true : undefined), 10_000);

    const ok = await Client.open(port);
    const bound = await ok.bind('esme', 'esmepass');
    expect(bound.status).toBe(STATUS.ESME_ROK);
    expect(cstr(bound.body)).toBe('smsgw');
    expect((await ok.bind('esme', 'esmepass')).status).toBe(STATUS.ESME_RALYBND);
    expect((await ok.call(0x00000099)).id).toBe(CMD.generic_nack);
    expect(await ok.call(CMD.enquire_link)).toMatchObject({ id: CMD.enquire_link_resp, status: 0 });
    const unbind = await ok.call(CMD.unbind);
    expect(unbind.id).toBe(CMD.unbind_resp);
    await eventually(async () => (ok.closed ? true : undefined), 10_000);
  });

  it('answers the submits it took before an unbind, then closes', async () => {
    const c = await Client.open(port);
    await c.bind('esme', 'esmepass');
    const submits = [1, 2, 3].map((i) =>
      messageBody({
        source: 'SMSGW',
        destination: `7900123450${i}`,
        esmClass: 0,
        dataCoding: 0,
        body: Buffer.from('before unbind'),
      }).pdu(CMD.submit_sm, 0, 100 + i),
    );
    // One write: the unbind arrives while the submits are still being committed.
    c.raw(Buffer.concat([...submits, new Writer().pdu(CMD.unbind, 0, 200)]));
    const answers = [await c.next(), await c.next(), await c.next(), await c.next()];
    expect(answers.find((a) => a.seq === 200)?.id).toBe(CMD.unbind_resp);
    for (const seq of [101, 102, 103]) {
      expect(answers.find((a) => a.seq === seq)).toMatchObject({ id: CMD.submit_sm_resp, status: 0 });
    }
    await eventually(async () => (c.closed ? true : undefined), 10_000);
  });

  it('closes a connection that does not bind in time', async () => {
    const c = await Client.open(port);
    expect((await c.call(CMD.enquire_link)).status).toBe(STATUS.ESME_RINVBNDSTS);
    // SMSGW_SMPP_BIND_TIMEOUT_MS is 1 s here; the socket is ours to keep no longer than that.
    await eventually(async () => (c.closed ? true : undefined), 15_000);
  });

  it('binds with separate SMPP credentials set by the admin', async () => {
    const u = await t.call('POST', '/v1/users', {
      body: { login: 'long-login-user', password: 'a long password indeed' },
    });
    const set = await t.call('PATCH', `/v1/users/${u.body.id}`, {
      body: { smpp_system_id: 'shortid', smpp_password: 'pw123456' },
    });
    expect(set.body.smpp_system_id).toBe('shortid');
    const refused = await Client.open(port);
    expect((await refused.bind('shortid', 'wrongpw1')).status).toBe(STATUS.ESME_RINVPASWD);
    refused.close();
    const c = await Client.open(port);
    expect((await c.bind('shortid', 'pw123456')).status).toBe(0);
    const resp = await c.submit('79001234500', 'as shortid');
    const m = await t.call('GET', `/v1/messages/${cstr(resp.body)}`, {
      auth: 'long-login-user:a long password indeed',
    });
    expect(m.body.text).toBe('as shortid');
    c.close();
    const clash = await t.call('PATCH', `/v1/users/${u.body.id}`, { body: { smpp_system_id: 'x' } });
    expect(clash.status).toBe(400);
  });

  it('queues submit_sm, answers query_sm, cancels and replaces queued messages', async () => {
    const c = await Client.open(port);
    await c.bind('esme', 'esmepass');
    const resp = await c.submit('79001234567', 'hello over smpp');
    expect(resp).toMatchObject({ id: CMD.submit_sm_resp, status: 0 });
    const id = cstr(resp.body);
    const m = await t.call('GET', `/v1/messages/${id}`, { auth: 'esme:esmepass' });
    expect(m.body).toMatchObject({
      to: '+79001234567',
      text: 'hello over smpp',
      from: 'SMSGW',
      status: 'queued',
    });

    const q = await c.call(CMD.query_sm, queryBody(id));
    expect(q.status).toBe(0);
    const stateAt = q.body.indexOf(0, q.body.indexOf(0) + 1) + 1;
    expect(q.body[stateAt]).toBe(1); // ENROUTE

    const rep = await c.call(CMD.replace_sm, replaceBody(id, 'replaced'));
    expect(rep.status).toBe(0);
    expect((await t.call('GET', `/v1/messages/${id}`, { auth: 'esme:esmepass' })).body.text).toBe('replaced');

    const cancel = await c.call(CMD.cancel_sm, cancelBody(id));
    expect(cancel.status).toBe(0);
    expect((await t.call('GET', `/v1/messages/${id}`, { auth: 'esme:esmepass' })).body.status).toBe(
      'canceled',
    );
    const again = await c.call(CMD.cancel_sm, cancelBody(id));
    expect(again.status).toBe(STATUS.ESME_RCANCELFAIL);
    expect((await c.call(CMD.query_sm, queryBody('nope'))).status).toBe(STATUS.ESME_RQUERYFAIL);
    expect((await c.submit('abc', 'bad number')).status).toBe(STATUS.ESME_RINVDSTADR);
    c.close();
  });

  it('replace_sm charges a prepaid sender for added segments, and refuses with ESME_RREPLACEFAIL what the balance does not cover', async () => {
    await t.call('POST', '/v1/users', { body: { login: 'payer', password: 'payerpass' } });
    const payer = (await t.app.store.users.byLogin('payer'))?.id as string;
    await t.app.store.policy.setPrice('7900555', 'any', 2);
    await t.app.store.policy.credit(payer, 3, null, true);
    const c = await Client.open(port);
    await c.bind('payer', 'payerpass');
    const resp = await c.submit('79005550001', 'one segment');
    expect(resp.status).toBe(0);
    const id = cstr(resp.body);
    const balance = async () => Number((await t.app.store.policy.account(payer)).balance);
    expect(await balance()).toBe(1);
    const replace = (text: string) => c.call(CMD.replace_sm, replaceBody(id, text));
    // 254 GSM characters are two segments: 2 more credits, the balance has 1.
    expect((await replace('y'.repeat(254))).status).toBe(STATUS.ESME_RREPLACEFAIL);
    expect((await t.call('GET', `/v1/messages/${id}`, { auth: 'payer:payerpass' })).body).toMatchObject({
      text: 'one segment',
      segments: 1,
    });
    expect(await balance()).toBe(1);
    // The same number of segments costs nothing more.
    expect((await replace('still one segment')).status).toBe(0);
    await t.app.store.policy.credit(payer, 1, null);
    expect((await replace('y'.repeat(254))).status).toBe(0);
    expect(await balance()).toBe(0);
    c.close();
  });

  it('throttles a user over its submit rate with ESME_RTHROTTLED', async () => {
    const c = await Client.open(port);
    await c.bind('esme', 'esmepass');
    // A burst: all 80 written at once. One at a time, each waiting for its answer, they were no
    // faster than the bucket refills (50/s) on a loaded machine (80 in 1.17 s), and none was refused.
    const answers = await Promise.all(
      Array.from({ length: 80 }, (_, i) => c.submit(`7900123${String(i).padStart(4, '0')}`, 'burst')),
    );
    const statuses = answers.map((a) => a.status);
    expect(statuses).toContain(STATUS.ESME_RTHROTTLED);
    // The bucket holds one second's worth (50); earlier tests may have taken a few tokens.
    expect(statuses.filter((s) => s === 0).length).toBeGreaterThanOrEqual(40);
    c.close();
  });

  it('answers a PDU with an impossible length with generic_nack and hangs up', async () => {
    const c = await Client.open(port);
    const bad = Buffer.alloc(16);
    bad.writeUInt32BE(8, 0);
    c.raw(bad);
    const nack = await c.next();
    expect(nack).toMatchObject({ id: CMD.generic_nack, status: STATUS.ESME_RINVCMDLEN });
    await new Promise((r) => setTimeout(r, 100));
    expect(c.closed).toBe(true);
  });

  it('survives random bodies: every PDU gets an answer and the server stays up', async () => {
    const c = await Client.open(port);
    await c.bind('esme', 'esmepass');
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(
          CMD.submit_sm,
          CMD.submit_multi,
          CMD.query_sm,
          CMD.cancel_sm,
          CMD.replace_sm,
          CMD.bind_transmitter,
        ),
        fc.uint8Array({ maxLength: 300 }),
        async (id, body) => {
          const r = await c.call(id, new Writer().bytes(body));
          expect(r.seq).toBeGreaterThan(0);
        },
      ),
      { numRuns: 300 },
    );
    c.close();
    const fresh = await Client.open(port);
    expect((await fresh.bind('esme', 'esmepass')).status).toBe(0);
    fresh.raw(randomBytes(10));
    fresh.close();
  });
});

describe('SMPP face limits', () => {
  let t: TestApp;
  let port: number;

  beforeAll(async () => {
    ({ t, port } = await startSmppFace(
      { login: 'lim', password: 'limpass1' },
      {
        SMSGW_SMPP_MAX_CONNECTIONS_PER_IP: '6',
        SMSGW_SMPP_MAX_BINDS_PER_SYSTEM_ID: '2',
        SMSGW_SMPP_WINDOW: '4',
        SMSGW_SMPP_MAX_HELD_PARTS: '3',
        SMSGW_SMPP_PARTS_TIMEOUT_MS: '1500',
      },
    ));
  });
  afterAll(() => t.stop());

  const bound = async () => {
    const c = await Client.open(port);
    expect((await c.bind('lim', 'limpass1')).status).toBe(STATUS.ESME_ROK);
    return c;
  };
  /** One part of a concatenated message (8-bit reference UDH). */
  const part = (to: string, ref: number, total: number, seq: number, text: string, registered = 0) =>
    messageBody({
      source: 'SMSGW',
      destination: to,
      esmClass: 0x40,
      registeredDelivery: registered,
      dataCoding: 0,
      body: Buffer.concat([Buffer.from([5, 0, 3, ref, total, seq]), Buffer.from(text, 'latin1')]),
    });

  it('caps binds per system_id', async () => {
    const [a, b] = [await bound(), await bound()];
    const third = await Client.open(port);
    expect((await third.bind('lim', 'limpass1')).status).toBe(STATUS.ESME_RBINDFAIL);
    await eventually(async () => (third.closed ? true : undefined), 10_000);
    a.close();
    b.close();
    await eventually(async () => (t.app.smpp?.connections === 0 ? true : undefined), 10_000);
  });

  it('throttles requests beyond the window of unanswered ones, and answers every one', async () => {
    const c = await bound();
    const burst = Array.from({ length: 20 }, (_, i) =>
      messageBody({
        source: 'SMSGW',
        destination: `7900555${String(i).padStart(4, '0')}`,
        esmClass: 0,
        dataCoding: 0,
        body: Buffer.from('window'),
      }).pdu(CMD.submit_sm, 0, 1000 + i),
    );
    c.raw(Buffer.concat(burst)); // one write: the requests arrive before any commit is done
    const answers = [];
    for (let i = 0; i < 20; i++) answers.push(await c.next());
    expect(new Set(answers.map((a) => a.seq)).size).toBe(20);
    const ok = answers.filter((a) => a.status === STATUS.ESME_ROK).length;
    const throttled = answers.filter((a) => a.status === STATUS.ESME_RTHROTTLED).length;
    expect(ok + throttled).toBe(20);
    expect(ok).toBeGreaterThanOrEqual(4);
    expect(throttled).toBeGreaterThan(0);
    c.close();
  });

  it('caps open parts per user, refuses messages whose parts never complete, and takes the receipt request from any part', async () => {
    const c = await bound();
    const answers = [];
    for (let ref = 1; ref <= 4; ref++) {
      c.raw(part('79005550100', ref, 2, 1, 'first half ', 1).pdu(CMD.submit_sm, 0, ref));
      answers.push(await c.next());
    }
    // Three are stored and acknowledged at once; the fourth is over the limit and refused.
    expect(answers.map((a) => a.status)).toEqual([0, 0, 0, STATUS.ESME_RTHROTTLED]);
    // They never complete: after SMSGW_SMPP_PARTS_TIMEOUT_MS each becomes a rejected message
    // (parts_missing) that its part's id leads to, and the receipt the part asked for says so.
    const partIds = answers.slice(0, 3).map((a) => cstr(a.body));
    const receipts = [await c.next(), await c.next(), await c.next()];
    for (const r of receipts) {
      expect(r.id).toBe(CMD.deliver_sm);
      c.raw(new Writer().cstring('').pdu(CMD.deliver_sm_resp, 0, r.seq));
    }
    const texts = receipts.map((r) => r.body.toString('latin1'));
    for (const id of partIds)
      expect(texts.some((x) => x.includes(`id:${id} `) && x.includes('stat:REJECTD'))).toBe(true);
    const q = await c.call(
      CMD.query_sm,
      new Writer()
        .cstring(partIds[0] as string)
        .u8(1)
        .u8(1)
        .cstring(''),
    );
    expect(q.body[q.body.indexOf(0, q.body.indexOf(0) + 1) + 1]).toBe(8); // REJECTED

    // Kannel asks for the receipt on the first part only: the message still owes one.
    c.raw(part('79005550101', 9, 2, 1, 'first half ', 1).pdu(CMD.submit_sm, 0, 21));
    c.raw(part('79005550101', 9, 2, 2, 'second half', 0).pdu(CMD.submit_sm, 0, 22));
    const [p1, p2] = [await c.next(), await c.next()];
    expect([p1.status, p2.status]).toEqual([0, 0]);
    // Each part has its own id; both lead to the one message.
    expect(cstr(p1.body)).not.toBe(cstr(p2.body));
    const messageId = await eventually(async () => {
      const part = await t.app.store.smppParts.byId(
        cstr(p1.body),
        (await t.app.store.users.byLogin('lim'))?.id ?? '',
      );
      return part?.message_id ?? undefined;
    }, 10_000);
    const row = await t.app.store.db.kysely
      .selectFrom('messages')
      .select(['text', 'smpp_receipt_mask'])
      .where('id', '=', messageId)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ text: 'first half second half', smpp_receipt_mask: 1 });
    c.close();
  });

  it('stops reading from a client that does not read its answers, and serves it again once it does', async () => {
    const c = await bound();
    c.socket.pause();
    const chunk = Buffer.concat(Array.from({ length: 4096 }, () => new Writer().pdu(CMD.enquire_link, 0, 7)));
    let sent = 0;
    // Fills the kernel's buffers both ways (a few MB on loopback) until the face stops reading.
    while (t.app.smpp?.congestedSessions === 0 && sent < 256 * 1024 * 1024) {
      c.socket.write(chunk);
      sent += chunk.length;
      await new Promise((r) => setImmediate(r));
    }
    expect(t.app.smpp?.congestedSessions).toBe(1);
    // The client reads again: every enquire_link is answered, reading resumes.
    let received = 0;
    c.socket.removeAllListeners('data');
    c.socket.on('data', (b: Buffer) => (received += b.length));
    c.socket.resume();
    await eventually(async () => (received === sent ? true : undefined), 60_000);
    expect(t.app.smpp?.congestedSessions).toBe(0);
    c.close();
    const again = await bound();
    expect((await again.submit('79005550200', 'still served')).status).toBe(STATUS.ESME_ROK);
    again.close();
  }, 90_000);

  it('caps connections per IP address, bound or not', async () => {
    await eventually(async () => (t.app.smpp?.connections === 0 ? true : undefined), 10_000);
    const open = [];
    for (let i = 0; i < 6; i++) open.push(await Client.open(port));
    const seventh = await Client.open(port);
    await eventually(async () => (seventh.closed ? true : undefined), 10_000);
    expect(t.app.smpp?.refusedConnections).toBeGreaterThan(0);
    open.pop()?.close();
    await eventually(async () => (t.app.smpp?.connections === 5 ? true : undefined), 10_000);
    const admitted = await Client.open(port);
    expect((await admitted.bind('lim', 'limpass1')).status).toBe(STATUS.ESME_ROK);
    for (const c of [...open, admitted]) c.close();
  });
});

describe('receipt requests of concatenated messages', () => {
  it('takes the request from any part and owes one receipt per message', () => {
    expect(receiptRequest([1, 0])).toBe(1); // Kannel: first part only
    expect(receiptRequest([0, 0, 1])).toBe(1); // last part only
    expect(receiptRequest([2, 2])).toBe(2);
    expect(receiptRequest([2, 3])).toBe(1);
    // Only the low two bits ask for a receipt (0x10 is an intermediate notification).
    expect(receiptRequest([0x10, 0])).toBe(0);
    expect(receiptRequest([0x11, 0])).toBe(1);
    expect(receiptRequest([0, 0])).toBe(0);
    expect(owesSmppReceipt(1, 'delivered')).toBe(true);
    expect(owesSmppReceipt(2, 'delivered')).toBe(false);
    expect(owesSmppReceipt(2, 'undelivered')).toBe(true);
    expect(owesSmppReceipt(3, 'delivered')).toBe(true);
    expect(owesSmppReceipt(3, 'expired')).toBe(false);
    expect(owesSmppReceipt(1, 'sent')).toBe(false);
  });
});

describe('SMPP limits in the config', () => {
  it('has documented defaults, reads the environment and refuses values out of range', () => {
    expect(loadConfig({}).smppLimits).toEqual(SMPP_LIMIT_DEFAULTS);
    const c = loadConfig({ SMSGW_SMPP_WINDOW: '10', SMSGW_SMPP_BIND_TIMEOUT_MS: '2000' });
    expect(c.smppLimits).toMatchObject({ window: 10, bindTimeoutMs: 2000, maxConnectionsPerIp: 20 });
    expect(() => loadConfig({ SMSGW_SMPP_WINDOW: '0' })).toThrow(ConfigError);
    expect(() => loadConfig({ SMSGW_SMPP_MAX_CONNECTIONS_PER_IP: '1.5' })).toThrow(ConfigError);
    expect(() => loadConfig({ SMSGW_SMPP_PARTS_TIMEOUT_MS: 'soon' })).toThrow(ConfigError);
  });
});

describe('connection admission', () => {
  it('caps connections per IP and in total, and gives slots back on close', () => {
    const gate = new ConnectionGate({ maxConnections: 3, maxConnectionsPerIp: 2 });
    expect([gate.admit('10.0.0.1'), gate.admit('10.0.0.1'), gate.admit('10.0.0.1')]).toEqual([
      true,
      true,
      false,
    ]);
    expect(gate.admit('10.0.0.2')).toBe(true);
    expect(gate.admit('10.0.0.3')).toBe(false); // 3 open in total
    gate.release('10.0.0.1');
    expect(gate.admit('10.0.0.3')).toBe(true);
    expect([gate.connections, gate.refused]).toEqual([3, 2]);
  });
});
