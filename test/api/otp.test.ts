/**
 * OTP over HTTP on a real gateway: POST /v1/otp → 201 {id}, the code read from the message the
 * simulator channel sends, POST /v1/otp/verify → valid / invalid, the resend cooldown as a 429
 * with Retry-After, another account's OTP not found, bad input a 400 with a code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../support/app.js';
import { startTestApp } from '../support/app.js';

describe('OTP API', () => {
  let t: TestApp;
  const alice = 'otpuser:otp-password-1';
  const bob = 'otpother:otp-password-2';

  beforeAll(async () => {
    t = await startTestApp({ SMSGW_OTP_COOLDOWN_S: '30' });
    await t.call('POST', '/v1/users', { body: { login: 'otpuser', password: 'otp-password-1' } });
    await t.call('POST', '/v1/users', { body: { login: 'otpother', password: 'otp-password-2' } });
  });
  afterAll(async () => {
    await t.stop();
  });

  it('send, read the code from the sent message, verify', async () => {
    const sent = await t.call('POST', '/v1/otp', {
      auth: alice,
      body: { to: '+15555550400', template: 'Code: {code}', length: 5, replace: true },
    });
    expect(sent.status, JSON.stringify(sent.body)).toBe(201);
    expect(sent.body).toMatchObject({ to: '+15555550400', status: 'pending', attempts_left: 5 });
    const m = await t.call('GET', `/v1/messages/${sent.body.message_id}`, { auth: alice });
    expect(m.body.text).toMatch(/^Code: \d{5}$/);
    expect(m.body.replace_id).toBe(1);
    const code = (m.body.text as string).slice(6);
    const wrong = await t.call('POST', '/v1/otp/verify', {
      auth: alice,
      body: { id: sent.body.id, code: code === '00000' ? '11111' : '00000' },
    });
    expect(wrong.status).toBe(200);
    expect(wrong.body).toEqual({ status: 'invalid', attempts_left: 4 });
    const other = await t.call('POST', '/v1/otp/verify', { auth: bob, body: { id: sent.body.id, code } });
    expect(other.status).toBe(404);
    const ok = await t.call('POST', '/v1/otp/verify', { auth: alice, body: { id: sent.body.id, code } });
    expect(ok.body).toEqual({ status: 'valid', attempts_left: 0 });
    const state = await t.call('GET', `/v1/otp/${sent.body.id}`, { auth: alice });
    expect(state.body.status).toBe('verified');
    expect(JSON.stringify(state.body)).not.toContain(code);
  });

  it('resend within the cooldown is a 429 with Retry-After; bad input is a 400 with a code', async () => {
    const sent = await t.call('POST', '/v1/otp', { auth: alice, body: { to: '+15555550401' } });
    const again = await t.call('POST', `/v1/otp/${sent.body.id}/resend`, { auth: alice });
    expect(again.status).toBe(429);
    expect(again.body.error.code).toBe('rate_limited');
    expect(Number(again.headers.get('retry-after'))).toBeGreaterThan(0);
    const bad = await t.call('POST', '/v1/otp', { auth: alice, body: { to: '+15555550401', length: 40 } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('validation_failed');
    const noAuth = await t.call('POST', '/v1/otp', { auth: null, body: { to: '+15555550401' } });
    expect(noAuth.status).toBe(401);
  });

  it('a user default template and sender (PUT /v1/otp/settings) apply when the request names none', async () => {
    const put = await t.call('PUT', '/v1/otp/settings', {
      auth: bob,
      body: { template: 'Bob code {code}', from: 'BobShop' },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body).toEqual({ template: 'Bob code {code}', from: 'BobShop' });
    const sent = await t.call('POST', '/v1/otp', { auth: bob, body: { to: '+15555550402' } });
    const m = await t.call('GET', `/v1/messages/${sent.body.message_id}`, { auth: bob });
    expect(m.body.text).toMatch(/^Bob code \d{6}$/);
    expect(m.body.from).toBe('BobShop');
    // Another user keeps the default.
    expect((await t.call('GET', '/v1/otp/settings', { auth: alice })).body.template).toBe(
      'Your verification code is {code}',
    );
    const bad = await t.call('PUT', '/v1/otp/settings', { auth: bob, body: { template: 'no placeholder' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('template');
  });
});
