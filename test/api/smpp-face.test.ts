/**
 * The complete SMPP server face over real sockets, on SQLite and (when SMSGW_TEST_DATABASE_URL
 * is set) PostgreSQL: parts of concatenated messages answered as they are stored (a window-1
 * client), a receipt per part id that asked for one, readable receipt text for UCS-2, SMPP time
 * formats, replace_if_present and protocol_id replace types, data_sm, bind refusal codes, and
 * SMPP credentials of their own.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CMD, STATUS, TLV, Writer } from '../../src/codec/smpp-pdu.js';
import { ucs2Encode } from '../../src/codec/smpp-text.js';
import { formatSmppTime, parseSmppTime } from '../../src/codec/smpp-time.js';
import { asciiPreview } from '../../src/codec/ascii.js';
import type { TestApp } from '../support/app.js';
import { eventually, startTestApp } from '../support/app.js';
import { PG_URL, pgSchemaUrl } from '../support/db.js';
import type { Pdu } from '../support/esme.js';
import { Client, queryBody, replaceBody } from '../support/esme.js';
import { freePort } from '../support/net.js';

const cstr = (b: Buffer) => b.toString('latin1', 0, b.indexOf(0));

interface SubmitFields {
  serviceType?: string;
  source?: string;
  dest: string;
  esmClass?: number;
  protocolId?: number;
  schedule?: string;
  validity?: string;
  registered?: number;
  replaceIfPresent?: number;
  dcs?: number;
  body: Buffer;
  tlvs?: [number, Buffer][];
}

/** A submit_sm body with every field under the test's control. */
function submitBody(f: SubmitFields): Writer {
  const w = new Writer()
    .cstring(f.serviceType ?? '')
    .u8(5)
    .u8(0)
    .cstring(f.source ?? 'SMSGW')
    .u8(1)
    .u8(1)
    .cstring(f.dest)
    .u8(f.esmClass ?? 0)
    .u8(f.protocolId ?? 0)
    .u8(0)
    .cstring(f.schedule ?? '')
    .cstring(f.validity ?? '')
    .u8(f.registered ?? 0)
    .u8(f.replaceIfPresent ?? 0)
    .u8(f.dcs ?? 0)
    .u8(0)
    .u8(f.body.length)
    .bytes(f.body);
  for (const [tag, v] of f.tlvs ?? []) w.tlv(tag, v);
  return w;
}

const udh = (ref: number, total: number, seq: number) => Buffer.from([5, 0, 3, ref, total, seq]);
const sar = (ref: number, total: number, seq: number): [number, Buffer][] => [
  [TLV.sar_msg_ref_num, Buffer.from([ref >> 8, ref & 0xff])],
  [TLV.sar_total_segments, Buffer.from([total])],
  [TLV.sar_segment_seqnum, Buffer.from([seq])],
];

/** A receiver bind that acknowledges every deliver_sm and keeps them. */
async function receiver(port: number, login: string, password: string) {
  const rx = await Client.open(port);
  const bound = await rx.bind(login, password, CMD.bind_receiver);
  expect(bound.status).toBe(STATUS.ESME_ROK);
  const got: Pdu[] = [];
  void (async () => {
    while (!rx.closed) {
      const p = await rx.next().catch(() => undefined);
      if (!p || p.id !== CMD.deliver_sm) continue;
      got.push(p);
      rx.raw(new Writer().cstring('').pdu(CMD.deliver_sm_resp, 0, p.seq));
    }
  })();
  return { rx, got };
}

/** The receipt fields of a deliver_sm (the text most clients parse). */
function receiptOf(p: Pdu): { id?: string; stat?: string; text?: string } {
  const s = p.body.toString('latin1');
  return {
    id: /id:(\S+)/.exec(s)?.[1],
    stat: /stat:(\S+)/.exec(s)?.[1],
    text: /text:([ -~]*)/.exec(s)?.[1],
  };
}

const DATABASES = ['sqlite', ...(PG_URL ? ['postgres'] : [])] as const;

describe.each(DATABASES)('SMPP server face, complete (%s)', (database) => {
  let t: TestApp;
  let port: number;
  let drop: (() => Promise<void>) | undefined;
  /** One receiver bind for every test: receipts go to any receiving bind of the user. */
  let rx: Client;
  let got: Pdu[];
  const LOGIN = 'face';
  const PASSWORD = 'face-password-longer-than-eight';

  beforeAll(async () => {
    port = await freePort();
    const env: Record<string, string> = {
      SMSGW_SMPP_PORT: String(port),
      SMSGW_SIMULATOR: 'false',
      SMSGW_SMPP_PARTS_TIMEOUT_MS: '3000',
    };
    if (database === 'postgres') {
      const schema = await pgSchemaUrl();
      env.DATABASE_URL = schema.url;
      drop = schema.drop;
    }
    t = await startTestApp(env);
    const u = await t.call('POST', '/v1/users', { body: { login: LOGIN, password: PASSWORD } });
    expect(u.status).toBe(201);
    const ch = await t.call('POST', '/v1/channels', {
      body: {
        name: 'always-delivers',
        type: 'simulator',
        config: { latencyMs: 1, deliveryDelayMs: 20, successRate: 1 },
      },
    });
    expect(ch.status).toBe(201);
    ({ rx, got } = await receiver(port, LOGIN, PASSWORD));
  }, 60_000);
  afterAll(async () => {
    rx?.close();
    await t?.stop();
    await drop?.();
  });

  const transmitter = async () => {
    const c = await Client.open(port);
    // SMPP passwords are 8 characters; a longer login password is read anyway (and checked).
    expect((await c.bind(LOGIN, PASSWORD, CMD.bind_transmitter)).status).toBe(STATUS.ESME_ROK);
    return c;
  };
  const message = async (id: string) => {
    const r = await t.call('GET', `/v1/messages/${id}`);
    expect(r.status).toBe(200);
    return r.body as Record<string, unknown>;
  };
  const partOwner = async () => (await t.app.store.users.byLogin(LOGIN))?.id ?? '';
  const messageOfPart = (partId: string) =>
    eventually(
      async () => (await t.app.store.smppParts.byId(partId, await partOwner()))?.message_id ?? undefined,
      15_000,
    );

  it('answers each part of a concatenated message as it is stored: a window-1 client sends a 2-part message, which is delivered once', async () => {
    const c = await transmitter();
    const first = 'A'.repeat(153);
    const second = 'the end, really';
    // Window 1: part 2 goes only after part 1's answer, which must come without part 2.
    const r1 = await c.call(
      CMD.submit_sm,
      submitBody({
        dest: '79007000001',
        esmClass: 0x40,
        registered: 1,
        body: Buffer.concat([udh(7, 2, 1), Buffer.from(first)]),
      }),
    );
    expect(r1).toMatchObject({ id: CMD.submit_sm_resp, status: STATUS.ESME_ROK });
    const r2 = await c.call(
      CMD.submit_sm,
      submitBody({
        dest: '79007000001',
        esmClass: 0x40,
        registered: 0,
        body: Buffer.concat([udh(7, 2, 2), Buffer.from(second)]),
      }),
    );
    expect(r2).toMatchObject({ id: CMD.submit_sm_resp, status: STATUS.ESME_ROK });
    const [id1, id2] = [cstr(r1.body), cstr(r2.body)];
    expect(id1).not.toBe(id2);
    const messageId = await messageOfPart(id1);
    expect(await messageOfPart(id2)).toBe(messageId);
    const m = await message(messageId);
    expect(m).toMatchObject({ text: first + second, to: '+79007000001', segments: 2 });
    await eventually(
      async () => ((await message(messageId)).status === 'delivered' ? true : undefined),
      20_000,
    );
    const rows = await t.app.store.db.kysely
      .selectFrom('messages')
      .select('id')
      .where('to', '=', '+79007000001')
      .execute();
    expect(rows).toHaveLength(1);
    // Kannel asks for the receipt on the first part: it comes for that part's id, DELIVRD.
    const receipt = await eventually(async () => got.find((p) => receiptOf(p).id === id1), 20_000);
    expect(receiptOf(receipt)).toMatchObject({ id: id1, stat: 'DELIVRD' });
    // query_sm by either part's id finds the message.
    const q = await c.call(CMD.query_sm, queryBody(id2));
    expect(q.status).toBe(0);
    expect(q.body[q.body.indexOf(0, q.body.indexOf(0) + 1) + 1]).toBe(2); // DELIVERED
    expect(got.filter((p) => receiptOf(p).id === id2)).toHaveLength(0); // part 2 asked for none
    c.close();
  });

  it('builds a UCS-2 message from SAR parts (a character split between them) and sends a readable receipt per part that asked', async () => {
    const c = await transmitter();
    const text = 'Привет, мир! Это длинное сообщение 😀 конец';
    const bytes = ucs2Encode(text);
    const emojiAt = ucs2Encode(text.slice(0, text.indexOf('😀'))).length;
    // Cut inside the surrogate pair of the emoji: each part alone is not valid UTF-16.
    const cut = emojiAt + 2;
    const parts = [bytes.subarray(0, cut), bytes.subarray(cut)];
    const ids: string[] = [];
    for (const [i, body] of parts.entries()) {
      // Jasmin asks for the receipt on the last part only.
      const r = await c.call(
        CMD.submit_sm,
        submitBody({
          dest: '79007000002',
          dcs: 8,
          registered: i === 1 ? 1 : 0,
          body,
          tlvs: sar(300, 2, i + 1),
        }),
      );
      expect(r.status).toBe(STATUS.ESME_ROK);
      ids.push(cstr(r.body));
    }
    const messageId = await messageOfPart(ids[0] as string);
    expect(await message(messageId)).toMatchObject({ text, encoding: 'ucs2' });
    const receipt = await eventually(async () => got.find((p) => receiptOf(p).id === ids[1]), 20_000);
    const r = receiptOf(receipt);
    expect(r.stat).toBe('DELIVRD');
    // The first 20 characters, transliterated: readable ASCII, not UTF-16 cut to Latin-1.
    expect(r.text).toBe('Privet, mir! Eto dli');
    const at = receipt.body.indexOf('id:');
    const sm = receipt.body.subarray(at, at + (receipt.body[at - 1] ?? 0));
    expect(sm.toString('latin1')).toMatch(/^id:\S+ sub:001 .* text:Privet, mir! Eto dli$/);
    expect(sm.every((b) => b >= 0x20 && b <= 0x7e)).toBe(true);
    c.close();
  });

  it('maps schedule_delivery_time and validity_period in absolute and relative formats, and refuses bad ones', async () => {
    const c = await transmitter();
    const submit = async (f: Partial<SubmitFields>) =>
      c.call(CMD.submit_sm, submitBody({ dest: '79007000003', body: Buffer.from('timed'), ...f }));
    const before = Date.now();
    // Relative: in one hour.
    const rel = await submit({ schedule: '000000010000000R', validity: '000001000000000R' });
    expect(rel.status).toBe(0);
    const m1 = await message(cstr(rel.body));
    expect(m1.status).toBe('scheduled');
    const at1 = Date.parse(m1.send_at as string);
    expect(at1).toBeGreaterThanOrEqual(before + 3_600_000 - 1_000);
    expect(at1).toBeLessThanOrEqual(Date.now() + 3_600_000 + 1_000);
    // Relative validity counts from the submit (SMPP 3.4 §7.1.1.2): one day, of which one hour
    // passes before the scheduled start.
    expect(m1.validity).toBe(1380);
    // Absolute, written in a zone 4 hours ahead of UTC ("16+": 16 quarter hours).
    const target = new Date(Math.ceil((Date.now() + 2 * 3_600_000) / 1000) * 1000);
    const local = new Date(target.getTime() + 4 * 3_600_000);
    const abs = `${local.toISOString().replace(/[-T:]/g, '').slice(2, 14)}016+`;
    const validTo = new Date(target.getTime() + 3 * 3_600_000 - 4 * 3_600_000); // "16-" zone: 4 h behind
    const absValidity = `${validTo.toISOString().replace(/[-T:]/g, '').slice(2, 14)}016-`;
    const absolute = await submit({ schedule: abs, validity: absValidity });
    expect(absolute.status).toBe(0);
    const m2 = await message(cstr(absolute.body));
    expect(Date.parse(m2.send_at as string)).toBe(target.getTime());
    // Valid until 3 h after the scheduled start: the message lives 3 hours from its start.
    expect(m2.validity).toBe(180);
    // Bad formats: their own codes.
    expect((await submit({ schedule: '2612011200000+' })).status).toBe(STATUS.ESME_RINVSCHED);
    expect((await submit({ schedule: '261301120000000+' })).status).toBe(STATUS.ESME_RINVSCHED);
    expect((await submit({ validity: 'tomorrow' })).status).toBe(STATUS.ESME_RINVEXPIRY);
    expect((await submit({ validity: '260231120000000+' })).status).toBe(STATUS.ESME_RINVEXPIRY);
    // Validity that ends before the scheduled start.
    expect((await submit({ schedule: '000000020000000R', validity: '000000010000000R' })).status).toBe(
      STATUS.ESME_RINVEXPIRY,
    );
    c.close();
  });

  it('replace_if_present replaces a scheduled message of the same source, destination and service_type; protocol_id sets the replace type', async () => {
    const c = await transmitter();
    const later = '000000010000000R';
    const send = async (text: string, f: Partial<SubmitFields>) => {
      const r = await c.call(
        CMD.submit_sm,
        submitBody({ dest: '79007000004', schedule: later, body: Buffer.from(text), ...f }),
      );
      expect(r.status).toBe(0);
      return cstr(r.body);
    };
    const old = await send('old text', { serviceType: 'RPL' });
    const otherService = await send('other service', { serviceType: 'XYZ' });
    const fresh = await send('new text', { serviceType: 'RPL', replaceIfPresent: 1, protocolId: 0x41 });
    expect(await message(old)).toMatchObject({ status: 'canceled' });
    expect(await message(otherService)).toMatchObject({ status: 'scheduled' });
    const m = await message(fresh);
    expect(m).toMatchObject({ status: 'scheduled', text: 'new text' });
    const row = await t.app.store.db.kysely
      .selectFrom('messages')
      .select(['replace_id', 'smpp_service_type'])
      .where('id', '=', fresh)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ replace_id: 1, smpp_service_type: 'RPL' });
    // A message that has left cannot be replaced: replace_sm is refused.
    const sent = await c.call(
      CMD.submit_sm,
      submitBody({ dest: '79007000005', body: Buffer.from('goes now') }),
    );
    const sentId = cstr(sent.body);
    await eventually(async () => ((await message(sentId)).status === 'delivered' ? true : undefined), 20_000);
    const rep = await c.call(CMD.replace_sm, replaceBody(sentId, 'new', 'SMSGW'));
    expect(rep.status).toBe(STATUS.ESME_RREPLACEFAIL);
    // replace_sm: the new text is in the original's alphabet (replace_sm has no data_coding),
    // and a schedule or validity given replaces the original's.
    const cyr = await c.call(
      CMD.submit_sm,
      submitBody({ dest: '79007000008', dcs: 8, schedule: later, body: ucs2Encode('Старый текст') }),
    );
    const cyrId = cstr(cyr.body);
    const replaceSm = (id: string, source: string, schedule: string, validity: string, body: Buffer) =>
      c.call(
        CMD.replace_sm,
        new Writer()
          .cstring(id)
          .u8(5)
          .u8(0)
          .cstring(source)
          .cstring(schedule)
          .cstring(validity)
          .u8(0)
          .u8(0)
          .u8(body.length)
          .bytes(body),
      );
    expect((await replaceSm(cyrId, 'OTHER', '', '', ucs2Encode('x'))).status).toBe(STATUS.ESME_RREPLACEFAIL);
    expect((await replaceSm('no-such-id', '', '', '', ucs2Encode('x'))).status).toBe(STATUS.ESME_RINVMSGID);
    expect((await replaceSm(cyrId, 'SMSGW', 'soon', '', ucs2Encode('x'))).status).toBe(STATUS.ESME_RINVSCHED);
    const before = Date.now();
    expect(
      (await replaceSm(cyrId, 'SMSGW', '000000020000000R', '000000030000000R', ucs2Encode('Новый текст')))
        .status,
    ).toBe(0);
    const replaced = await message(cyrId);
    expect(replaced).toMatchObject({ text: 'Новый текст', encoding: 'ucs2', validity: 60 });
    expect(Date.parse(replaced.send_at as string)).toBeGreaterThanOrEqual(before + 2 * 3_600_000 - 1_000);
    // replace_if_present with nothing present is a plain submit.
    const alone = await send('alone', { serviceType: 'NEW', replaceIfPresent: 1 });
    expect(await message(alone)).toMatchObject({ status: 'scheduled' });
    c.close();
  });

  it('replace_if_present cancels the earlier message in the transaction that accepts the new one: never both left queued', async () => {
    const c = await transmitter();
    const later = '000000010000000R';
    const submit = (text: string, f: Partial<SubmitFields> = {}) =>
      c.call(
        CMD.submit_sm,
        submitBody({
          dest: '79007000011',
          schedule: later,
          serviceType: 'ATM',
          body: Buffer.from(text),
          ...f,
        }),
      );
    const old = await submit('old text');
    expect(old.status).toBe(0);
    // The cancel of the earlier message fails (a crash, a lost connection: forced by a trigger).
    const db = t.app.store.db.kysely;
    if (database === 'sqlite') {
      await sql
        .raw(
          `CREATE TRIGGER cancel_crash BEFORE UPDATE OF status ON messages WHEN NEW.status = 'canceled' BEGIN SELECT RAISE(ABORT, 'crash'); END`,
        )
        .execute(db);
    } else {
      await sql
        .raw(
          `CREATE OR REPLACE FUNCTION cancel_crash() RETURNS trigger AS $$ BEGIN IF NEW.status = 'canceled' THEN RAISE EXCEPTION 'crash'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`,
        )
        .execute(db);
      await sql
        .raw(
          `CREATE TRIGGER cancel_crash BEFORE UPDATE ON messages FOR EACH ROW EXECUTE FUNCTION cancel_crash()`,
        )
        .execute(db);
    }
    let refused;
    try {
      refused = await submit('new text', { replaceIfPresent: 1 });
    } finally {
      await sql
        .raw(database === 'sqlite' ? 'DROP TRIGGER cancel_crash' : 'DROP TRIGGER cancel_crash ON messages')
        .execute(db);
    }
    // Not acknowledged, nothing of it committed: the client submits again.
    expect(refused.status).not.toBe(0);
    const texts = async () =>
      (
        await db
          .selectFrom('messages')
          .select(['text', 'status'])
          .where('to', '=', '+79007000011')
          .orderBy('id')
          .execute()
      ).map((m) => `${m.text}:${m.status}`);
    expect(await texts()).toEqual(['old text:scheduled']);
    expect((await submit('new text', { replaceIfPresent: 1 })).status).toBe(0);
    expect(await texts()).toEqual(['old text:canceled', 'new text:scheduled']);
    c.close();
  });

  it('takes data_sm through the same pipeline, answers data_sm_resp, and sends its receipt', async () => {
    const c = await transmitter();
    const text = 'hello over data sm, longer than nothing';
    const body = new Writer()
      .cstring('')
      .u8(5)
      .u8(0)
      .cstring('SMSGW')
      .u8(1)
      .u8(1)
      .cstring('79007000006')
      .u8(0)
      .u8(1) // registered_delivery
      .u8(0)
      .tlv(TLV.message_payload, Buffer.from(text));
    const r = await c.call(CMD.data_sm, body);
    expect(r).toMatchObject({ id: CMD.data_sm_resp, status: STATUS.ESME_ROK });
    const id = cstr(r.body);
    expect(await message(id)).toMatchObject({ text, to: '+79007000006' });
    const receipt = await eventually(async () => got.find((p) => receiptOf(p).id === id), 20_000);
    expect(receiptOf(receipt).stat).toBe('DELIVRD');
    // A data_sm without a destination is refused like a submit_sm.
    const bad = await c.call(
      CMD.data_sm,
      new Writer()
        .cstring('')
        .u8(5)
        .u8(0)
        .cstring('SMSGW')
        .u8(1)
        .u8(1)
        .cstring('x')
        .u8(0)
        .u8(0)
        .u8(0)
        .tlv(TLV.message_payload, Buffer.from('x')),
    );
    expect(bad).toMatchObject({ id: CMD.data_sm_resp, status: STATUS.ESME_RINVDSTADR });
    c.close();
  });

  it('finishes a group a crash left between sending and linking, without sending it twice', async () => {
    const owner = (await t.app.store.users.byLogin(LOGIN))?.id as string;
    const key = `${owner}|SMSGW|79007000009|77|2`;
    const params = {
      to: '79007000009',
      from: 'SMSGW',
      serviceType: '',
      flash: false,
      replaceIfPresent: false,
    };
    // Stored more than the sweep's few seconds ago, as if the node died after storing them.
    const created = Date.now() - 10_000;
    const ids = [`crash-${database}-1`, `crash-${database}-2`];
    for (const [i, text] of ['left ', 'open'].entries()) {
      const row = {
        id: ids[i] as string,
        owner_id: owner,
        group_key: key,
        part_seq: i + 1,
        total: 2,
        data_coding: 0,
        payload: Buffer.from(text).toString('hex'),
        registered: 0,
        params: JSON.stringify(params),
        created_at: created,
        message_id: null,
      };
      expect(await t.app.store.smppParts.add(row, 100, 0)).toBe(true);
    }
    const assembler = t.app.smpp?.assembler;
    await assembler?.sweep();
    const first = await messageOfPart(ids[0] as string);
    // The crash: the message was sent but its parts were never linked to it.
    await t.app.store.db.kysely
      .updateTable('smpp_parts')
      .set({ message_id: null })
      .where('id', 'in', ids)
      .execute();
    await assembler?.sweep();
    expect(await messageOfPart(ids[1] as string)).toBe(first);
    const rows = await t.app.store.db.kysely
      .selectFrom('messages')
      .select(['id', 'text'])
      .where('to', '=', '+79007000009')
      .execute();
    expect(rows).toEqual([{ id: first, text: 'left open' }]);
  });

  it('refuses a wrong password with ESME_RINVPASWD and an unknown system_id with ESME_RINVSYSID', async () => {
    const a = await Client.open(port);
    expect((await a.bind(LOGIN, 'wrongpw')).status).toBe(STATUS.ESME_RINVPASWD);
    const b = await Client.open(port);
    expect((await b.bind('nobody-here', 'whatever')).status).toBe(STATUS.ESME_RINVSYSID);
    // Longer than SMPP allows: still a wrong password, not a malformed PDU.
    const c = await Client.open(port);
    expect((await c.bind(LOGIN, 'x'.repeat(40))).status).toBe(STATUS.ESME_RINVPASWD);
    for (const x of [a, b, c]) x.close();
  });

  it('issues SMPP credentials of their own, shown once and hashed, to the user itself or an admin', async () => {
    const self = `${LOGIN}:${PASSWORD}`;
    const user = await t.call('GET', '/v1/me', { auth: self });
    const issued = await t.call('POST', `/v1/users/${user.body.id}/smpp-credentials`, {
      auth: self,
      body: {},
    });
    expect(issued.status).toBe(201);
    expect(issued.body.system_id).toBe(LOGIN); // the login fits SMPP's 15 characters
    expect(issued.body.password).toMatch(/^[A-Za-z2-9]{8}$/);
    const stored = await t.app.store.users.byId(user.body.id);
    expect(stored?.smpp_password_hash).not.toContain(issued.body.password);
    const c = await Client.open(port);
    expect((await c.bind(issued.body.system_id, issued.body.password)).status).toBe(STATUS.ESME_ROK);
    c.close();
    // A new password replaces the old one.
    const again = await t.call('POST', `/v1/users/${user.body.id}/smpp-credentials`, {
      auth: self,
      body: { system_id: 'face-smpp' },
    });
    expect(again.body.system_id).toBe('face-smpp');
    const old = await Client.open(port);
    expect((await old.bind('face-smpp', issued.body.password)).status).toBe(STATUS.ESME_RINVPASWD);
    const fresh = await Client.open(port);
    expect((await fresh.bind('face-smpp', again.body.password)).status).toBe(STATUS.ESME_ROK);
    fresh.close();
    // Another user cannot touch them; the admin can remove them.
    await t.call('POST', '/v1/users', { body: { login: 'other', password: 'other-password' } });
    const foreign = await t.call('POST', `/v1/users/${user.body.id}/smpp-credentials`, {
      auth: 'other:other-password',
      body: {},
    });
    expect(foreign.status).toBe(404);
    const taken = await t.call('POST', `/v1/users/${user.body.id}/smpp-credentials`, {
      body: { system_id: 'other' },
    });
    expect(taken.status).toBe(409);
    expect((await t.call('DELETE', `/v1/users/${user.body.id}/smpp-credentials`)).status).toBe(204);
    const removed = await Client.open(port);
    expect((await removed.bind('face-smpp', again.body.password)).status).toBe(STATUS.ESME_RINVSYSID);
    // The login and password bind again.
    const login = await transmitter();
    login.close();
  });
});

describe('SMPP time formats (SMPP 3.4 §7.1.1)', () => {
  const now = Date.UTC(2026, 10, 29, 21, 0, 0);
  it('reads absolute times with their UTC offset, relative times, and nothing', () => {
    expect(parseSmppTime('', now)).toEqual({ kind: 'none' });
    expect(parseSmppTime('261129230000000+', now)).toEqual({
      kind: 'absolute',
      at: Date.UTC(2026, 10, 29, 23),
    });
    expect(parseSmppTime('261130010000008+', now)).toEqual({
      kind: 'absolute',
      at: Date.UTC(2026, 10, 29, 23),
    });
    expect(parseSmppTime('261129210000508-', now)).toEqual({
      kind: 'absolute',
      at: Date.UTC(2026, 10, 29, 23, 0, 0, 500),
    });
    expect(parseSmppTime('000001020304000R', now)).toEqual({
      kind: 'relative',
      at: Date.UTC(2026, 10, 30, 23, 3, 4),
    });
    expect(parseSmppTime('010200000000000R', now)).toEqual({
      kind: 'relative',
      at: Date.UTC(2028, 0, 29, 21),
    });
    expect(formatSmppTime(Date.UTC(2026, 10, 29, 23))).toBe('261129230000000+');
  });
  it('refuses what is not an SMPP time', () => {
    for (const bad of [
      '26112923000000+', // 15 characters
      '261129230000000', // no sign
      '261329230000000+', // month 13
      '260229230000000+', // 29 February 2026
      '261129240000000+', // hour 24
      '261129230000049+', // offset beyond 48 quarter hours
      '000001000000100R', // tenths in a relative time
      '00000x000000000R',
    ])
      expect(parseSmppTime(bad, now), bad).toBeUndefined();
  });
});

describe('receipt text', () => {
  it('is printable ASCII: typography and accents simplified, Cyrillic and Greek transliterated', () => {
    expect(asciiPreview('It’s “fine” — naïve café', 40)).toBe('It\'s "fine" - naive cafe');
    expect(asciiPreview('Щука и ёж: Αθήνα', 20)).toBe('Shchuka i ezh: Athina');
    expect(asciiPreview('日本語 ok\n', 20)).toBe('??? ok ');
    expect(asciiPreview('x'.repeat(30), 20)).toHaveLength(20);
  });
});
