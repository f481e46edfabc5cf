/** Webhooks, change feed, inbound, keywords, opt-out and follow-ups, end to end through the simulator. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verify } from '../../src/delivery/signing.js';
import type { TestApp } from '../support/app.js';
import { eventually, startTestApp, userWithSimulator } from '../support/app.js';
import type { Receiver } from '../support/receiver.js';
import { startReceiver } from '../support/receiver.js';

describe('delivery tracking and inbound', () => {
  let t: TestApp;
  let rx: Receiver;
  let key: string;
  let channelId: string;
  let secret: string;

  beforeAll(async () => {
    t = await startTestApp({ SMSGW_SIMULATOR: 'false', SMSGW_WEBHOOK_RETRY_BASE_MS: '100' });
    rx = await startReceiver();
    ({ channelId } = await userWithSimulator(
      t,
      { login: 'hooks', password: 'hooks-password' },
      { name: 'sim-hooks', rules: [{ prefix: '+1555555099', outcome: 'last_part_fails' }] },
    ));
    key = (await t.call('POST', '/v1/keys', { auth: 'hooks:hooks-password', body: { name: 'k' } })).body.key;
    secret = (await t.call('GET', '/v1/settings', { auth: key })).body.webhook_secret;
  });
  afterAll(async () => {
    await t.stop();
    await rx.close();
  });

  const send = (body: Record<string, unknown>) => t.call('POST', '/v1/messages', { auth: key, body });
  const statusHooks = (id: string) => rx.received.filter((r) => r.json?.message_id === id);

  it('posts signed status webhooks in order, retries a down receiver with the same event id', async () => {
    rx.failNext(2);
    const r = await send({
      to: '+15555550100',
      text: 'hook me',
      callback_url: `${rx.url}/status`,
      client_ref: 'c-1',
    });
    const id = r.body.messages[0].id;
    const hooks = await eventually(async () => {
      const h = statusHooks(id);
      return h.filter((x) => x.json.status === 'delivered').length === 1 && h.length >= 4 ? h : undefined;
    });
    // Two failed tries of "sent", then "sent", then "delivered": nothing lost, order kept.
    expect(hooks.map((h) => h.json.status)).toEqual(['sent', 'sent', 'sent', 'delivered']);
    expect(new Set(hooks.slice(0, 3).map((h) => h.json.event_id)).size).toBe(1);
    expect(hooks[3]!.json).toMatchObject({
      message_id: id,
      to: '+15555550100',
      segments: 1,
      client_ref: 'c-1',
      error_code: null,
    });
    for (const h of hooks) {
      expect(h.headers['x-smsgw-event-id']).toBe(h.json.event_id);
      expect(
        verify(
          secret,
          String(h.headers['x-smsgw-timestamp']),
          h.body,
          String(h.headers['x-smsgw-signature']),
        ),
      ).toBe(true);
      expect(
        verify(
          'whsec_wrong',
          String(h.headers['x-smsgw-timestamp']),
          h.body,
          String(h.headers['x-smsgw-signature']),
        ),
      ).toBe(false);
    }
    const log = await t.call('GET', `/v1/webhooks/deliveries?message_id=${id}`, { auth: key });
    const sentDelivery = log.body.data.find(
      (d: { payload: { status: string } }) => d.payload.status === 'sent',
    );
    expect(sentDelivery.status).toBe('delivered');
    expect(sentDelivery.attempts.map((a: { status_code: number }) => a.status_code)).toEqual([503, 503, 200]);
  });

  it('uses the account default webhook and reports a partially delivered multipart message', async () => {
    await t.call('PATCH', '/v1/settings', { auth: key, body: { webhook_url: `${rx.url}/default` } });
    const r = await send({ to: '+15555550990', text: 'y'.repeat(200) });
    const id = r.body.messages[0].id;
    const final = await eventually(async () => statusHooks(id).find((h) => h.json.status !== 'sent'));
    expect(final.path).toBe('/default');
    expect(final.json).toMatchObject({
      status: 'partially_delivered',
      error_code: 'absent_subscriber',
      segments: 2,
    });
    const m = await t.call('GET', `/v1/messages/${id}`, { auth: key });
    expect(m.body.parts.map((p: { status: string }) => p.status)).toEqual(['delivered', 'undelivered']);
    await t.call('PATCH', '/v1/settings', { auth: key, body: { webhook_url: null } });
  });

  it('serves a change feed that resumes from a cursor', async () => {
    const head = await t.call('GET', '/v1/events?after=0&limit=1000', { auth: key });
    const cursor = head.body.next_cursor;
    // "latest" gives the same cursor without reading the history (how the dashboard starts).
    const latest = await t.call('GET', '/v1/events?latest=true', { auth: key });
    expect(latest.body).toEqual({ data: [], next_cursor: cursor });
    const r = await send({ to: '+15555550101', text: 'feed' });
    const id = r.body.messages[0].id;
    const events = await eventually(async () => {
      const page = await t.call('GET', `/v1/events?after=${cursor}&wait=2`, { auth: key });
      const mine = page.body.data.filter((e: { message_id: string }) => e.message_id === id);
      return mine.some((e: { status: string }) => e.status === 'delivered') ? page.body : undefined;
    });
    expect(events.data.every((e: { id: number }) => e.id > cursor)).toBe(true);
    expect(
      events.data
        .filter((e: { message_id: string }) => e.message_id === id)
        .map((e: { status: string }) => e.status),
    ).toEqual(['queued', 'sending', 'sent', 'delivered']);
    const after = await t.call('GET', `/v1/events?after=${events.next_cursor}`, { auth: key });
    expect(after.body.data).toEqual([]);
  });

  it('round-trips STOP and START: confirmation, rejection while opted out, sending again after', async () => {
    const phone = '+15555550777';
    const inject = (text: string) =>
      t.call('POST', `/v1/channels/${channelId}/inbound`, { body: { from: phone, text } });
    expect((await inject('stop')).status).toBe(202);
    const confirm = await eventually(async () => {
      const list = await t.call('GET', `/v1/messages?to=${encodeURIComponent(phone)}`, { auth: key });
      return list.body.data[0];
    });
    expect(confirm.text).toMatch(/unsubscribed/);
    expect(
      (await t.call('GET', '/v1/opt-outs', { auth: key })).body.data.map((o: { number: string }) => o.number),
    ).toContain(phone);
    const blocked = await send({ to: [phone, '+15555550778'], text: 'promo' });
    expect(blocked.status).toBe(202);
    expect(blocked.body.messages[0]).toMatchObject({
      to: phone,
      status: 'rejected',
      error: { code: 'opted_out' },
    });
    expect(blocked.body.messages[1].status).toBe('queued');
    const stored = await t.call('GET', `/v1/messages/${blocked.body.messages[0].id}`, { auth: key });
    expect(stored.body).toMatchObject({ status: 'rejected', error: { code: 'opted_out' } });
    await inject('START');
    const again = await send({ to: phone, text: 'welcome back' });
    expect(again.body.messages[0].status).toBe('queued');
    const inbox = await t.call('GET', `/v1/inbound?from=${encodeURIComponent(phone)}`, { auth: key });
    expect(inbox.body.data.map((m: { keyword: string }) => m.keyword)).toEqual(['START', 'STOP']);
  });

  it('answers keyword rules with an auto-reply through the queue, tags and forwards', async () => {
    const phone = '+15555550888';
    const bad = await t.call('POST', '/v1/keywords', {
      auth: key,
      body: { match_type: 'regex', pattern: '(a+)+$', action: 'tag', tag: 'x' },
    });
    expect(bad.status).toBe(400);
    await t.call('POST', '/v1/keywords', {
      auth: key,
      body: {
        match_type: 'exact',
        pattern: 'price',
        action: 'auto_reply',
        reply_text: 'Hi {{from}}, it is 10 EUR',
      },
    });
    await t.call('POST', '/v1/keywords', {
      auth: key,
      body: { match_type: 'prefix', pattern: 'order', action: 'forward', forward_url: `${rx.url}/forward` },
    });
    await t.call('PATCH', '/v1/settings', { auth: key, body: { inbound_webhook_url: `${rx.url}/inbound` } });
    await t.call('POST', `/v1/channels/${channelId}/inbound`, { body: { from: phone, text: ' PRICE ' } });
    const replyMsg = await eventually(async () => {
      const list = await t.call('GET', `/v1/messages?to=${encodeURIComponent(phone)}`, { auth: key });
      return list.body.data.find((m: { status: string }) => m.status === 'delivered');
    });
    expect(replyMsg.text).toBe(`Hi ${phone}, it is 10 EUR`);
    await t.call('POST', `/v1/channels/${channelId}/inbound`, {
      body: { from: phone, text: 'order 42 please' },
    });
    const fwd = await eventually(async () => rx.received.find((r) => r.path === '/forward'));
    expect(fwd.json).toMatchObject({
      type: 'message.forward',
      from: phone,
      text: 'order 42 please',
      keyword: 'order',
    });
    const inboundHooks = await eventually(async () => {
      const h = rx.received.filter((r) => r.path === '/inbound');
      return h.length === 2 ? h : undefined;
    });
    expect(inboundHooks.map((h) => h.json.text)).toEqual([' PRICE ', 'order 42 please']);
    const convo = await t.call('GET', `/v1/conversations/${encodeURIComponent(phone)}`, { auth: key });
    expect(convo.body.data.map((i: { direction: string }) => i.direction)).toEqual([
      'inbound',
      'outbound',
      'inbound',
    ]);
  });

  it('sends a follow-up to the recipients of a batch with a given status', async () => {
    const r = await send({ to: ['+15555550501', '+15555550502', '+15555550990'], text: 'first wave' });
    const batch = r.body.batch_id;
    await eventually(async () => {
      const list = await t.call('GET', `/v1/messages?batch_id=${batch}`, { auth: key });
      return list.body.data.every((m: { status: string }) => ['delivered', 'undelivered'].includes(m.status))
        ? true
        : undefined;
    });
    const fu = await t.call('POST', '/v1/messages/follow-up', {
      auth: key,
      body: { batch_id: batch, status: 'delivered', text: 'thanks' },
    });
    expect(fu.status).toBe(202);
    expect(fu.body.messages.map((m: { to: string }) => m.to).sort()).toEqual([
      '+15555550501',
      '+15555550502',
    ]);
  });
});
