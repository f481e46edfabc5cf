/** GET /v1/stats and GET /v1/messages/export through the real server and simulator. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../support/app.js';
import { eventually, startTestApp } from '../support/app.js';

describe('reports', () => {
  let t: TestApp;
  let alice: string;
  let bob: string;

  beforeAll(async () => {
    t = await startTestApp({});
    for (const login of ['alice', 'bob']) {
      await t.call('POST', '/v1/users', { body: { login, password: `${login}-password` } });
    }
    alice = (await t.call('POST', '/v1/keys', { auth: 'alice:alice-password', body: { name: 'k' } })).body
      .key;
    bob = (await t.call('POST', '/v1/keys', { auth: 'bob:bob-password', body: { name: 'k' } })).body.key;
    const r = await t.call('POST', '/v1/messages', {
      auth: alice,
      body: { to: ['+15555550101', '+15555550102', 'nope'], text: '=HYPERLINK("http://evil")' },
    });
    expect(r.body.accepted).toBe(2);
    await t.call('POST', '/v1/messages', {
      auth: alice,
      body: { to: '+15555550103', text: 'later, "quoted", with\nnewline', send_at: '2099-01-01T00:00:00Z' },
    });
    await t.call('POST', '/v1/messages', { auth: bob, body: { to: '+15555550199', text: 'bob only' } });
    // Wait until the simulator has finished alice's two immediate messages.
    await eventually(async () => {
      const l = await t.call('GET', '/v1/messages?status=delivered,undelivered,failed', { auth: alice });
      return l.body.data.length === 2 ? true : undefined;
    });
  });
  afterAll(() => t.stop());

  it("counts a user's own messages per day with totals and rate, and its queue", async () => {
    const since = new Date(Date.now() - 6 * 86_400_000).toISOString();
    const s = await t.call('GET', `/v1/stats?since=${since}&bucket=day&tz=Europe/Berlin`, { auth: alice });
    expect(s.status).toBe(200);
    expect(s.body.totals.messages).toBe(3);
    expect(s.body.totals.delivered + s.body.totals.failed).toBe(2);
    expect(s.body.totals.pending).toBe(1);
    expect((await t.call('GET', '/v1/queue', { auth: alice })).body).toEqual({
      queued: 0,
      scheduled: 1,
      sending: 0,
    });
    expect((await t.call('GET', '/v1/queue', { auth: bob })).body.scheduled).toBe(0);
    expect(s.body.series.length).toBeGreaterThanOrEqual(7);
    expect(s.body.series.reduce((n: number, p: { messages: number }) => n + p.messages, 0)).toBe(3);
    // Buckets start at Berlin midnight (22:00 or 23:00 UTC).
    expect(s.body.series[0].start).toMatch(/T2[23]:00:00.000Z$/);
    const admin = await t.call('GET', `/v1/stats?since=${since}`);
    expect(admin.body.totals.messages).toBeGreaterThanOrEqual(4);
    // An admin narrows to one user or one channel; a user cannot look at another user.
    const aliceId = (await t.call('GET', '/v1/me', { auth: alice })).body.id;
    const bobId = (await t.call('GET', '/v1/me', { auth: bob })).body.id;
    const one = await t.call('GET', `/v1/stats?since=${since}&user_id=${aliceId}`);
    expect(one.body.totals.messages).toBe(3);
    const sim = (await t.call('GET', '/v1/channels')).body.data[0].id;
    const viaSim = await t.call('GET', `/v1/stats?since=${since}&user_id=${aliceId}&channel_id=${sim}`);
    expect(viaSim.body.totals.messages).toBe(2); // the scheduled one has not gone through a channel
    // One request's progress: its batch only.
    const batch = (await t.call('GET', '/v1/messages?status=scheduled', { auth: alice })).body.data[0]
      .batch_id;
    const oneBatch = await t.call('GET', `/v1/stats?since=${since}&batch_id=${batch}`, { auth: alice });
    expect(oneBatch.body.totals).toMatchObject({ messages: 1, pending: 1 });
    const peek = await t.call('GET', `/v1/stats?since=${since}&user_id=${bobId}`, { auth: alice });
    expect(peek.status).toBe(403);
    expect((await t.call('GET', `/v1/queue?user_id=${bobId}`, { auth: alice })).status).toBe(403);
    expect((await t.call('GET', `/v1/queue?user_id=${aliceId}`)).body.scheduled).toBe(1);
  });

  it('rejects bad ranges and unknown time zones with a clear error', async () => {
    const since = new Date(Date.now() - 3_600_000).toISOString();
    const bad = await t.call('GET', `/v1/stats?since=${since}&tz=Mars/Olympus`, { auth: alice });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'validation_failed', field: 'tz' });
    const long = await t.call('GET', '/v1/stats?since=2000-01-01T00:00:00Z&bucket=hour', { auth: alice });
    expect(long.body.error.field).toBe('since');
    expect((await t.call('GET', '/v1/stats', { auth: alice })).status).toBe(400);
    expect((await t.call('GET', `/v1/stats?since=${since}`, { auth: null })).status).toBe(401);
  });

  it("exports the filtered history as CSV, safe to open in a spreadsheet, and only the caller's rows", async () => {
    const res = await fetch(`${t.url}/v1/messages/export`, { headers: { authorization: `Bearer ${alice}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(res.headers.get('content-disposition')).toMatch(/attachment; filename="messages-\d+\.csv"/);
    const csv = await res.text();
    const lines = csv.trimEnd().split('\r\n');
    expect(lines[0]).toMatch(/^id,batch_id,created_at,to,/);
    expect(csv).not.toContain('bob only');
    expect(csv).toContain(`"'=HYPERLINK(""http://evil"")"`);
    expect(csv).toContain('"later, ""quoted"", with\nnewline"');
    expect(csv).toContain(',+15555550101,');
    expect(lines).toHaveLength(1 + 3); // the newline inside a quoted cell is \n, records end in \r\n
    const filtered = await fetch(`${t.url}/v1/messages/export?status=scheduled`, {
      headers: { authorization: `Bearer ${alice}` },
    });
    expect((await filtered.text()).trimEnd().split('\r\n')).toHaveLength(2);
  });
});
