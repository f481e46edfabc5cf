/**
 * Blacklists and whitelists, frequency caps and credits through every way in: REST (with the
 * management API and CSV import/export), the seed API and the SMPP server face. On SQLite, and
 * on PostgreSQL when SMSGW_TEST_DATABASE_URL is set.
 */
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATUS } from '../../src/codec/smpp-pdu.js';
import type { TestApp } from '../support/app.js';
import { startTestApp } from '../support/app.js';
import { PG_URL, pgSchemaUrl } from '../support/db.js';
import { Client } from '../support/esme.js';
import { freePort } from '../support/net.js';

const BACKENDS = ['sqlite', ...(PG_URL ? ['postgres'] : [])];

describe.each(BACKENDS)('sending policy through the faces (%s)', (backend) => {
  let t: TestApp;
  let port: number;
  let drop: (() => Promise<void>) | undefined;
  let aliceId: string;
  const alice = 'alice:alice-password';
  const bob = 'bob:bob-password';

  beforeAll(async () => {
    port = await freePort();
    const env: Record<string, string> = {
      SMSGW_SIMULATOR: 'false',
      SMSGW_SMPP_PORT: String(port),
      SMSGW_WHITELIST_MAX: '3',
    };
    if (backend === 'postgres') {
      const schema = await pgSchemaUrl();
      env.DATABASE_URL = schema.url;
      drop = schema.drop;
    }
    t = await startTestApp(env);
    aliceId = (await t.call('POST', '/v1/users', { body: { login: 'alice', password: 'alice-password' } }))
      .body.id;
    await t.call('POST', '/v1/users', { body: { login: 'bob', password: 'bob-password' } });
  });
  afterAll(async () => {
    await t.stop();
    await drop?.();
  });

  const send = (auth: string, to: string[], text = 'hello') =>
    t.call('POST', '/v1/messages', { auth, body: { to, text } });
  const codes = (body: { messages: { error?: { code: string } }[] }) =>
    body.messages.map((m) => m.error?.code ?? null);

  it('blacklists per user and globally; a number taken off can be sent to again', async () => {
    const added = await t.call('POST', '/v1/blacklist', {
      auth: alice,
      body: { number: '+49 151 0000 0001', reason: 'asked us' },
    });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({
      number: '+4915100000001',
      reason: 'asked us',
      source: 'api',
      scope: 'user',
    });
    // Only an admin writes the global list.
    const denied = await t.call('POST', '/v1/blacklist', {
      auth: alice,
      body: { number: '+4915100000002', scope: 'global' },
    });
    expect(denied.status).toBe(403);
    expect(
      (
        await t.call('POST', '/v1/blacklist', {
          body: { number: '+4915100000002', reason: 'fraud', scope: 'global' },
        })
      ).status,
    ).toBe(201);

    const r = await send(alice, ['+4915100000001', '+4915100000002', '+4915100000003']);
    expect(r.status).toBe(202);
    expect(codes(r.body)).toEqual(['blacklisted', 'blacklisted', null]);
    expect(r.body).toMatchObject({ accepted: 1, rejected: 2 });
    // Bob is not bound by Alice's list, only by the global one.
    expect(codes((await send(bob, ['+4915100000001', '+4915100000002'])).body)).toEqual([
      null,
      'blacklisted',
    ]);

    const list = await t.call('GET', '/v1/blacklist', { auth: alice });
    expect(list.body).toMatchObject({ total: 1, data: [{ number: '+4915100000001' }], next_cursor: null });
    expect((await t.call('GET', '/v1/blacklist?scope=global', { auth: alice })).status).toBe(403);
    expect((await t.call('DELETE', '/v1/blacklist/+4915100000001', { auth: alice })).status).toBe(204);
    expect((await t.call('DELETE', '/v1/blacklist/+4915100000001', { auth: alice })).status).toBe(404);
    expect(codes((await send(alice, ['+4915100000001'])).body)).toEqual([null]);
  });

  it('imports and exports a list as CSV', async () => {
    const csv =
      'number,reason\n+4915100000011,"moved, no longer ours"\n4915100000012\nnot-a-number,x\n+4915100000011,dup\n';
    const imp = await t.call('POST', '/v1/blacklist/import', {
      auth: bob,
      body: csv,
      headers: { 'content-type': 'text/csv' },
    });
    expect(imp.status).toBe(200);
    expect(imp.body).toMatchObject({ added: 2, already_listed: 0, invalid_count: 1 });
    expect(imp.body.invalid[0]).toMatchObject({ line: 4, value: 'not-a-number' });
    const exp = await t.call('GET', '/v1/blacklist/export', { auth: bob });
    expect(exp.status).toBe(200);
    expect(exp.headers.get('content-type')).toMatch(/text\/csv/);
    const rows = parse(exp.body as string, { columns: true }) as Record<string, string>[];
    expect(rows.map((r) => [r.number, r.reason, r.source])).toEqual([
      ['+4915100000011', 'moved, no longer ours', 'csv'],
      ['+4915100000012', '', 'csv'],
    ]);
    expect(codes((await send(bob, ['+4915100000012'])).body)).toEqual(['blacklisted']);
  });

  it('caps per recipient; the whitelist is exempt and capped in size', async () => {
    const put = await t.call('PUT', '/v1/policy/caps', {
      auth: alice,
      body: {
        caps: [
          { period: 'hour', max: 2 },
          { period: 'day', max: 10 },
        ],
      },
    });
    expect(put.status).toBe(200);
    expect((await t.call('GET', '/v1/policy/caps', { auth: alice })).body.caps).toEqual([
      { category: null, period: 'day', max: 10 },
      { category: null, period: 'hour', max: 2 },
    ]);
    const to = '+4915100000021';
    const results = [];
    for (let i = 0; i < 3; i++) results.push(codes((await send(alice, [to])).body)[0]);
    expect(results).toEqual([null, null, 'frequency_limited']);
    // Whitelisted: exempt.
    expect((await t.call('POST', '/v1/whitelist', { auth: alice, body: { number: to } })).status).toBe(201);
    expect(codes((await send(alice, [to])).body)).toEqual([null]);
    // SMSGW_WHITELIST_MAX=3 here.
    for (const n of ['+4915100000022', '+4915100000023'])
      expect((await t.call('POST', '/v1/whitelist', { auth: alice, body: { number: n } })).status).toBe(201);
    const full = await t.call('POST', '/v1/whitelist', { auth: alice, body: { number: '+4915100000024' } });
    expect(full.status).toBe(409);
    expect(full.body.error.code).toBe('list_full');
    // Bad caps are a 400, not a 500.
    const bad = await t.call('PUT', '/v1/policy/caps', {
      auth: alice,
      body: {
        caps: [
          { period: 'hour', max: 2 },
          { period: 'hour', max: 3 },
        ],
      },
    });
    expect(bad.status).toBe(400);
    expect(
      (await t.call('PUT', '/v1/policy/caps', { auth: alice, body: { caps: [{ period: 'week', max: 1 }] } }))
        .status,
    ).toBe(400);
    await t.call('PUT', '/v1/policy/caps', { auth: alice, body: { caps: [] } });
  });

  it('a test-mode account (set by an admin) sends only to its whitelist', async () => {
    expect((await t.call('PATCH', '/v1/policy', { auth: bob, body: { test_mode: true } })).status).toBe(403);
    const bobId = (await t.call('GET', '/v1/me', { auth: bob })).body.id;
    const on = await t.call('PATCH', '/v1/policy', { body: { user_id: bobId, test_mode: true } });
    expect(on.body).toMatchObject({ test_mode: true });
    await t.call('POST', '/v1/whitelist', { auth: bob, body: { number: '+4915100000031' } });
    expect(codes((await send(bob, ['+4915100000031', '+4915100000032'])).body)).toEqual([
      null,
      'not_whitelisted',
    ]);
    await t.call('PATCH', '/v1/policy', { body: { user_id: bobId, test_mode: false } });
    expect(codes((await send(bob, ['+4915100000032'])).body)).toEqual([null]);
  });

  it('charges prepaid accounts, quotes in preview, refuses per recipient when the balance runs out, 402 when nothing is covered', async () => {
    expect(
      (await t.call('PUT', '/v1/prices', { auth: alice, body: { prefix: '49', per_segment: 5 } })).status,
    ).toBe(403);
    expect((await t.call('PUT', '/v1/prices', { body: { prefix: 'default', per_segment: 9 } })).status).toBe(
      200,
    );
    expect((await t.call('PUT', '/v1/prices', { body: { prefix: '4915', per_segment: 5 } })).status).toBe(
      200,
    );
    expect(
      (await t.call('POST', `/v1/users/${aliceId}/credit`, { auth: alice, body: { amount: 100 } })).status,
    ).toBe(403);
    const top = await t.call('POST', `/v1/users/${aliceId}/credit`, {
      body: { amount: 12, mode: 'prepaid', note: 'test' },
    });
    expect(top.body).toMatchObject({ mode: 'prepaid', balance: 12 });

    const quote = await t.call('POST', '/v1/messages/preview', {
      auth: alice,
      body: { text: 'hi', to: '+4915100000041' },
    });
    expect(quote.body.price).toEqual({
      to: '+4915100000041',
      charged: true,
      prefix: '4915',
      per_segment: 5,
      segments: 1,
      total: 5,
    });

    const r = await send(alice, ['+4915100000041', '+4915100000042', '+4915100000043']);
    expect(r.status).toBe(202);
    expect(codes(r.body)).toEqual([null, null, 'insufficient_balance']);
    const none = await send(alice, ['+4915100000044']);
    expect(none.status).toBe(402);
    expect(none.body.error.code).toBe('insufficient_balance');

    const bal = await t.call('GET', '/v1/balance', { auth: alice });
    expect(bal.body).toMatchObject({ mode: 'prepaid', balance: 2 });
    // One charge row for the request's two messages (a ledger row per accepted batch and owner).
    expect(bal.body.ledger.map((l: { kind: string; amount: number }) => [l.kind, l.amount])).toEqual([
      ['charge', -10],
      ['topup', 12],
    ]);
    expect(bal.body.ledger.reduce((s: number, l: { amount: number }) => s + l.amount, 0)).toBe(2);

    // Canceling a queued message gives its charge back.
    const id = r.body.messages[0].id;
    expect((await t.call('DELETE', `/v1/messages/${id}`, { auth: alice })).status).toBe(200);
    expect((await t.call('GET', '/v1/balance', { auth: alice })).body.balance).toBe(7);
  });

  it('the seed API and the SMPP face give the same refusals', async () => {
    // Alice: prepaid with 7 left at 5 per segment to +4915…, 9 elsewhere (previous test).
    await t.call('POST', '/v1/blacklist', { auth: alice, body: { number: '+4915100000051' } });
    // Caps count calendar minutes: start early in one, so the sends below fall in the same minute.
    const second = new Date().getUTCSeconds();
    if (second > 30) await new Promise((r) => setTimeout(r, (61 - second) * 1000));
    await t.call('PUT', '/v1/policy/caps', { auth: alice, body: { caps: [{ period: 'minute', max: 1 }] } });
    const seed = (tel: string) =>
      t.call('GET', `/smsc.php?login=alice&pass=alice-password&tel=${tel}&msg=hi`, { auth: null });
    const s1 = await seed('4915100000051');
    expect(s1.status).toBe(200);
    expect(s1.body.refused).toEqual([
      { tel: '+4915100000051', code: 'blacklisted', description: 'The recipient is on a blacklist.' },
    ]);
    expect(s1.body.ids).toEqual([]);
    expect((await seed('4915100000052')).body.ids).toHaveLength(1); // 7 → 2 left
    expect((await seed('4915100000052')).body.refused[0].code).toBe('frequency_limited');
    const broke = await seed('4915100000053');
    expect(broke.status).toBe(402);
    expect(broke.body).toMatchObject({ success: false, code: 'insufficient_balance' });

    // SMPP passwords are at most 8 characters: Alice gets an SMPP login of her own.
    await t.call('PATCH', `/v1/users/${aliceId}`, {
      body: { smpp_system_id: 'alice', smpp_password: 'alicepw' },
    });
    const c = await Client.open(port);
    try {
      expect((await c.bind('alice', 'alicepw')).status).toBe(STATUS.ESME_ROK);
      expect((await c.submit('4915100000051', 'hi')).status).toBe(STATUS.ESME_RINVDSTADR);
      expect((await c.submit('4915100000052', 'hi')).status).toBe(STATUS.ESME_RTHROTTLED);
      expect((await c.submit('4915100000054', 'hi')).status).toBe(STATUS.ESME_RSUBMITFAIL);
      await t.call('POST', `/v1/users/${aliceId}/credit`, { body: { amount: 100 } });
      expect((await c.submit('4915100000054', 'hi')).status).toBe(STATUS.ESME_ROK);
    } finally {
      c.close();
    }
  }, 90_000);
});
