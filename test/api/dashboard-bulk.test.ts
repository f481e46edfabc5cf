/**
 * What the dashboard's Contacts, Campaigns and OTP pages read, over HTTP on a real gateway
 * (answers checked against the OpenAPI document by t.call): a contact's groups, a draft
 * campaign's cost at the price list before it starts, and the OTP log (own codes only for a
 * user, every account's for an admin, never the code or its hash). SQLite, and PostgreSQL when
 * SMSGW_TEST_DATABASE_URL is set.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../support/app.js';
import { startTestApp } from '../support/app.js';
import { PG_URL, pgSchemaUrl } from '../support/db.js';
import { priceLookup } from '../../src/services/campaigns.js';

const backends = [
  { name: 'sqlite', env: async () => ({ env: {} as Record<string, string>, drop: async () => undefined }) },
  ...(PG_URL
    ? [
        {
          name: 'postgres',
          env: async () => {
            const s = await pgSchemaUrl();
            return { env: { DATABASE_URL: s.url } as Record<string, string>, drop: s.drop };
          },
        },
      ]
    : []),
];

describe.each(backends)('dashboard reads for contacts, campaigns and OTP ($name)', ({ env }) => {
  let t: TestApp;
  let drop: () => Promise<void>;
  const mila = 'mila:mila-password-1';
  const ivo = 'ivo:ivo-password-1';

  beforeAll(async () => {
    const e = await env();
    drop = e.drop;
    t = await startTestApp(e.env);
    for (const login of ['mila', 'ivo'])
      expect(
        (await t.call('POST', '/v1/users', { body: { login, password: `${login}-password-1` } })).status,
      ).toBe(201);
  });
  afterAll(async () => {
    await t?.stop();
    await drop?.();
  });

  it("lists each contact with the groups it is in, and only the owner's", async () => {
    for (const number of ['+393471111111', '+393472222222'])
      expect((await t.call('POST', '/v1/contacts', { auth: mila, body: { number } })).status).toBe(201);
    const vip = await t.call('POST', '/v1/groups', {
      auth: mila,
      body: { name: 'VIP', numbers: ['+393471111111'] },
    });
    const all = await t.call('POST', '/v1/groups', {
      auth: mila,
      body: { name: 'All', numbers: ['+393471111111', '+393472222222'] },
    });
    expect([vip.status, vip.body.added, all.body.added]).toEqual([201, 1, 2]);
    const list = await t.call('GET', '/v1/contacts', { auth: mila });
    expect(list.status).toBe(200);
    expect(
      list.body.data.map((c: { number: string; group_ids: string[] }) => [c.number, c.group_ids]),
    ).toEqual([
      ['+393471111111', [all.body.id, vip.body.id].sort()],
      ['+393472222222', [all.body.id]],
    ]);
    const one = await t.call('GET', '/v1/contacts/+393472222222', { auth: mila });
    expect(one.body.group_ids).toEqual([all.body.id]);
    expect((await t.call('GET', '/v1/contacts', { auth: ivo })).body.data).toEqual([]);

    // An edit replaces: emptied details clear, the groups become exactly those given.
    const tagged = await t.call('POST', '/v1/contacts', {
      auth: mila,
      body: { number: '+393471111111', name: 'Mila', tags: ['a', 'b'], fields: { city: 'Roma' } },
    });
    expect(tagged.body).toMatchObject({ name: 'Mila', tags: ['a', 'b'], fields: { city: 'Roma' } });
    const edited = await t.call('PUT', '/v1/contacts/+393471111111', {
      auth: mila,
      body: { tags: ['b'], group_ids: [vip.body.id] },
    });
    expect(edited.status).toBe(200);
    expect(edited.body).toMatchObject({ name: null, tags: ['b'], fields: {}, group_ids: [vip.body.id] });
    const none = await t.call('PUT', '/v1/contacts/+393479999999', { auth: mila, body: {} });
    expect(none.status).toBe(404);
    const other = await t.call('PUT', '/v1/contacts/+393471111111', { auth: ivo, body: { name: 'x' } });
    expect(other.status).toBe(404);
    const badGroup = await t.call('PUT', '/v1/contacts/+393471111111', {
      auth: mila,
      body: { group_ids: ['nope'] },
    });
    expect([badGroup.status, badGroup.body.error.code]).toEqual([400, 'validation_failed']);
    await t.call('PUT', '/v1/contacts/+393471111111', {
      auth: mila,
      body: { group_ids: [all.body.id, vip.body.id] },
    });
  });

  it("prices a draft campaign's recipients before it starts: longest prefix, unpriced counted", async () => {
    expect((await t.call('PUT', '/v1/prices', { body: { prefix: '39', per_segment: 3 } })).status).toBe(200);
    expect((await t.call('PUT', '/v1/prices', { body: { prefix: '39347', per_segment: 5 } })).status).toBe(
      200,
    );
    const draft = await t.call('POST', '/v1/campaigns', {
      auth: mila,
      body: {
        text: 'Hello {name}',
        draft: true,
        audience: {
          recipients: [
            { number: '+393471111111' },
            { number: '+390612345678' },
            { number: '+4915112345678' },
          ],
        },
      },
    });
    expect([draft.status, draft.body.status]).toEqual([201, 'draft']);
    const est = await t.call('GET', `/v1/campaigns/${draft.body.id}/estimate`, { auth: mila });
    expect(est.status).toBe(200);
    expect(est.body).toEqual({
      recipients: 3,
      encoding: 'gsm7',
      segments_per_message: 1,
      segments: 3,
      cost: 5 + 3,
      unpriced: 1,
      mode: 'unlimited',
      balance: 0,
    });
    // Nothing was sent while it is a draft; another user does not see it.
    expect((await t.call('GET', `/v1/campaigns/${draft.body.id}`, { auth: mila })).body.progress.done).toBe(
      0,
    );
    expect((await t.call('GET', `/v1/campaigns/${draft.body.id}/estimate`, { auth: ivo })).status).toBe(404);
  });

  it('picks prices like the credits rule: the encoding before "any" at the same prefix', () => {
    const rows = [
      { prefix: '', encoding: 'any', per_segment: 1 },
      { prefix: '49', encoding: 'any', per_segment: 2 },
      { prefix: '49', encoding: 'ucs2', per_segment: 4 },
      { prefix: '4915', encoding: 'gsm7', per_segment: 7 },
    ];
    const gsm = priceLookup(rows, 'gsm7');
    const ucs = priceLookup(rows, 'ucs2');
    expect([gsm('+4915112345678'), gsm('+4930123'), gsm('+33612')]).toEqual([7, 2, 1]);
    expect([ucs('+4915112345678'), ucs('+4930123')]).toEqual([4, 4]);
    expect(priceLookup([], 'gsm7')('+1')).toBeUndefined();
  });

  it('lists OTPs newest first, scoped to the owner, never with the code or its hash', async () => {
    const sent: string[] = [];
    for (const to of ['+15555550501', '+15555550502', '+15555550501']) {
      const r = await t.call('POST', '/v1/otp', { auth: mila, body: { to, template: 'Code {code}' } });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      sent.push(r.body.id);
    }
    await t.call('POST', '/v1/otp', { auth: ivo, body: { to: '+15555550509' } });
    const m = await t.call(
      'GET',
      `/v1/messages/${(await t.call('GET', `/v1/otp/${sent[0]}`, { auth: mila })).body.message_id}`,
      {
        auth: mila,
      },
    );
    const code = (m.body.text as string).slice(5);
    await t.call('POST', '/v1/otp/verify', {
      auth: mila,
      body: { id: sent[0], code: code === '000000' ? '111111' : '000000' },
    });

    const page = await t.call('GET', '/v1/otp?limit=2', { auth: mila });
    expect(page.status).toBe(200);
    expect(page.body.data.map((o: { id: string }) => o.id)).toEqual([sent[2], sent[1]]);
    const rest = await t.call('GET', `/v1/otp?limit=2&cursor=${page.body.next_cursor}`, { auth: mila });
    expect(rest.body.data.map((o: { id: string }) => o.id)).toEqual([sent[0]]);
    expect(rest.body.data[0]).toMatchObject({ attempts: 1, attempts_left: 4, status: 'pending', length: 6 });
    expect(rest.body.next_cursor).toBeNull();
    const text = JSON.stringify([page.body, rest.body]);
    expect(text).not.toContain(code);
    expect(text).not.toContain('hash');

    const to = await t.call('GET', '/v1/otp?to=%2B15555550501', { auth: mila });
    expect(to.body.data.map((o: { id: string }) => o.id)).toEqual([sent[2], sent[0]]);
    const admin = await t.call('GET', '/v1/otp');
    expect(admin.body.data).toHaveLength(4);
    expect(new Set(admin.body.data.map((o: { owner_id: string }) => o.owner_id)).size).toBe(2);
    const bad = await t.call('GET', '/v1/otp?cursor=nope', { auth: mila });
    expect([bad.status, bad.body.error.code]).toEqual([400, 'validation_failed']);
    const badTo = await t.call('GET', '/v1/otp?to=abc', { auth: mila });
    expect([badTo.status, badTo.body.error.code]).toEqual([400, 'invalid_number']);
  });
});
