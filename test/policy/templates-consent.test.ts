/**
 * Issue 14 items 1, 4, 5 end to end on a real gateway (HTTP, seed API, SMPP face, simulator
 * channels), on SQLite and on PostgreSQL: templates and signatures through review, templates-only
 * accounts on every way in, opt-in consent with STOP, quiet hours held and released (fake
 * clock), erasure of a number's personal data.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { STATUS } from '../../src/codec/smpp-pdu.js';
import type { TestApp } from '../support/app.js';
import { eventually, startTestApp } from '../support/app.js';
import { PG_URL, pgSchemaUrl } from '../support/db.js';
import { Client } from '../support/esme.js';
import { freePort } from '../support/net.js';

const DATABASES = ['sqlite', ...(PG_URL ? ['postgres'] : [])] as const;

for (const database of DATABASES) {
  describe(`templates, consent, quiet hours, erasure (${database})`, () => {
    let t: TestApp;
    let drop: (() => Promise<void>) | undefined;
    let smppPort: number;
    const users: Record<string, { id: string; key: string; channel?: string }> = {};

    /** SMPP 3.4 passwords are at most 8 characters: `strict` binds over SMPP with `strictpw`. */
    const password = (login: string) => (login === 'strict' ? 'strictpw' : `${login}-password`);

    async function user(login: string, withChannel = false) {
      const created = await t.call('POST', '/v1/users', { body: { login, password: password(login) } });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const key = (
        await t.call('POST', '/v1/keys', { auth: `${login}:${password(login)}`, body: { name: 'k' } })
      ).body.key as string;
      const u: { id: string; key: string; channel?: string } = { id: created.body.id, key };
      if (withChannel) {
        const ch = await t.call('POST', '/v1/channels', {
          body: {
            name: `sim-${login}`,
            type: 'simulator',
            owner_id: u.id,
            config: { latencyMs: 1, deliveryDelayMs: 10, successRate: 1 },
          },
        });
        expect(ch.status, JSON.stringify(ch.body)).toBe(201);
        u.channel = ch.body.id;
      }
      users[login] = u;
      return u;
    }

    /** Submits a template or signature as the user and has the admin approve it. */
    async function approved(login: string, path: '/v1/templates' | '/v1/signatures', body: object) {
      const made = await t.call('POST', path, { auth: users[login]!.key, body });
      expect(made.status, JSON.stringify(made.body)).toBe(201);
      const ok = await t.call('POST', `${path}/${made.body.id}/approve`);
      expect(ok.body.status).toBe('approved');
      return made.body.id as string;
    }

    const send = (login: string, body: object) =>
      t.call('POST', '/v1/messages', { auth: users[login]!.key, body });

    beforeAll(async () => {
      smppPort = await freePort();
      const env: Record<string, string> = { SMSGW_SIMULATOR: 'false', SMSGW_SMPP_PORT: String(smppPort) };
      if (database === 'postgres') {
        const schema = await pgSchemaUrl();
        drop = schema.drop;
        env.DATABASE_URL = schema.url;
      }
      t = await startTestApp(env);
      await user('acme', true);
      await user('shop', true);
      await user('strict');
      await user('later');
    });
    afterAll(async () => {
      vi.useRealTimers();
      await t?.stop();
      await drop?.();
    });

    it('takes a template through review: submitted, rejected with a reason, edited, approved, sent with params', async () => {
      const key = users.acme!.key;
      const sig = await t.call('POST', '/v1/signatures', { auth: key, body: { text: '【Acme】' } });
      expect(sig.status).toBe(201);
      expect(sig.body).toMatchObject({ status: 'pending', placement: 'prefix' });
      const made = await t.call('POST', '/v1/templates', {
        auth: key,
        body: {
          name: 'login code',
          text: 'Your code is {code}, valid {minutes} min',
          category: 'verification',
          variables: { code: { type: 'digits', max_length: 6 } },
        },
      });
      expect(made.status).toBe(201);
      expect(made.body).toMatchObject({ status: 'pending', category: 'verification' });
      const id = made.body.id as string;
      const to = '+4915112340001';
      const params = { code: '123456', minutes: 5 };

      const early = await send('acme', { to, template_id: id, params });
      expect(early.status).toBe(422);
      expect(early.body.error).toMatchObject({ code: 'template_not_approved', field: 'template_id' });
      // Users do not review; admins do, with a reason for a rejection.
      expect((await t.call('POST', `/v1/templates/${id}/approve`, { auth: key })).status).toBe(403);
      expect((await t.call('POST', `/v1/templates/${id}/reject`, { body: {} })).status).toBe(400);
      const rejected = await t.call('POST', `/v1/templates/${id}/reject`, {
        body: { reason: 'Name the service in the text' },
      });
      expect(rejected.body).toMatchObject({ status: 'rejected', reason: 'Name the service in the text' });
      const seen = await t.call('GET', `/v1/templates/${id}`, { auth: key });
      expect(seen.body).toMatchObject({ status: 'rejected', reason: 'Name the service in the text' });
      expect((await send('acme', { to, template_id: id, params })).body.error.message).toMatch(
        /Name the service/,
      );
      // A decided template is not decided again without an edit.
      expect((await t.call('POST', `/v1/templates/${id}/approve`)).status).toBe(409);

      const edited = await t.call('PATCH', `/v1/templates/${id}`, {
        auth: key,
        body: { text: 'Acme login: your code is {code}, valid {minutes} min' },
      });
      expect(edited.body).toMatchObject({ status: 'pending', reason: null });
      expect((await t.call('POST', `/v1/templates/${id}/approve`)).body.status).toBe('approved');

      // The signature is still under review: nothing goes out unsigned.
      const unsigned = await send('acme', { to, template_id: id, params });
      expect(unsigned.body.error.code).toBe('signature_not_approved');
      expect((await t.call('POST', `/v1/signatures/${sig.body.id}/approve`)).body.status).toBe('approved');

      const missing = await send('acme', { to, template_id: id, params: { code: '123456' } });
      expect(missing.status).toBe(400);
      expect(missing.body.error).toMatchObject({ code: 'missing_parameter', field: 'params.minutes' });
      const badType = await send('acme', { to, template_id: id, params: { code: '12ab', minutes: 5 } });
      expect(badType.status).toBe(400);
      expect(badType.body.error).toMatchObject({ code: 'validation_failed', field: 'params.code' });
      const both = await send('acme', { to, text: 'free text', template_id: id, params });
      expect(both.status).toBe(400);

      const sent = await send('acme', { to, template_id: id, params });
      expect(sent.status, JSON.stringify(sent.body)).toBe(202);
      expect(sent.body.messages[0].status).toBe('queued');
      const msg = await t.call('GET', `/v1/messages/${sent.body.messages[0].id}`, { auth: key });
      expect(msg.body.text).toBe('【Acme】Acme login: your code is 123456, valid 5 min');

      // Every change is an audit row: who, what, before and after, reason.
      const history = (await t.call('GET', `/v1/templates/${id}`, { auth: key })).body.history;
      expect(history.map((h: { action: string }) => h.action)).toEqual([
        'submitted',
        'rejected',
        'edited',
        'approved',
      ]);
      expect(history[1]).toMatchObject({
        before: 'pending',
        after: 'rejected',
        reason: 'Name the service in the text',
      });
      expect(history[2]).toMatchObject({ before: 'rejected', after: 'pending', actor_id: users.acme!.id });

      // Editing an approved template sends it back to review.
      const again = await t.call('PATCH', `/v1/templates/${id}`, { auth: key, body: { name: 'renamed' } });
      expect(again.body.status).toBe('pending');
      await t.call('POST', `/v1/templates/${id}/approve`);

      // The review queue is the admin's; another user sees none of acme's templates.
      const queue = await t.call('GET', '/v1/templates?status=pending');
      expect(queue.status).toBe(200);
      expect((await t.call('GET', `/v1/templates/${id}`, { auth: users.shop!.key })).status).toBe(404);
      expect((await t.call('GET', '/v1/templates', { auth: users.shop!.key })).body.data).toEqual([]);
      expect((await send('shop', { to, template_id: id, params })).status).toBe(404);
    });

    it('runs a campaign from an approved template, its variables filled per recipient', async () => {
      const id = await approved('acme', '/v1/templates', {
        name: 'campaign news',
        text: 'Hello {name}, the new season is here',
        category: 'notification',
      });
      const c = await t.call('POST', '/v1/campaigns', {
        auth: users.acme!.key,
        body: { template_id: id, audience: { recipients: [{ number: '+4915112349001', name: 'Anna' }] } },
      });
      expect(c.status, JSON.stringify(c.body)).toBe(201);
      const sent = await eventually(async () => {
        const r = await t.call('GET', `/v1/messages?to=${encodeURIComponent('+4915112349001')}`, {
          auth: users.acme!.key,
        });
        return r.body.data[0];
      });
      expect(sent.text).toContain('Hello Anna, the new season is here');
    });

    it('refuses plain text from a templates-only account on REST, the seed API and SMPP', async () => {
      const strict = users.strict!;
      // The account cannot lift the restriction itself.
      expect(
        (await t.call('PATCH', '/v1/policy', { auth: strict.key, body: { templates_only: true } })).status,
      ).toBe(403);
      const set = await t.call('PATCH', '/v1/policy', { body: { user_id: strict.id, templates_only: true } });
      expect(set.body.templates_only).toBe(true);

      const rest = await send('strict', { to: '+4915112340002', text: 'free text' });
      expect(rest.status).toBe(403);
      expect(rest.body.error.code).toBe('template_required');

      const seed = await t.call(
        'GET',
        `/smsc.php?login=strict&pass=strictpw&tel=4915112340002&msg=${encodeURIComponent('free text')}`,
        { auth: null },
      );
      expect(seed.status).toBe(403);
      expect(seed.body).toMatchObject({ success: false, error: { code: 'template_required' } });

      const esme = await Client.open(smppPort);
      expect((await esme.bind('strict', 'strictpw')).status).toBe(STATUS.ESME_ROK);
      expect((await esme.submit('4915112340002', 'free text')).status).toBe(STATUS.ESME_RSUBMITFAIL);
      esme.socket.destroy();

      // Campaigns too: plain text refused before anything is queued.
      const campaign = await t.call('POST', '/v1/campaigns', {
        auth: strict.key,
        body: { text: 'free text', audience: { recipients: [{ number: '+4915112340002' }] } },
      });
      expect(campaign.status).toBe(403);
      expect(campaign.body.error.code).toBe('template_required');

      // An approved template still goes.
      const id = await approved('strict', '/v1/templates', {
        name: 'shipped',
        text: 'Order {order} shipped',
        category: 'notification',
      });
      const ok = await send('strict', { to: '+4915112340002', template_id: id, params: { order: 'A-17' } });
      expect(ok.status).toBe(202);
      expect(ok.body.accepted).toBe(1);
      const nothing = await t.call('GET', '/v1/messages?to=%2B4915112340002', { auth: strict.key });
      expect(nothing.body.data.map((m: { text: string }) => m.text)).toEqual(['Order A-17 shipped']);
    });

    it('makes templates-only the default for new users only', async () => {
      const put = await t.call('PUT', '/v1/policy/defaults', { body: { templates_only: true } });
      expect(put.body.templates_only).toBe(true);
      try {
        // Created before the change: unchanged.
        expect((await send('later', { to: '+4915112340003', text: 'hello' })).status).toBe(202);
        const fresh = await user('fresh');
        expect((await t.call('GET', '/v1/policy', { auth: fresh.key })).body.templates_only).toBe(true);
        expect((await send('fresh', { to: '+4915112340003', text: 'hello' })).body.error.code).toBe(
          'template_required',
        );
      } finally {
        await t.call('PUT', '/v1/policy/defaults', { body: { templates_only: false } });
      }
    });

    it('requires opt-in for marketing: no consent refused, consent accepted, STOP revokes it', async () => {
      const shop = users.shop!;
      const number = '+4915112340004';
      await t.call('PATCH', '/v1/policy', { auth: shop.key, body: { consent_required: true } });
      const promo = await approved('shop', '/v1/templates', {
        name: 'promo',
        text: 'Sale: {pct}% off this week',
        category: 'marketing',
      });
      const code = await approved('shop', '/v1/templates', {
        name: 'code',
        text: 'Code {code}',
        category: 'verification',
      });
      const refused = await send('shop', { to: number, template_id: promo, params: { pct: 20 } });
      expect(refused.status).toBe(202);
      expect(refused.body.messages[0]).toMatchObject({ status: 'rejected', error: { code: 'no_consent' } });
      const stored = await t.call('GET', `/v1/messages/${refused.body.messages[0].id}`, { auth: shop.key });
      expect(stored.body).toMatchObject({ status: 'rejected', error: { code: 'no_consent' } });
      // Not marketing: no consent needed.
      const verification = await send('shop', { to: number, template_id: code, params: { code: '42' } });
      expect(verification.body.messages[0].status).toBe('queued');

      const noProof = await t.call('POST', '/v1/consents', {
        auth: shop.key,
        body: { number, source: 'web' },
      });
      expect(noProof.status).toBe(400);
      const consent = await t.call('POST', '/v1/consents', {
        auth: shop.key,
        body: {
          number,
          source: 'checkout form',
          text_shown: 'Send me offers',
          form_id: 'f-991',
          proof_ip: '203.0.113.9',
        },
      });
      expect(consent.status).toBe(201);
      const ok = await send('shop', { to: number, template_id: promo, params: { pct: 20 } });
      expect(ok.body.messages[0].status).toBe('queued');
      // Consent is per user: acme has none for this number, but acme does not require it either.
      expect(
        (await t.call('GET', `/v1/consents?number=${encodeURIComponent(number)}`, { auth: users.acme!.key }))
          .body,
      ).toMatchObject({ consented: false, data: [] });

      const stop = await t.call('POST', `/v1/channels/${shop.channel}/inbound`, {
        body: { from: number, text: 'STOP' },
      });
      expect(stop.status).toBe(202);
      const after = await t.call('GET', `/v1/consents?number=${encodeURIComponent(number)}`, {
        auth: shop.key,
      });
      expect(after.body.consented).toBe(false);
      expect(after.body.data[0]).toMatchObject({
        source: 'checkout form',
        form_id: 'f-991',
        revoked_by: 'stop',
      });
      // START lifts the opt-out, but consent to marketing has to be given again.
      await t.call('POST', `/v1/channels/${shop.channel}/inbound`, { body: { from: number, text: 'START' } });
      const again = await send('shop', { to: number, template_id: promo, params: { pct: 30 } });
      expect(again.body.messages[0]).toMatchObject({ status: 'rejected', error: { code: 'no_consent' } });

      // The data subject's export: JSON and CSV.
      const json = await t.call('GET', `/v1/consents/export?number=${encodeURIComponent(number)}`, {
        auth: shop.key,
      });
      expect(json.body.consents).toHaveLength(1);
      const csv = await t.call('GET', `/v1/consents/export?number=${encodeURIComponent(number)}&format=csv`, {
        auth: shop.key,
      });
      expect(csv.headers.get('content-type')).toMatch(/text\/csv/);
      const lines = (csv.body as string).trim().split('\r\n');
      expect(lines[0]).toMatch(/^id,owner_id,number,source/);
      expect(lines[1]).toContain('checkout form');
      expect(lines[1]).toContain('stop');
      // Revoking through the API.
      await t.call('POST', '/v1/consents', {
        auth: shop.key,
        body: { number, source: 'sms', form_id: 'kw' },
      });
      const del = await t.call('DELETE', `/v1/consents/${encodeURIComponent(number)}`, { auth: shop.key });
      expect(del.body.revoked).toBe(1);
    });

    it('holds a marketing message in quiet hours and releases it when the window ends', async () => {
      const acme = users.acme!;
      // A window around the present in Berlin: from an hour ago to two minutes from now.
      const wall = (ms: number) => {
        const p = new Intl.DateTimeFormat('en-GB', {
          timeZone: 'Europe/Berlin',
          hour: '2-digit',
          minute: '2-digit',
          hourCycle: 'h23',
        }).format(ms);
        return p;
      };
      const now = Date.now();
      const start = wall(now - 3_600_000);
      const end = wall(now + 120_000);
      const set = await t.call('PATCH', '/v1/policy', {
        auth: acme.key,
        body: { quiet_hours: [{ category: 'marketing', start, end }] },
      });
      expect(set.status, JSON.stringify(set.body)).toBe(200);
      const promo = await approved('acme', '/v1/templates', {
        name: 'promo',
        text: 'New arrivals: {what}',
        category: 'marketing',
      });
      const held = await send('acme', {
        to: '+4915112340005',
        template_id: promo,
        params: { what: 'boots' },
      });
      expect(held.body.messages[0].status).toBe('scheduled');
      const id = held.body.messages[0].id as string;
      const row = await t.app.store.messages.byId(id);
      expect(row?.status).toBe('scheduled');
      const until = row!.next_attempt_at;
      expect(until).toBeGreaterThan(now + 60_000);
      expect(until).toBeLessThanOrEqual(now + 121_000);
      expect(wall(until)).toBe(end);
      expect(until % 60_000).toBe(0);

      // Other categories are not held; a contact's or the request's zone overrides the number's.
      const code = await approved('acme', '/v1/templates', {
        name: 'c',
        text: 'Code {c}',
        category: 'verification',
      });
      const verification = await send('acme', {
        to: '+4915112340005',
        template_id: code,
        params: { c: '1' },
      });
      expect(verification.body.messages[0].status).toBe('queued');
      const zone = await t.call('PUT', `/v1/contacts/${encodeURIComponent('+4915112340006')}/time_zone`, {
        auth: acme.key,
        body: { time_zone: 'Pacific/Auckland' },
      });
      expect(zone.status).toBe(200);
      const viaContact = await send('acme', {
        to: '+4915112340006',
        template_id: promo,
        params: { what: 'hats' },
      });
      expect(viaContact.body.messages[0].status).toBe('queued');
      const viaRequest = await send('acme', {
        to: '+4915112340007',
        template_id: promo,
        params: { what: 'hats' },
        time_zone: 'Pacific/Auckland',
      });
      expect(viaRequest.body.messages[0].status).toBe('queued');
      expect((await send('acme', { to: '+4915112340007', text: 'x', time_zone: 'Mars/Base' })).status).toBe(
        400,
      );

      // Still held a little later; released once the clock passes the window's end.
      await new Promise((r) => setTimeout(r, 300));
      expect((await t.app.store.messages.byId(id))?.status).toBe('scheduled');
      // The window's end, brought forward: lease and schedule times come from the database's
      // clock (PostgreSQL's, which a fake Date cannot move), so the row's time moves instead.
      try {
        await t.app.store.db.kysely
          .updateTable('messages')
          .set({ next_attempt_at: Date.now() - 1_000 })
          .where('id', '=', id)
          .execute();
        t.app.dispatcher.poke();
        const done = await eventually(async () => {
          const m = await t.app.store.messages.byId(id);
          return m && ['sent', 'delivered'].includes(m.status) ? m : undefined;
        });
        expect(done.text).toContain('boots');
      } finally {
        await t.call('PATCH', '/v1/policy', { auth: acme.key, body: { quiet_hours: [] } });
      }
    });

    it('holds plain text from the seed API too when a window covers every category', async () => {
      const later = users.later!;
      const wall = (ms: number) =>
        new Intl.DateTimeFormat('en-GB', {
          timeZone: 'Europe/Berlin',
          hour: '2-digit',
          minute: '2-digit',
          hourCycle: 'h23',
        }).format(ms);
      const now = Date.now();
      await t.call('PATCH', '/v1/policy', {
        auth: later.key,
        body: { quiet_hours: [{ category: '*', start: wall(now - 3_600_000), end: wall(now + 600_000) }] },
      });
      const seed = await t.call(
        'GET',
        `/smsc.php?login=later&pass=${password('later')}&tel=4915112340009&msg=${encodeURIComponent('plain')}`,
        { auth: null },
      );
      expect(seed.status, JSON.stringify(seed.body)).toBe(200);
      const m = await t.app.store.messages.byId(seed.body.ids[0]);
      expect(m?.status).toBe('scheduled');
      expect(m!.next_attempt_at).toBeGreaterThan(now + 500_000);
      await t.call('PATCH', '/v1/policy', { auth: later.key, body: { quiet_hours: [] } });
    });

    it("erases a number's personal data for its owner: counts kept, number and text redacted", async () => {
      const shop = users.shop!;
      const number = '+4915112340008';
      const first = await send('shop', { to: number, text: 'Your parcel is at the door' });
      const other = await send('acme', { to: number, text: 'acme keeps this' });
      await t.call('POST', `/v1/channels/${shop.channel}/inbound`, {
        body: { from: number, text: 'Thanks, got it' },
      });
      await t.call('POST', '/v1/consents', {
        auth: shop.key,
        body: { number, source: 'web', proof_ip: '198.51.100.7' },
      });
      const sentId = first.body.messages[0].id as string;
      await eventually(async () => {
        const m = await t.app.store.messages.byId(sentId);
        return m && m.status !== 'queued' && m.status !== 'sending' ? m : undefined;
      });
      const before = (await t.call('GET', '/v1/messages?limit=500', { auth: shop.key })).body.data.length;
      // A queued message to the number is canceled, not sent with its text erased.
      const later = await send('shop', {
        to: number,
        text: 'see you',
        send_at: new Date(Date.now() + 3_600_000).toISOString(),
      });

      const erased = await t.call('POST', '/v1/privacy/erase', { auth: shop.key, body: { number } });
      expect(erased.status).toBe(200);
      expect(erased.body.erased).toMatchObject({ messages: 2, canceled: 1, inbound: 1, consents: 1 });

      expect(
        (await t.call('GET', `/v1/messages?to=${encodeURIComponent(number)}`, { auth: shop.key })).body.data,
      ).toEqual([]);
      const m = await t.call('GET', `/v1/messages/${sentId}`, { auth: shop.key });
      expect(m.body).toMatchObject({ to: '[erased]', text: '[erased]' });
      expect(['sent', 'delivered']).toContain(m.body.status);
      const canceled = await t.call('GET', `/v1/messages/${later.body.messages[0].id}`, { auth: shop.key });
      expect(canceled.body).toMatchObject({ status: 'canceled', to: '[erased]', text: '[erased]' });
      // Counts stay: the rows are all still there.
      expect((await t.call('GET', '/v1/messages?limit=500', { auth: shop.key })).body.data.length).toBe(
        before + 1,
      );
      const inbound = (await t.call('GET', '/v1/inbound', { auth: shop.key })).body.data;
      expect(inbound.some((i: { from: string }) => i.from === number)).toBe(false);
      expect(
        inbound.some((i: { from: string; text: string }) => i.from === '[erased]' && i.text === '[erased]'),
      ).toBe(true);
      expect(
        (await t.call('GET', `/v1/consents/export?number=${encodeURIComponent(number)}`, { auth: shop.key }))
          .body.consents,
      ).toEqual([]);
      // Another user's messages to the same number are that user's business.
      const kept = await t.call('GET', `/v1/messages/${other.body.messages[0].id}`, {
        auth: users.acme!.key,
      });
      expect(kept.body).toMatchObject({ to: number, text: 'acme keeps this' });
    });
  });
}
