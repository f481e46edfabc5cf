/**
 * The OpenAPI document (/docs/json) is a valid OpenAPI document, documents every /v1 operation's
 * success answer and its errors (one shared ApiError schema whose codes are the registry's), and
 * the answers of the main flows match it (issue 18 item 4).
 */
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERRORS } from '../../src/core/errors.js';
import type { TestApp } from '../support/app.js';
import { ADMIN_KEY, ADMIN_PASSWORD, startTestApp } from '../support/app.js';
import { PG_URL, pgSchemaUrl } from '../support/db.js';
import { OpenApiCheck } from '../support/openapi.js';

type Op = {
  parameters?: { in: string; name: string }[];
  requestBody?: { content: Record<string, { example?: unknown; schema?: unknown }> };
  responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }>;
};

const dbs = ['sqlite', ...(PG_URL ? ['postgres'] : [])];

// On both databases: PostgreSQL hands back bigint ids and counts as strings where SQLite gives
// numbers, the kind of drift the response schemas are here to catch.
describe.each(dbs)('OpenAPI document (%s)', (dbName) => {
  let t: TestApp;
  let drop: (() => Promise<void>) | undefined;
  let oa: OpenApiCheck;
  let doc: { paths: Record<string, Record<string, Op>>; components: { schemas: Record<string, any> } };

  beforeAll(async () => {
    const env: Record<string, string> = { SMSGW_SIMULATOR: 'false' };
    if (dbName === 'postgres') {
      const s = await pgSchemaUrl();
      env.DATABASE_URL = s.url;
      drop = s.drop;
    }
    t = await startTestApp(env);
    oa = await OpenApiCheck.load(t);
    doc = oa.doc as typeof doc;
  });
  afterAll(async () => {
    await t?.stop();
    await drop?.();
  });

  it('is a valid OpenAPI document', async () => {
    const result = await new Validator().validate(
      structuredClone(doc) as Parameters<Validator['validate']>[0],
    );
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('documents a success schema and the shared error schema for every /v1 operation', () => {
    const missing: string[] = [];
    let operations = 0;
    for (const [path, ops] of Object.entries(doc.paths)) {
      if (!path.startsWith('/v1/')) continue;
      for (const [method, op] of Object.entries(ops)) {
        operations++;
        const success = Object.entries(op.responses).filter(([s]) => /^2\d\d$/.test(s));
        const documented = success.some(
          ([s, r]) => s === '204' || Object.values(r.content ?? {}).some((c) => c.schema),
        );
        if (!documented) {
          missing.push(`${method.toUpperCase()} ${path}: no success schema`);
        }
        for (const status of ['400', '401', '404']) {
          const ref = op.responses[status]?.content?.['application/json']?.schema?.$ref;
          if (ref !== '#/components/schemas/ApiError')
            missing.push(`${method.toUpperCase()} ${path}: ${status}`);
        }
      }
    }
    expect(operations).toBeGreaterThan(40);
    expect(missing).toEqual([]);
  });

  it('lists exactly the registry codes in the error schema, each under its status', () => {
    const error = doc.components.schemas.ApiError;
    const codes: string[] = error.properties.error.properties.code.enum;
    expect([...codes].sort()).toEqual(Object.keys(ERRORS).sort());
    const send = doc.paths['/v1/messages']!.post!;
    const r409 = send.responses['409'] as unknown as { description: string };
    expect(r409.description).toContain('idempotency_key_reused');
    expect(r409.description).not.toContain('validation_failed');
  });

  it('documents sending: 202, Idempotency-Key, JSON and form bodies, an example that works', async () => {
    const send = doc.paths['/v1/messages']!.post!;
    expect(Object.keys(send.responses)).toContain('202');
    expect(send.responses['200']).toBeUndefined();
    expect(send.parameters?.find((p) => p.in === 'header')?.name).toBe('idempotency-key');
    expect(Object.keys(send.requestBody!.content)).toEqual([
      'application/json',
      'application/x-www-form-urlencoded',
    ]);
    // "Try it out" with the default example sends.
    const example = send.requestBody!.content['application/json']!.example;
    expect(example).toBeDefined();
    const res = await t.call('POST', '/v1/messages', { body: example });
    expect(res.status).toBe(202);
    oa.expectValid('POST', '/v1/messages', res);
  });

  it('answers the main flows as documented', async () => {
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await t.call(method, path, body === undefined ? {} : { body });
      oa.expectValid(method, path, res);
      return res;
    };
    const sent = await call('POST', '/v1/messages', {
      to: ['+15555550101', 'not a number'],
      text: 'Привет',
      client_ref: 'r1',
      send_at: new Date(Date.now() + 3_600_000).toISOString(),
    });
    expect(sent.status).toBe(202);
    expect(sent.body.rejected).toBe(1);
    const id = sent.body.messages[0].id as string;
    expect((await call('GET', `/v1/messages/${id}`)).status).toBe(200);
    expect((await call('GET', '/v1/messages?limit=5')).body.data.length).toBeGreaterThan(0);
    expect((await call('POST', '/v1/messages/preview', { text: 'Ça va?', to: '+15555550101' })).status).toBe(
      200,
    );
    expect((await call('DELETE', `/v1/messages/${id}`)).body.status).toBe('canceled');
    // Users, keys, channels.
    const user = await call('POST', '/v1/users', { login: 'oa-user', password: 'oa-password-1' });
    expect(user.status).toBe(201);
    expect((await call('GET', '/v1/users')).status).toBe(200);
    expect((await call('GET', '/v1/me')).body.role).toBe('admin');
    expect((await call('PATCH', `/v1/users/${user.body.id}`, { status: 'blocked' })).body.status).toBe(
      'blocked',
    );
    const key = await call('POST', '/v1/keys', { name: 'oa', callback_url: 'http://127.0.0.1:9/hook' });
    expect(key.status).toBe(201);
    expect((await call('GET', '/v1/keys')).status).toBe(200);
    expect((await call('DELETE', `/v1/keys/${key.body.id}`)).body.revoked_at).not.toBeNull();
    const channel = await call('POST', '/v1/channels', {
      name: 'oa-sim',
      type: 'simulator',
      monthly_limit: 100,
      config: { password: 'x' },
    });
    expect(channel.status).toBe(201);
    const cid = channel.body.id as string;
    expect((await call('GET', '/v1/channels')).body.data.length).toBeGreaterThan(0);
    expect((await call('GET', `/v1/channels/${cid}`)).body.config).toEqual({ password: '***' });
    expect((await call('PATCH', `/v1/channels/${cid}`, { priority: 5 })).body.priority).toBe(5);
    expect((await call('POST', `/v1/channels/${cid}/disable`)).body.enabled).toBe(false);
    expect((await call('POST', `/v1/channels/${cid}/enable`)).body.enabled).toBe(true);
    expect((await call('GET', `/v1/channels/${cid}/counters`)).status).toBe(200);
    expect((await call('POST', `/v1/channels/${cid}/counters/reset`, {})).body.count).toBe(0);
    // After sending: feed, inbound, conversations, keywords, opt-outs, settings, webhooks.
    const sim = await call('POST', '/v1/channels', { name: 'oa-sim-2', type: 'simulator' });
    expect(
      (await call('POST', `/v1/channels/${sim.body.id}/inbound`, { from: '+15555550109', text: 'hi' }))
        .status,
    ).toBe(202);
    expect((await call('GET', '/v1/events?limit=5')).body.data.length).toBeGreaterThan(0);
    expect((await call('GET', '/v1/inbound')).body.data[0].text).toBe('hi');
    expect((await call('GET', '/v1/conversations/+15555550109')).body.data.length).toBe(1);
    const reply = await call('POST', '/v1/conversations/+15555550109/messages', { text: 'hello' });
    expect(reply.status).toBe(202);
    const rule = await call('POST', '/v1/keywords', {
      match_type: 'exact',
      pattern: 'INFO',
      action: 'auto_reply',
      reply_text: 'Info',
    });
    expect(rule.status).toBe(201);
    expect((await call('GET', '/v1/keywords')).body.data.length).toBe(1);
    const deleted = await call('DELETE', `/v1/keywords/${rule.body.id}`);
    expect([deleted.status, deleted.body]).toEqual([204, '']);
    expect((await call('POST', '/v1/opt-outs', { number: '+15555550110' })).status).toBe(201);
    expect((await call('GET', '/v1/opt-outs')).body.data.length).toBe(1);
    expect((await call('DELETE', '/v1/opt-outs/+15555550110')).status).toBe(204);
    expect((await call('GET', '/v1/settings')).status).toBe(200);
    expect(
      (await call('PATCH', '/v1/settings', { stop_words: ['stop'], help_reply: null })).body.stop_words,
    ).toEqual(['STOP']);
    expect((await call('POST', '/v1/settings/rotate-secret')).body.webhook_secret).toMatch(/^whsec_/);
    expect((await call('GET', '/v1/webhooks/deliveries')).status).toBe(200);
    const follow = await call('POST', '/v1/messages/follow-up', {
      batch_id: reply.body.batch_id,
      status: ['queued', 'sending', 'sent', 'delivered'],
      text: 'again',
    });
    expect([202, 422]).toContain(follow.status);
    // Errors: the shared shape, with the status the registry gives the code.
    expect((await call('GET', '/v1/messages/nope')).status).toBe(404);
    const anonymous = await t.call('GET', '/v1/messages', { auth: null });
    expect(anonymous.status).toBe(401);
    oa.expectValid('GET', '/v1/messages', anonymous);
    expect(
      (await call('POST', '/v1/messages', { to: '+15555550101', text: 'x', sender: 'ACME' })).status,
    ).toBe(400);
  });
  it('answers the policy, template, consent, OTP and report routes as documented', async () => {
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await t.call(method, path, body === undefined ? {} : { body });
      oa.expectValid(method, path, res);
      return res;
    };
    const since = new Date(Date.now() - 86_400_000).toISOString();
    expect((await call('GET', '/v1/nodes')).status).toBe(200);
    expect((await call('GET', `/v1/stats?since=${encodeURIComponent(since)}`)).status).toBe(200);
    expect((await call('GET', '/v1/queue')).status).toBe(200);
    const csv = await t.call('GET', '/v1/messages/export');
    expect([csv.status, csv.headers.get('content-type')]).toEqual([200, 'text/csv; charset=utf-8']);
    expect(oa.doc.paths['/v1/messages/export']?.get?.responses?.['200']?.content?.['text/csv']).toBeDefined();

    const tpl = await call('POST', '/v1/templates', {
      name: 'oa-code',
      text: 'Your code is {code}',
      category: 'verification',
    });
    expect(tpl.status).toBe(201);
    expect((await call('GET', '/v1/templates')).body.data.length).toBe(1);
    expect((await call('PATCH', `/v1/templates/${tpl.body.id}`, { text: 'Code: {code}' })).status).toBe(200);
    expect((await call('POST', `/v1/templates/${tpl.body.id}/approve`)).body.status).toBe('approved');
    expect((await call('GET', `/v1/templates/${tpl.body.id}`)).body.history.length).toBeGreaterThan(0);
    const sig = await call('POST', '/v1/signatures', { text: 'Acme:', placement: 'prefix' });
    expect(sig.status).toBe(201);
    expect(
      (await call('POST', `/v1/signatures/${sig.body.id}/reject`, { reason: 'unknown brand' })).status,
    ).toBe(200);
    expect((await call('DELETE', `/v1/templates/${tpl.body.id}`)).status).toBe(204);

    const number = '+15555550120';
    expect(
      (await call('POST', '/v1/consents', { number, source: 'web form', proof_ip: '192.0.2.1' })).status,
    ).toBe(201);
    expect((await call('GET', `/v1/consents?number=${encodeURIComponent(number)}`)).body.consented).toBe(
      true,
    );
    expect((await call('GET', `/v1/consents/export?number=${encodeURIComponent(number)}`)).status).toBe(200);
    expect((await call('DELETE', `/v1/consents/${number}`)).status).toBe(200);
    expect((await call('POST', '/v1/privacy/erase', { number })).status).toBe(200);
    expect((await call('GET', '/v1/policy')).status).toBe(200);
    expect(
      (await call('PATCH', '/v1/policy', { consent_required: false, auto_blacklist_after: 3 })).status,
    ).toBe(200);
    expect((await call('GET', '/v1/policy/defaults')).status).toBe(200);
    expect((await call('PUT', '/v1/policy/defaults', { quiet_hours: [] })).status).toBe(200);
    expect(
      (await call('PUT', `/v1/contacts/${number}/time_zone`, { time_zone: 'Europe/Berlin' })).status,
    ).toBe(200);

    expect((await call('POST', '/v1/blacklist', { number: '+15555550121' })).status).toBe(201);
    expect((await call('GET', '/v1/blacklist')).body.total).toBe(1);
    expect((await call('DELETE', '/v1/blacklist/+15555550121')).status).toBe(204);
    expect((await call('PUT', '/v1/policy/caps', { caps: [{ period: 'day', max: 5 }] })).status).toBe(200);
    expect((await call('GET', '/v1/policy/caps')).body.caps.length).toBe(1);
    expect((await call('PUT', '/v1/prices', { prefix: '1555', per_segment: 3 })).status).toBe(200);
    expect((await call('GET', '/v1/prices')).body.data.length).toBeGreaterThan(0);
    expect((await call('DELETE', '/v1/prices/1555')).status).toBe(204);
    const me = (await t.call('GET', '/v1/me')).body.id as string;
    expect((await call('POST', `/v1/users/${me}/credit`, { amount: 100 })).status).toBe(200);
    expect((await call('GET', '/v1/balance')).body.ledger.length).toBeGreaterThan(0);

    const otp = await call('POST', '/v1/otp', { to: '+15555550122' });
    expect(otp.status).toBe(201);
    expect((await call('GET', `/v1/otp/${otp.body.id}`)).body.status).toBe('pending');
    expect((await call('POST', '/v1/otp/verify', { id: otp.body.id, code: '000000x' })).status).toBe(200);
    expect((await call('GET', '/v1/otp/settings')).status).toBe(200);
    expect((await call('PUT', '/v1/otp/settings', { from: null })).status).toBe(200);
  });

  const COMPAT = ['/cgi-bin/sendsms', '/send', '/balance', '/rate', '/ping', '/index.php'];
  const faceOf = (path: string) =>
    path.startsWith('/auth/')
      ? 'auth'
      : COMPAT.includes(path) || path.startsWith('/secure/')
        ? 'compat'
        : null;

  it('documents every status of the compatible faces and of /auth/*, /auth errors in the shared shape', () => {
    const missing: string[] = [];
    const seen = { auth: 0, compat: 0 };
    for (const [path, ops] of Object.entries(doc.paths)) {
      const face = faceOf(path);
      if (!face) continue;
      for (const [method, op] of Object.entries(ops)) {
        seen[face]++;
        const name = `${method.toUpperCase()} ${path}`;
        const statuses = Object.keys(op.responses);
        if (!statuses.some((s) => /^2\d\d$/.test(s))) missing.push(`${name}: no success answer`);
        for (const [status, r] of Object.entries(op.responses)) {
          if (!Object.values(r.content ?? {}).some((c) => c.schema))
            missing.push(`${name}: ${status} has no schema`);
        }
        if (face === 'auth') {
          for (const status of ['400', '401', '429']) {
            const ref = op.responses[status]?.content?.['application/json']?.schema?.$ref;
            if (ref !== '#/components/schemas/ApiError') missing.push(`${name}: ${status}`);
          }
        }
      }
    }
    expect(seen).toEqual({ auth: 3, compat: 13 });
    expect(missing).toEqual([]);
  });

  it('answers the compatible faces and the dashboard session as documented', async () => {
    const check = async (method: string, path: string, opts: Parameters<TestApp['call']>[2] = {}) => {
      const res = await t.call(method, path, { auth: null, ...opts });
      oa.expectValid(method, path, res);
      return res;
    };
    const q = (o: Record<string, string>) => new URLSearchParams(o).toString();
    const admin = { username: 'admin', password: ADMIN_PASSWORD };
    const basic = (password: string) => ({
      authorization: `Basic ${Buffer.from(`admin:${password}`).toString('base64')}`,
    });
    // Kannel sendsms: 202 and its refusals, text/plain.
    expect(
      (await check('GET', `/cgi-bin/sendsms?${q({ ...admin, to: '+15555550130', text: 'k' })}`)).status,
    ).toBe(202);
    expect((await check('GET', `/cgi-bin/sendsms?${q({ ...admin, password: 'wrong' })}`)).status).toBe(403);
    expect((await check('GET', `/cgi-bin/sendsms?${q(admin)}`)).status).toBe(400);
    // Jasmin HTTP API.
    expect((await check('GET', `/send?${q({ ...admin, to: '+15555550131', content: 'j' })}`)).status).toBe(
      200,
    );
    expect((await check('GET', `/send?${q({ ...admin, to: '+15555550131' })}`)).status).toBe(400);
    expect((await check('GET', `/balance?${q(admin)}`)).status).toBe(200);
    expect((await check('GET', `/balance?${q({ ...admin, password: 'wrong' })}`)).status).toBe(403);
    expect((await check('GET', `/rate?${q({ ...admin, to: '+15555550131', content: 'j' })}`)).status).toBe(
      200,
    );
    expect((await check('GET', '/ping')).status).toBe(200);
    // Jasmin REST API.
    const rest = { headers: basic(ADMIN_PASSWORD) };
    const send = await check('POST', '/secure/send', {
      ...rest,
      body: JSON.stringify({ to: '+15555550132', content: 'r' }),
      headers: { ...rest.headers, 'content-type': 'application/json' },
    });
    expect(send.status).toBe(200);
    const batch = await check('POST', '/secure/sendbatch', {
      body: JSON.stringify({ messages: [{ to: '+15555550133', content: 'b' }] }),
      headers: { ...rest.headers, 'content-type': 'application/json' },
    });
    expect(batch.status).toBe(200);
    expect((await check('GET', '/secure/balance', rest)).status).toBe(200);
    expect((await check('GET', `/secure/rate?${q({ to: '+15555550133' })}`, rest)).status).toBe(200);
    expect((await check('GET', '/secure/balance')).status).toBe(401);
    expect((await check('GET', '/secure/balance', { headers: basic('wrong') })).status).toBe(403);
    // playSMS: always 200, the outcome in the body.
    const pv = await check(
      'GET',
      `/index.php?${q({ app: 'ws', u: 'admin', h: ADMIN_KEY, op: 'pv', to: '+15555550134', msg: 'p' })}`,
    );
    expect(pv.body.data[0].status).toBe('OK');
    const ds = await check(
      'GET',
      `/index.php?${q({ app: 'ws', u: 'admin', h: ADMIN_KEY, op: 'ds', smslog_id: pv.body.data[0].smslog_id })}`,
    );
    expect(ds.body.data).toHaveLength(1);
    expect(
      (await check('GET', `/index.php?${q({ app: 'ws', u: 'admin', h: 'nope', op: 'pv' })}`)).body.error,
    ).toBe('100');
    // The dashboard session, and its errors in the shared shape.
    const login = await check('POST', '/auth/login', { body: { login: 'admin', password: ADMIN_PASSWORD } });
    expect(login.status).toBe(200);
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] as string;
    expect((await check('GET', '/auth/session', { headers: { cookie } })).body.csrf_token).toBe(
      login.body.csrf_token,
    );
    expect((await check('POST', '/auth/login', { body: { login: 'admin', password: 'wrong' } })).status).toBe(
      401,
    );
    expect((await check('POST', '/auth/login', { body: { login: 'admin' } })).status).toBe(400);
    const out = await check('POST', '/auth/logout', {
      headers: { cookie, 'x-csrf-token': login.body.csrf_token },
    });
    expect(out.body).toEqual({ logged_out: true });
    expect((await check('GET', '/auth/session', { headers: { cookie } })).status).toBe(401);
  });
});
