/**
 * Campaigns end to end on a real gateway (HTTP, database, dispatcher, simulator channel):
 * the msg/s cap over a whole run, pause and resume, send windows in two time zones, a
 * follow-up to the failed ones with the results export, cancel. SQLite, and PostgreSQL when
 * SMSGW_TEST_DATABASE_URL is set.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localMinutes } from '../../src/core/campaign.js';
import { ADMIN_KEY, eventually, startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { PG_URL, pgSchemaUrl } from '../support/db.js';

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

const numbers = (n: number, base: number) =>
  Array.from({ length: n }, (_, i) => ({
    number: `+3934${String(base + i).padStart(8, '0')}`,
    name: `R${i}`,
  }));

describe.each(backends)('campaigns ($name)', ({ env }) => {
  let t: TestApp;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const e = await env();
    drop = e.drop;
    // Failed submits are retried after 50 ms, not 15 s, so the follow-up test sees final statuses soon.
    t = await startTestApp({ ...e.env, SMSGW_RETRY_BASE_MS: '50' });
    const ch = await t.call('GET', '/v1/channels');
    await t.call('PATCH', `/v1/channels/${ch.body.data[0].id}`, {
      body: { config: { latencyMs: 1, deliveryDelayMs: 50, successRate: 1 }, max_in_flight: 500 },
    });
  });
  afterAll(async () => {
    await t?.stop();
    await drop?.();
  });

  const view = async (id: string) => (await t.call('GET', `/v1/campaigns/${id}`)).body;
  const done = (id: string, timeout = 60_000) =>
    eventually(async () => {
      const v = await view(id);
      return v.status === 'completed' ? v : undefined;
    }, timeout);
  const messagesOf = (id: string) =>
    t.app.store.db.kysely
      .selectFrom('messages')
      .select(['id', 'to', 'status', 'created_at', 'text'])
      .where('batch_id', '=', id)
      .orderBy('created_at')
      .execute();

  it('keeps to the msg/s cap over the run (2,000 at 200/s) and sends each recipient once', async () => {
    const r = await t.call('POST', '/v1/campaigns', {
      body: { name: 'rate', text: 'Hello {name}', audience: { recipients: numbers(2000, 0) }, rate: 200 },
    });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      status: 'scheduled',
      estimate: { recipients: 2000, segments_per_message: 1, segments: 2000 },
    });
    const v = await done(r.body.id);
    expect(v.progress).toMatchObject({ total: 2000, done: 2000, pending: 0 });
    const msgs = await messagesOf(r.body.id);
    expect(msgs).toHaveLength(2000);
    expect(new Set(msgs.map((m) => m.to)).size).toBe(2000);
    expect(msgs.find((m) => m.to === '+393400000007')?.text).toBe('Hello R7');
    const first = msgs[0]!.created_at;
    const last = msgs[msgs.length - 1]!.created_at;
    const rate = (msgs.length - 1) / ((last - first) / 1000);
    console.log(
      `campaign rate: ${rate.toFixed(1)} msg/s over ${((last - first) / 1000).toFixed(1)} s (cap 200)`,
    );
    expect(rate).toBeGreaterThan(180);
    expect(rate).toBeLessThan(220);
  }, 90_000);

  it('pauses (nothing more is accepted) and resumes to the end, each recipient once', async () => {
    const r = await t.call('POST', '/v1/campaigns', {
      body: { text: 'Pause test', audience: { recipients: numbers(600, 10_000) }, rate: 100 },
    });
    await eventually(async () => ((await messagesOf(r.body.id)).length >= 100 ? true : undefined));
    const paused = await t.call('POST', `/v1/campaigns/${r.body.id}/pause`);
    expect(paused.status).toBe(200);
    expect(paused.body.status).toBe('paused');
    await new Promise((res) => setTimeout(res, 300)); // a batch in flight at the pause is refused by the fence
    const atPause = (await messagesOf(r.body.id)).length;
    await new Promise((res) => setTimeout(res, 1500));
    expect((await messagesOf(r.body.id)).length).toBe(atPause);
    expect(atPause).toBeLessThan(600);
    expect((await t.call('POST', `/v1/campaigns/${r.body.id}/pause`)).status).toBe(409);
    expect((await t.call('POST', `/v1/campaigns/${r.body.id}/resume`)).body.status).toBe('scheduled');
    const v = await done(r.body.id);
    expect(v.progress.done).toBe(600);
    const msgs = await messagesOf(r.body.id);
    expect(msgs).toHaveLength(600);
    expect(new Set(msgs.map((m) => m.to)).size).toBe(600);
    expect((await t.call('POST', `/v1/campaigns/${r.body.id}/resume`)).status).toBe(409);
  }, 60_000);

  it('pauses a campaign whose owner is blocked mid-run (nothing more sent) and finishes it once unblocked', async () => {
    const login = `blocked-${Date.now()}`;
    const u = await t.call('POST', '/v1/users', { body: { login, password: `${login}-password` } });
    expect(u.status).toBe(201);
    const auth = `${login}:${login}-password`;
    const r = await t.call('POST', '/v1/campaigns', {
      auth,
      body: { text: 'Owner test', audience: { recipients: numbers(400, 20_000) }, rate: 50 },
    });
    expect(r.status).toBe(201);
    await eventually(async () => ((await messagesOf(r.body.id)).length >= 20 ? true : undefined));
    expect((await t.call('PATCH', `/v1/users/${u.body.id}`, { body: { status: 'blocked' } })).status).toBe(
      200,
    );
    await eventually(async () => ((await view(r.body.id)).status === 'paused' ? true : undefined), 10_000);
    const atBlock = (await messagesOf(r.body.id)).length;
    expect(atBlock).toBeLessThan(400);
    await new Promise((res) => setTimeout(res, 500));
    expect((await messagesOf(r.body.id)).length).toBe(atBlock);
    expect((await t.call('PATCH', `/v1/users/${u.body.id}`, { body: { status: 'active' } })).status).toBe(
      200,
    );
    expect((await t.call('POST', `/v1/campaigns/${r.body.id}/resume`, { auth })).body.status).toBe(
      'scheduled',
    );
    const v = await done(r.body.id);
    expect(v.progress.done).toBe(400);
    const msgs = await messagesOf(r.body.id);
    expect(new Set(msgs.map((m) => m.to)).size).toBe(400);
    expect(msgs).toHaveLength(400);
  }, 60_000);

  it('sends inside the window in recipient time: Rome now, New York later', async () => {
    const now = Date.now();
    const rome = localMinutes(now, 'Europe/Rome');
    // Open from 30 minutes ago to an hour ahead in Rome; New York (6 h behind) is outside.
    const clock = (m: number) =>
      `${String(Math.floor(((m + 1440) % 1440) / 60)).padStart(2, '0')}:${String(((m + 1440) % 1440) % 60).padStart(2, '0')}`;
    const g = await t.call('POST', '/v1/groups', { body: { name: 'two-zones' } });
    const people = [
      ['+393480000001', 'Europe/Rome'],
      ['+393480000002', 'Europe/Rome'],
      ['+12125550101', 'America/New_York'],
      ['+12125550102', 'America/New_York'],
      // No zone of its own: derived from the number (+39: Europe/Rome).
      ['+393480000003', undefined],
    ] as const;
    for (const [number, tz] of people) {
      const c = await t.call('POST', '/v1/contacts', {
        body: { number, time_zone: tz, group_ids: [g.body.id] },
      });
      expect(c.status).toBe(201);
    }
    const r = await t.call('POST', '/v1/campaigns', {
      body: {
        text: 'Window',
        audience: { group_ids: [g.body.id] },
        window: { start: clock(rome - 30), end: clock(rome + 60) },
        rate: 100,
      },
    });
    expect(r.body.window).toEqual({ start: clock(rome - 30), end: clock(rome + 60) });
    const v = await eventually(async () => {
      const x = await view(r.body.id);
      return x.status === 'scheduled' && x.progress.done === 3 ? x : undefined;
    });
    expect((await messagesOf(r.body.id)).map((m) => m.to).sort()).toEqual([
      '+393480000001',
      '+393480000002',
      '+393480000003',
    ]);
    expect(v.progress.pending).toBe(2);
    // They wait for 9 AM-ish New York time: the window's opening, hours from now.
    const nyWait = Date.parse(v.next_run_at) - now;
    const ny = localMinutes(now, 'America/New_York');
    expect(Math.round(nyWait / 60_000)).toBeGreaterThanOrEqual(((rome - 30 - ny + 1440) % 1440) - 1);
    expect(Math.round(nyWait / 60_000)).toBeLessThanOrEqual(((rome - 30 - ny + 1440) % 1440) + 1);
    expect((await t.call('POST', `/v1/campaigns/${r.body.id}/cancel`)).body.status).toBe('canceled');
  }, 60_000);

  it('follows up the failed ones; results export lists successes and failures', async () => {
    const ch = await t.call('GET', '/v1/channels');
    const id = ch.body.data[0].id;
    await t.call('PATCH', `/v1/channels/${id}`, {
      body: { config: { latencyMs: 1, deliveryDelayMs: 50, successRate: 0.5 } },
    });
    try {
      const r = await t.call('POST', '/v1/campaigns', {
        body: { text: 'First', audience: { recipients: numbers(60, 20_000) }, rate: 500 },
      });
      await done(r.body.id);
      const finals = await eventually(async () => {
        const ms = await messagesOf(r.body.id);
        return ms.every((m) => ['delivered', 'undelivered', 'failed', 'expired'].includes(m.status))
          ? ms
          : undefined;
      });
      const failed = finals
        .filter((m) => m.status !== 'delivered')
        .map((m) => m.to)
        .sort();
      expect(failed.length).toBeGreaterThan(5);
      expect(failed.length).toBeLessThan(55);
      const res = await fetch(`${t.url}/v1/campaigns/${r.body.id}/results.csv?outcome=failure`, {
        headers: { authorization: `Bearer ${ADMIN_KEY}` },
      });
      const rows = (await res.text()).trim().split('\r\n').slice(1);
      expect(rows.map((l) => l.split(',')[0]).sort()).toEqual(failed);
      const ok = await fetch(`${t.url}/v1/campaigns/${r.body.id}/results.csv?outcome=success`, {
        headers: { authorization: `Bearer ${ADMIN_KEY}` },
      });
      expect((await ok.text()).trim().split('\r\n').length - 1).toBe(60 - failed.length);

      await t.call('PATCH', `/v1/channels/${id}`, {
        body: { config: { latencyMs: 1, deliveryDelayMs: 50, successRate: 1 } },
      });
      const f = await t.call('POST', '/v1/campaigns', {
        body: {
          text: 'Second try',
          audience: { follow_up: { campaign_id: r.body.id, outcome: 'failed' } },
          rate: 500,
        },
      });
      expect(f.status).toBe(201);
      expect(f.body.progress.total).toBe(failed.length);
      await done(f.body.id);
      expect((await messagesOf(f.body.id)).map((m) => m.to).sort()).toEqual(failed);
    } finally {
      await t.call('PATCH', `/v1/channels/${id}`, {
        body: { config: { latencyMs: 1, deliveryDelayMs: 50, successRate: 1 } },
      });
    }
  }, 90_000);

  it('sends to a filter over contacts (a tag), skipping opted-out numbers as the policy refuses them', async () => {
    for (const [number, tags] of [
      ['+393490000001', ['vip']],
      ['+393490000002', ['vip', 'rome']],
      ['+393490000003', ['other']],
    ] as const) {
      expect((await t.call('POST', '/v1/contacts', { body: { number, tags } })).status).toBe(201);
    }
    const admin = (await t.app.store.users.byLogin('admin'))!;
    await t.app.store.optOuts.add(admin.id, '+393490000002', 'STOP');
    const r = await t.call('POST', '/v1/campaigns', {
      body: { text: 'VIP', audience: { contacts: { tag: 'vip' } }, rate: 100 },
    });
    expect(r.body.progress.total).toBe(2);
    const v = await done(r.body.id);
    const msgs = await messagesOf(r.body.id);
    expect(msgs.map((m) => [m.to, m.status === 'rejected' ? 'rejected' : 'ok']).sort()).toEqual([
      ['+393490000001', 'ok'],
      ['+393490000002', 'rejected'],
    ]);
    expect(v.progress.by_status.rejected).toBe(1);
  });

  it('refuses bad input with a code and the field; another user sees nothing', async () => {
    const bad = [
      [{ text: 'x', audience: {} }, 'audience'],
      [{ text: 'x', audience: { recipients: [{ number: 'abc' }] } }, 'audience.recipients[0].number'],
      [
        { text: 'x', audience: { recipients: [{ number: '+393330000000' }] }, time_zone: 'Mars/Base' },
        'time_zone',
      ],
      [
        {
          text: 'x',
          audience: { recipients: [{ number: '+393330000000' }] },
          window: { start: '9', end: '20:00' },
        },
        'window',
      ],
      [
        {
          text: 'x',
          audience: { recipients: [{ number: '+393330000000' }] },
          recurrence: { cron: 'every day' },
        },
        'recurrence.cron',
      ],
      [{ template_id: 't1', audience: { recipients: [{ number: '+393330000000' }] } }, 'template_id'],
    ] as const;
    for (const [body, field] of bad) {
      const r = await t.call('POST', '/v1/campaigns', { body });
      expect(r.status, JSON.stringify(body)).toBeGreaterThanOrEqual(400);
      expect(r.status).toBeLessThan(500);
      expect(r.body.error.field).toBe(field);
    }
    const mine = await t.call('POST', '/v1/campaigns', {
      body: { text: 'x', draft: true, audience: { recipients: [{ number: '+393330000000' }] } },
    });
    expect(mine.body.status).toBe('draft');
    await t.call('POST', '/v1/users', { body: { login: 'other-campaigns', password: 'other-password-1' } });
    const other = 'other-campaigns:other-password-1';
    expect((await t.call('GET', `/v1/campaigns/${mine.body.id}`, { auth: other })).status).toBe(404);
    expect((await t.call('POST', `/v1/campaigns/${mine.body.id}/cancel`, { auth: other })).status).toBe(404);
    expect((await t.call('GET', '/v1/campaigns', { auth: other })).body.data).toEqual([]);
    const follow = await t.call('POST', '/v1/campaigns', {
      auth: other,
      body: { text: 'x', audience: { follow_up: { campaign_id: mine.body.id, outcome: 'failed' } } },
    });
    expect(follow.status).toBe(400);
    expect((await t.call('POST', `/v1/campaigns/${mine.body.id}/cancel`)).body.status).toBe('canceled');
  });
});
