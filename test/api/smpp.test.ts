/** The SMPP server face at the protocol level, over a real socket: binds, submits, errors, fuzz. */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CMD, STATUS, Writer } from '../../src/codec/smpp-pdu.js';
import type { TestApp } from '../support/app.js';
import { startTestApp } from '../support/app.js';
import { freePort } from '../support/net.js';
import { Client } from '../support/esme.js';

const cstr = (b: Buffer) => b.toString('latin1', 0, b.indexOf(0));

describe('SMPP server face', () => {
  let t: TestApp;
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    // No channel: messages stay queued, so cancel_sm and replace_sm have something to act on.
    t = await startTestApp({
      SMSGW_SMPP_PORT: String(port),
      SMSGW_SIMULATOR: 'false',
      SMSGW_USER_RATE_LIMIT: '50',
    });
    await t.call('POST', '/v1/users', { body: { login: 'esme', password: 'esmepass' } });
  });
  afterAll(() => t.stop());

  it('refuses work before bind and wrong passwords', async () => {
    const c = await Client.open(port);
    expect((await c.submit('79001234567', 'x')).status).toBe(STATUS.ESME_RINVBNDSTS);
    const bad = await c.bind('esme', 'wrong');
    expect(bad).toMatchObject({ id: CMD.bind_transceiver_resp, status: STATUS.ESME_RBINDFAIL });
    const ok = await c.bind('esme', 'esmepass');
    expect(ok.status).toBe(STATUS.ESME_ROK);
    expect(cstr(ok.body)).toBe('smsgw');
    expect((await c.bind('esme', 'esmepass')).status).toBe(STATUS.ESME_RALYBND);
    expect((await c.call(0x00000099)).id).toBe(CMD.generic_nack);
    expect((await c.call(CMD.enquire_link)).id).toBe(CMD.enquire_link_resp);
    const unbind = await c.call(CMD.unbind);
    expect(unbind.id).toBe(CMD.unbind_resp);
    c.close();
  });

  it('binds with separate SMPP credentials set by the admin', async () => {
    const u = await t.call('POST', '/v1/users', {
      body: { login: 'long-login-user', password: 'a long password indeed' },
    });
    const set = await t.call('PATCH', `/v1/users/${u.body.id}`, {
      body: { smpp_system_id: 'shortid', smpp_password: 'pw123456' },
    });
    expect(set.body.smpp_system_id).toBe('shortid');
    const c = await Client.open(port);
    expect((await c.bind('shortid', 'wrongpw1')).status).toBe(STATUS.ESME_RBINDFAIL);
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

    const q = await c.call(CMD.query_sm, new Writer().cstring(id).u8(1).u8(1).cstring(''));
    expect(q.status).toBe(0);
    const stateAt = q.body.indexOf(0, q.body.indexOf(0) + 1) + 1;
    expect(q.body[stateAt]).toBe(1); // ENROUTE

    const rep = await c.call(
      CMD.replace_sm,
      new Writer()
        .cstring(id)
        .u8(1)
        .u8(1)
        .cstring('')
        .cstring('')
        .cstring('')
        .u8(0)
        .u8(0)
        .u8(8)
        .bytes(Buffer.from('replaced')),
    );
    expect(rep.status).toBe(0);
    expect((await t.call('GET', `/v1/messages/${id}`, { auth: 'esme:esmepass' })).body.text).toBe('replaced');

    const cancel = await c.call(
      CMD.cancel_sm,
      new Writer().cstring('').cstring(id).u8(1).u8(1).cstring('').u8(1).u8(1).cstring(''),
    );
    expect(cancel.status).toBe(0);
    expect((await t.call('GET', `/v1/messages/${id}`, { auth: 'esme:esmepass' })).body.status).toBe(
      'canceled',
    );
    const again = await c.call(
      CMD.cancel_sm,
      new Writer().cstring('').cstring(id).u8(1).u8(1).cstring('').u8(1).u8(1).cstring(''),
    );
    expect(again.status).toBe(STATUS.ESME_RCANCELFAIL);
    expect((await c.call(CMD.query_sm, new Writer().cstring('nope').u8(1).u8(1).cstring(''))).status).toBe(
      STATUS.ESME_RQUERYFAIL,
    );
    expect((await c.submit('abc', 'bad number')).status).toBe(STATUS.ESME_RINVDSTADR);
    c.close();
  });

  it('throttles a user over its submit rate with ESME_RTHROTTLED', async () => {
    const c = await Client.open(port);
    await c.bind('esme', 'esmepass');
    const statuses: number[] = [];
    for (let i = 0; i < 80; i++)
      statuses.push((await c.submit(`7900123${String(i).padStart(4, '0')}`, 'burst')).status);
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
