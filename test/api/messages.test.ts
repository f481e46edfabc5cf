/** REST v1 through the real server: validation, normalization, auth, isolation, idempotency. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../support/app.js';
import { ADMIN_PASSWORD, startTestApp } from '../support/app.js';

describe('REST v1 messages', () => {
  let t: TestApp;
  let aliceKey: string;
  let bobKey: string;

  beforeAll(async () => {
    // Scheduled far ahead so the dispatcher leaves these messages queued for the assertions.
    t = await startTestApp({ SMSGW_SIMULATOR: 'false' });
    for (const login of ['alice', 'bob']) {
      const u = await t.call('POST', '/v1/users', { body: { login, password: `${login}-password` } });
      expect(u.status).toBe(201);
    }
    aliceKey = (await t.call('POST', '/v1/keys', { auth: 'alice:alice-password', body: { name: 'app' } }))
      .body.key;
    bobKey = (await t.call('POST', '/v1/keys', { auth: 'bob:bob-password', body: { name: 'app' } })).body.key;
  });
  afterAll(() => t.stop());

  it('queues one message per recipient with normalized numbers, encoding and segments', async () => {
    const r = await t.call('POST', '/v1/messages', {
      auth: aliceKey,
      body: { to: ['+7 (900) 123-45-67', '0044 7700 900123'], text: 'Привет', client_ref: 'order-1' },
    });
    expect(r.status).toBe(202);
    expect(r.body.accepted).toBe(2);
    expect(r.body.messages.map((m: { to: string }) => m.to)).toEqual(['+79001234567', '+447700900123']);
    expect(r.body.messages[0]).toMatchObject({ status: 'queued', encoding: 'ucs2', segments: 1 });
    const got = await t.call('GET', `/v1/messages/${r.body.messages[0].id}`, { auth: aliceKey });
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({
      to: '+79001234567',
      text: 'Привет',
      client_ref: 'order-1',
      status: 'queued',
    });
    expect(got.body.events[0].status).toBe('queued');
  });

  it('accepts a comma-separated string, a form body and the GET query form', async () => {
    const csv = await t.call('POST', '/v1/messages', {
      auth: aliceKey,
      body: { to: '+15555550101,+15555550102', text: 'hi' },
    });
    expect(csv.body.accepted).toBe(2);
    const form = await t.call('POST', '/v1/messages', {
      auth: aliceKey,
      body: 'to=%2B15555550103&text=form+body&flash=true&replace_id=1',
    });
    expect(form.status).toBe(202);
    const m = await t.call('GET', `/v1/messages/${form.body.messages[0].id}`, { auth: aliceKey });
    expect(m.body).toMatchObject({ text: 'form body', flash: true, replace_id: 1 });
    const get = await t.call('GET', '/v1/messages/send?to=%2B15555550104&text=via+get', { auth: aliceKey });
    expect(get.status).toBe(202);
    expect(get.body.messages[0].to).toBe('+15555550104');
  });

  it('reports invalid numbers per recipient and queues the valid ones, or none with all_or_nothing', async () => {
    const mixed = await t.call('POST', '/v1/messages', {
      auth: aliceKey,
      body: { to: ['+15555550105', 'abc', '12'], text: 'x' },
    });
    expect(mixed.status).toBe(202);
    expect(mixed.body).toMatchObject({ accepted: 1, rejected: 2 });
    expect(mixed.body.messages[1]).toMatchObject({ to: 'abc', error: { code: 'invalid_number' } });
    const strict = await t.call('POST', '/v1/messages', {
      auth: aliceKey,
      body: { to: ['+15555550106', 'abc'], text: 'x', all_or_nothing: true },
    });
    expect(strict.status).toBe(400);
    expect(strict.body.error).toMatchObject({ code: 'invalid_number', field: 'to' });
    const none = await t.call('POST', '/v1/messages', { auth: aliceKey, body: { to: 'nope', text: 'x' } });
    expect(none.status).toBe(422);
    expect(none.body.error.code).toBe('no_valid_recipients');
  });

  it.each([
    [{ text: 'no recipient' }, 400, 'validation_failed', 'to'],
    [{ to: '+15555550100', text: '' }, 400, 'missing_parameter', 'text'],
    [{ to: '+15555550100', text: 'x', replace_id: 9 }, 400, 'validation_failed', 'replace_id'],
    [{ to: '+15555550100', text: 'x', send_at: 'tomorrow' }, 400, 'validation_failed', 'send_at'],
    [{ to: '+15555550100', text: 'x', from: 'A very long sender' }, 400, 'validation_failed', 'from'],
    [{ to: '+15555550100', text: 'x'.repeat(153 * 15 + 1) }, 422, 'text_too_long', 'text'],
    [
      { to: Array.from({ length: 1001 }, (_, i) => `+1555555${String(i).padStart(4, '0')}`), text: 'x' },
      413,
      'too_many_recipients',
      'to',
    ],
  ])('rejects bad input %# with a clear error', async (body, status, code, field) => {
    const r = await t.call('POST', '/v1/messages', { auth: aliceKey, body });
    expect(r.status).toBe(status);
    expect(r.body.error.code).toBe(code);
    expect(r.body.error.field).toBe(field);
    expect(typeof r.body.error.message).toBe('string');
  });

  it('never answers 500 to malformed requests', async () => {
    const cases: [string, string, Record<string, string>, string | undefined][] = [
      ['POST', '/v1/messages', { 'content-type': 'application/json' }, '{"to": ['],
      ['POST', '/v1/messages', { 'content-type': 'application/json' }, '[]'],
      ['POST', '/v1/messages', { 'content-type': 'application/json' }, 'null'],
      ['POST', '/v1/messages', { 'content-type': 'text/plain' }, 'hello'],
      ['POST', '/v1/messages', { 'content-type': 'application/json' }, '{"to": {"$gt": 1}, "text": 1}'],
      ['GET', '/v1/messages?limit=abc', {}, undefined],
      ['GET', '/v1/messages?status=bogus', {}, undefined],
      ['GET', '/v1/messages/%00%ff', {}, undefined],
      ['GET', '/v1/nothing-here', {}, undefined],
      ['DELETE', '/v1/messages/unknown', {}, undefined],
      [
        'POST',
        '/v1/messages',
        { 'content-type': 'application/json' },
        JSON.stringify({ to: 'x', text: 'y'.repeat(3_000_000) }),
      ],
    ];
    for (const [method, path, headers, body] of cases) {
      const r = await t.call(method, path, { auth: aliceKey, headers, body });
      expect(r.status, `${method} ${path} ${body?.slice(0, 30)}`).toBeGreaterThanOrEqual(400);
      expect(r.status, `${method} ${path} ${body?.slice(0, 30)}`).toBeLessThan(500);
      expect(r.body?.error?.code, `${method} ${path}: ${JSON.stringify(r.body)}`).toEqual(expect.any(String));
    }
  });

  it('requires authentication and refuses bad credentials and blocked users', async () => {
    expect((await t.call('GET', '/v1/messages', { auth: null })).status).toBe(401);
    expect(
      (await t.call('GET', '/v1/messages', { auth: 'sgw_000000000000_wrongwrongwrongwrong' })).body.error
        .code,
    ).toBe('invalid_credentials');
    expect((await t.call('GET', '/v1/messages', { auth: 'alice:wrong-password' })).status).toBe(401);
    expect((await t.call('GET', '/v1/messages', { auth: `admin:${ADMIN_PASSWORD}` })).status).toBe(200);
    const carol = await t.call('POST', '/v1/users', { body: { login: 'carol', password: 'carol-password' } });
    const carolKey = (await t.call('POST', '/v1/keys', { auth: 'carol:carol-password', body: { name: 'k' } }))
      .body.key;
    await t.call('PATCH', `/v1/users/${carol.body.id}`, { body: { status: 'blocked' } });
    const blocked = await t.call('GET', '/v1/messages', { auth: carolKey });
    expect(blocked.status).toBe(403);
    expect(blocked.body.error.code).toBe('account_blocked');
    expect((await t.call('GET', '/v1/messages', { auth: 'carol:carol-password' })).status).toBe(403);
    // Users are not admins.
    expect((await t.call('GET', '/v1/users', { auth: aliceKey })).status).toBe(403);
    expect(
      (await t.call('POST', '/v1/channels', { auth: aliceKey, body: { name: 'x', type: 'simulator' } }))
        .status,
    ).toBe(403);
  });

  it('isolates tenants: bob cannot read, list or cancel alice’s messages', async () => {
    const sent = await t.call('POST', '/v1/messages', {
      auth: aliceKey,
      body: {
        to: '+15555550199',
        text: 'alice secret',
        send_at: new Date(Date.now() + 3_600_000).toISOString(),
      },
    });
    const id = sent.body.messages[0].id;
    expect(sent.body.messages[0].status).toBe('scheduled');
    expect((await t.call('GET', `/v1/messages/${id}`, { auth: bobKey })).status).toBe(404);
    expect((await t.call('DELETE', `/v1/messages/${id}`, { auth: bobKey })).status).toBe(404);
    const bobList = await t.call('GET', '/v1/messages?limit=500', { auth: bobKey });
    expect(bobList.body.data.find((m: { id: string }) => m.id === id)).toBeUndefined();
    expect((await t.call('GET', `/v1/messages?q=alice+secret`, { auth: bobKey })).body.data).toHaveLength(0);
    // The owner and the admin can.
    expect((await t.call('GET', `/v1/messages?q=alice+secret`, { auth: aliceKey })).body.data).toHaveLength(
      1,
    );
    expect((await t.call('GET', `/v1/messages/${id}`)).status).toBe(200);
    const canceled = await t.call('DELETE', `/v1/messages/${id}`, { auth: aliceKey });
    expect(canceled.body.status).toBe('canceled');
    expect(
      (await t.call('GET', `/v1/messages/${id}`, { auth: aliceKey })).body.events.map(
        (e: { status: string }) => e.status,
      ),
    ).toEqual(['scheduled', 'canceled']);
  });

  it('keeps an API key scoped to its owner and revocable', async () => {
    const k = await t.call('POST', '/v1/keys', { auth: aliceKey, body: { name: 'temp' } });
    expect(k.body.key).toMatch(/^sgw_[0-9a-f]{12}_/);
    expect(
      (await t.call('GET', '/v1/keys', { auth: bobKey })).body.data.find(
        (x: { id: string }) => x.id === k.body.id,
      ),
    ).toBeUndefined();
    expect((await t.call('DELETE', `/v1/keys/${k.body.id}`, { auth: bobKey })).status).toBe(404);
    expect(
      (await t.call('GET', '/v1/keys', { auth: aliceKey })).body.data.some((x: { key?: string }) => x.key),
    ).toBe(false);
    expect((await t.call('DELETE', `/v1/keys/${k.body.id}`, { auth: aliceKey })).status).toBe(200);
    expect((await t.call('GET', '/v1/messages', { auth: k.body.key })).status).toBe(401);
  });

  it('makes a repeated Idempotency-Key return the first answer and create nothing', async () => {
    const body = { to: ['+15555550150', '+15555550151'], text: 'idempotent' };
    const headers = { 'idempotency-key': 'order-42' };
    const first = await t.call('POST', '/v1/messages', { auth: aliceKey, body, headers });
    const again = await Promise.all(
      [1, 2, 3].map(() => t.call('POST', '/v1/messages', { auth: aliceKey, body, headers })),
    );
    for (const r of again) {
      expect(r.status).toBe(202);
      expect(r.body).toEqual(first.body);
    }
    const list = await t.call('GET', '/v1/messages?q=idempotent', { auth: aliceKey });
    expect(list.body.data).toHaveLength(2);
    const other = await t.call('POST', '/v1/messages', {
      auth: aliceKey,
      body: { ...body, text: 'changed' },
      headers,
    });
    expect(other.status).toBe(409);
    expect(other.body.error.code).toBe('idempotency_key_reused');
    // Keys are per user: bob's "order-42" is his own.
    expect((await t.call('POST', '/v1/messages', { auth: bobKey, body, headers })).status).toBe(202);
  });

  it('transliterates typographic characters for users who turned it on', async () => {
    const text = 'It’s ready — see you… “soon”';
    const before = await t.call('POST', '/v1/messages', { auth: bobKey, body: { to: '+15555550160', text } });
    expect(before.body.messages[0].encoding).toBe('ucs2');
    await t.call('PATCH', '/v1/settings', { auth: bobKey, body: { transliterate: true } });
    await new Promise((r) => setTimeout(r, 5_100)); // the setting is cached for 5 s per node
    const after = await t.call('POST', '/v1/messages', { auth: bobKey, body: { to: '+15555550161', text } });
    expect(after.body.messages[0]).toMatchObject({ encoding: 'gsm7', segments: 1 });
    const m = await t.call('GET', `/v1/messages/${after.body.messages[0].id}`, { auth: bobKey });
    expect(m.body.text).toBe('It\'s ready - see you... "soon"');
  });

  it('takes null as "none" in nullable fields instead of coercing it to "" or 0', async () => {
    const c = await t.call('POST', '/v1/channels', {
      body: { name: 'nulls', type: 'simulator', owner_id: null, monthly_limit: null },
    });
    expect(c.status).toBe(201);
    expect(c.body).toMatchObject({ owner_id: null, monthly_limit: null });
    const limited = await t.call('PATCH', `/v1/channels/${c.body.id}`, { body: { monthly_limit: 5 } });
    expect(limited.body.monthly_limit).toBe(5);
    const cleared = await t.call('PATCH', `/v1/channels/${c.body.id}`, { body: { monthly_limit: null } });
    expect(cleared.body.monthly_limit).toBeNull();
    const s = await t.call('PATCH', '/v1/settings', {
      auth: aliceKey,
      body: { stop_reply: null, webhook_url: null },
    });
    expect(s.status).toBe(200);
    expect(s.body).toMatchObject({ stop_reply: null, webhook_url: null });
    await t.call('POST', `/v1/channels/${c.body.id}/disable`);
  });

  it('previews encoding and segments', async () => {
    const r = await t.call('POST', '/v1/messages/preview', { auth: aliceKey, body: { text: 'Price: 5€ ©' } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ encoding: 'ucs2', segments: 1, ucs2_chars: ['©'] });
  });

  it('serves OpenAPI docs, health and metrics', async () => {
    const spec = await t.call('GET', '/docs/json', { auth: null });
    expect(spec.status).toBe(200);
    expect(Object.keys(spec.body.paths)).toContain('/v1/messages');
    expect((await t.call('GET', '/healthz', { auth: null })).status).toBe(200);
    expect((await t.call('GET', '/readyz', { auth: null })).body.status).toBe('ready');
    const metrics = await t.call('GET', '/metrics', { auth: null });
    expect(metrics.body).toContain('smsgw_queue_depth');
    expect(metrics.body).toContain('smsgw_http_request_duration_seconds');
  });
});
