/**
 * An API that refuses what it cannot honour (issue 18): each input below used to be accepted
 * and silently misread. Each answer is a 400/415 with its code and the field.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../support/app.js';
import { startTestApp } from '../support/app.js';

describe('refused inputs', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ SMSGW_SIMULATOR: 'false' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  const send = (body: unknown) => t.call('POST', '/v1/messages', { body });

  it('send_at a year in the past → send_at_in_past; a minute ago is clock skew and sends', async () => {
    const lastYear = new Date(Date.now() - 365 * 86_400_000).toISOString();
    const r = await send({ to: '+15550000001', text: 'hi', send_at: lastYear });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'send_at_in_past', field: 'send_at' });
    const skew = await send({
      to: '+15550000001',
      text: 'hi',
      send_at: new Date(Date.now() - 60_000).toISOString(),
    });
    expect(skew.status).toBe(202);
    expect(skew.body.messages[0].status).toBe('queued');
  });

  it('an unknown field → unknown_field naming it, and nothing is queued', async () => {
    const mine = () => t.call('GET', `/v1/messages?to=${encodeURIComponent('+15550000002')}`);
    expect((await mine()).body.data).toEqual([]);
    const r = await send({ to: '+15550000002', text: 'hi', sender: 'ACME' });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'unknown_field', field: 'sender' });
    expect(r.body.error.message).toContain('sender');
    expect((await mine()).body.data).toEqual([]);
    const q = await t.call('GET', '/v1/messages?to=%2B15550000002&colour=red');
    expect(q.status).toBe(400);
    expect(q.body.error).toMatchObject({ code: 'unknown_field', field: 'colour' });
  });

  it('blank text → blank_text; empty text → missing_parameter', async () => {
    const r = await send({ to: '+15550000003', text: '   \n\t ' });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'blank_text', field: 'text' });
    const e = await send({ to: '+15550000003', text: '' });
    expect(e.status).toBe(400);
    expect(e.body.error.code).toBe('missing_parameter');
  });

  it('JSON sent as text/plain → 415', async () => {
    const r = await t.call('POST', '/v1/messages', {
      body: JSON.stringify({ to: '+15550000004', text: 'hi' }),
      headers: { 'content-type': 'text/plain' },
    });
    expect(r.status).toBe(415);
    expect(r.body.error.code).toBe('unsupported_media_type');
  });

  it('garbage cursors → invalid_cursor', async () => {
    for (const path of ['/v1/messages?cursor=zzz', "/v1/inbound?cursor=1'%20or%201=1"]) {
      const r = await t.call('GET', path);
      expect(r.status).toBe(400);
      expect(r.body.error).toMatchObject({ code: 'invalid_cursor', field: 'cursor' });
    }
    const ok = await t.call('GET', '/v1/messages?limit=1');
    const next = ok.body.next_cursor as string;
    expect((await t.call('GET', `/v1/messages?cursor=${next}`)).status).toBe(200);
  });
});
