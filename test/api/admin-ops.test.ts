/**
 * The operators' additions (issue 18 item 6): keyword rules edited and switched (the switch takes
 * effect on the next inbound message), the admin audit log (written for admin changes, secrets
 * redacted, paged, admins only), and the CSV export naming channels and owners. SQLite, and
 * PostgreSQL when SMSGW_TEST_DATABASE_URL is set.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../support/app.js';
import { ADMIN_KEY, eventually, startTestApp } from '../support/app.js';
import { PG_URL, pgSchemaUrl } from '../support/db.js';

const backends = [
  { name: 'sqlite', env: async () => ({ env: {}, drop: async () => {} }) },
  ...(PG_URL
    ? [
        {
          name: 'postgres',
          env: async () => {
            const s = await pgSchemaUrl();
            return { env: { DATABASE_URL: s.url }, drop: s.drop };
          },
        },
      ]
    : []),
];

describe.each(backends)('operator API on $name', ({ env }) => {
  let t: TestApp;
  let drop: () => Promise<void>;
  let aliceId: string;
  let channelId: string;
  const ALICE = 'alice:alice-password';

  beforeAll(async () => {
    const e = await env();
    drop = e.drop;
    t = await startTestApp(e.env);
    const a = await t.call('POST', '/v1/users', { body: { login: 'alice', password: 'alice-password' } });
    expect(a.status).toBe(201);
    aliceId = a.body.id;
    // Alice's own channel, so inbound on it runs her keyword rules.
    const c = await t.call('POST', '/v1/channels', {
      body: { name: 'alice-sim', type: 'simulator', owner_id: aliceId, config: { deliveryDelayMs: 10 } },
    });
    expect(c.status).toBe(201);
    channelId = c.body.id;
  });
  afterAll(async () => {
    await t?.stop();
    await drop?.();
  });

  const inboundKeyword = async (from: string, text: string) => {
    const r = await t.call('POST', `/v1/channels/${channelId}/inbound`, { body: { from, text } });
    expect(r.status).toBeLessThan(300);
    // Waits for a match: the keyword is set when a rule matched.
    return eventually(async () => {
      const list = await t.call('GET', `/v1/inbound?from=${encodeURIComponent(from)}`, { auth: ALICE });
      const m = list.body.data.find(
        (x: { text: string; keyword: string | null }) => x.text === text && x.keyword,
      );
      return m ? { keyword: m.keyword as string } : undefined;
    });
  };

  it('edits and switches a keyword rule; a disabled rule does not match inbound, enabled again it does', async () => {
    const created = await t.call('POST', '/v1/keywords', {
      auth: ALICE,
      body: { match_type: 'exact', pattern: 'menu', action: 'tag', tag: 'menu' },
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    // A second rule that stays on: inbound runs in arrival order, so once a later "ping" is
    // tagged, the rules of every earlier message have run.
    await t.call('POST', '/v1/keywords', {
      auth: ALICE,
      body: { match_type: 'exact', pattern: 'ping', action: 'tag', tag: 'ping' },
    });
    const ranBefore = async () => expect((await inboundKeyword('+15555550409', 'ping')).keyword).toBe('ping');
    expect((await inboundKeyword('+15555550401', 'MENU')).keyword).toBe('menu');

    const off = await t.call('PATCH', `/v1/keywords/${id}`, { auth: ALICE, body: { enabled: false } });
    expect(off.status).toBe(200);
    expect(off.body).toMatchObject({ id, enabled: false, pattern: 'menu', tag: 'menu' });
    const r = await t.call('POST', `/v1/channels/${channelId}/inbound`, {
      body: { from: '+15555550402', text: 'menu' },
    });
    expect(r.status).toBeLessThan(300);
    await ranBefore();
    const inbox = await t.call('GET', '/v1/inbound?from=%2B15555550402', { auth: ALICE });
    expect(inbox.body.data.map((m: { keyword: string | null }) => m.keyword)).toEqual([null]);

    const edited = await t.call('PATCH', `/v1/keywords/${id}`, {
      auth: ALICE,
      body: { enabled: true, match_type: 'prefix', pattern: 'hours', priority: 5 },
    });
    expect(edited.body).toMatchObject({ enabled: true, match_type: 'prefix', pattern: 'hours', priority: 5 });
    expect((await inboundKeyword('+15555550403', 'hours today?')).keyword).toBe('hours');
    expect((await t.call('GET', '/v1/keywords', { auth: ALICE })).body.data).toHaveLength(2);
  });

  it('refuses a bad edit with a code, and another user cannot touch the rule', async () => {
    const created = await t.call('POST', '/v1/keywords', {
      auth: ALICE,
      body: { match_type: 'exact', pattern: 'x1', action: 'tag', tag: 'x' },
    });
    const id = created.body.id as string;
    const regex = await t.call('PATCH', `/v1/keywords/${id}`, {
      auth: ALICE,
      body: { match_type: 'regex', pattern: '(a+)+$' },
    });
    expect(regex.status).toBe(400);
    expect(regex.body.error).toMatchObject({ code: 'validation_failed', field: 'pattern' });
    const needs = await t.call('PATCH', `/v1/keywords/${id}`, {
      auth: ALICE,
      body: { action: 'auto_reply' },
    });
    expect(needs.status).toBe(400);
    expect(needs.body.error.field).toBe('reply_text');
    const unknown = await t.call('PATCH', `/v1/keywords/${id}`, { auth: ALICE, body: { enabeld: false } });
    expect(unknown.status).toBe(400);
    // The admin is another owner: not found, not forbidden (no hint the id exists).
    const other = await t.call('PATCH', `/v1/keywords/${id}`, { body: { enabled: false } });
    expect(other.status).toBe(404);
    expect(other.body.error.code).toBe('not_found');
    const still = (await t.call('GET', '/v1/keywords', { auth: ALICE })).body.data.find(
      (r: { id: string }) => r.id === id,
    );
    expect(still).toMatchObject({ enabled: true, match_type: 'exact', pattern: 'x1' });
  });

  it('logs admin actions with their actor, subject and redacted fields; users get 403', async () => {
    const u = await t.call('POST', '/v1/users', { body: { login: 'carol', password: 'carol-password' } });
    const role = await t.call('PATCH', `/v1/users/${u.body.id}`, { body: { role: 'admin' } });
    expect(role.status).toBe(200);
    const pw = await t.call('PATCH', `/v1/users/${u.body.id}`, { body: { password: 'new-password-1' } });
    expect(pw.status).toBe(200);
    const refused = await t.call('PATCH', `/v1/users/${u.body.id}`, { body: { role: 'nobody' } });
    expect(refused.status).toBe(400);

    const log = await t.call('GET', '/v1/audit?subject_kind=users');
    expect(log.status).toBe(200);
    const forCarol = log.body.data.filter((e: { subject_id: string }) => e.subject_id === u.body.id);
    // Newest first: the password change, the role change, the creation; the refused one is not there.
    expect(forCarol.map((e: { action: string }) => e.action)).toEqual([
      'PATCH /v1/users/:id',
      'PATCH /v1/users/:id',
      'POST /v1/users',
    ]);
    expect(forCarol[0]).toMatchObject({ actor_login: 'admin', status: 200, subject_kind: 'users' });
    expect(forCarol[0].details.body).toEqual({ password: '[redacted]' });
    expect(forCarol[1].details.body).toEqual({ role: 'admin' });
    expect(JSON.stringify(log.body)).not.toContain('carol-password');
    expect(JSON.stringify(log.body)).not.toContain('new-password-1');

    // Keyword rules and channels are audited too; reading is not.
    const kinds = (await t.call('GET', '/v1/audit?limit=500')).body.data.map(
      (e: { subject_kind: string }) => e.subject_kind,
    );
    expect(kinds).toContain('keywords');
    expect(kinds).toContain('channels');

    const user = await t.call('GET', '/v1/audit', { auth: ALICE });
    expect(user.status).toBe(403);
    expect(user.body.error.code).toBe('forbidden');
    expect((await t.call('GET', '/v1/audit', { auth: null })).status).toBe(401);
    expect((await t.call('GET', '/v1/audit?cursor=zzz')).body.error.code).toBe('invalid_cursor');
  });

  it('pages the audit log by next_cursor without repeats', async () => {
    for (let i = 0; i < 5; i++)
      await t.call('POST', '/v1/keys', { body: { name: `k${i}`, user_id: aliceId } });
    const seen: string[] = [];
    let cursor: string | null = '';
    while (cursor !== null) {
      const page: { body: { data: { id: string }[]; next_cursor: string | null } } = await t.call(
        'GET',
        `/v1/audit?subject_kind=keys&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(page.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.data.map((e) => e.id));
      cursor = page.body.next_cursor;
    }
    expect(seen).toHaveLength(5);
    expect(new Set(seen).size).toBe(5);
    expect([...seen].sort().reverse()).toEqual(seen);
  });

  it("exports the channel's name and, for admins, the owner's login", async () => {
    const sent = await t.call('POST', '/v1/messages', {
      auth: ALICE,
      body: { to: '+15555550501', text: 'export me', channel_id: channelId },
    });
    expect(sent.status).toBe(202);
    await eventually(async () => {
      const m = await t.call('GET', `/v1/messages/${sent.body.messages[0].id}`, { auth: ALICE });
      return m.body.channel_id ? true : undefined;
    });
    const csv = async (auth: string) => {
      const authorization = auth.includes(':')
        ? `Basic ${Buffer.from(auth).toString('base64')}`
        : `Bearer ${auth}`;
      const res = await fetch(`${t.url}/v1/messages/export`, { headers: { authorization } });
      const lines = (await res.text())
        .replace(/^\uFEFF/, '')
        .trimEnd()
        .split('\r\n');
      const head = (lines[0] as string).split(',');
      const row = (lines.find((l) => l.includes('export me')) as string).split(',');
      return Object.fromEntries(head.map((h, i) => [h, row[i]]));
    };
    const mine = await csv(ALICE);
    expect(mine.channel_id).toBe(channelId);
    expect(mine.channel_name).toBe('alice-sim');
    expect(mine).not.toHaveProperty('owner_login');
    const admin = await csv(ADMIN_KEY);
    expect(admin).toMatchObject({ channel_id: channelId, channel_name: 'alice-sim', owner_login: 'alice' });
  });
});
