/** The seed's /smsc.php: exact status codes and bodies (seed 002, part 2). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../support/app.js';
import { startTestApp } from '../support/app.js';

describe('seed API /smsc.php', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ SMSGW_SIMULATOR: 'false' });
    await t.call('POST', '/v1/users', { body: { login: 'seeduser', password: 'seed-password' } });
    const blocked = await t.call('POST', '/v1/users', {
      body: { login: 'blockeduser', password: 'seed-password' },
    });
    await t.call('PATCH', `/v1/users/${blocked.body.id}`, { body: { status: 'blocked' } });
  });
  afterAll(() => t.stop());

  const get = (qs: string) => t.call('GET', `/smsc.php?${qs}`, { auth: null });

  it.each([
    ['tel=79001234567&msg=hi', 403, { success: false, description: 'Check your login and password' }],
    [
      'login=seeduser&tel=79001234567&msg=hi',
      403,
      { success: false, description: 'Check your login and password' },
    ],
    [
      'login=seeduser&pass=wrong&tel=79001234567&msg=hi',
      401,
      { success: false, description: 'User not found or login / password is incorrect' },
    ],
    [
      'login=nobody&pass=seed-password&tel=79001234567&msg=hi',
      401,
      { success: false, description: 'User not found or login / password is incorrect' },
    ],
    [
      'login=blockeduser&pass=seed-password&tel=79001234567&msg=hi',
      401,
      { success: false, description: 'User not found or login / password is incorrect' },
    ],
    [
      'login=seeduser&pass=seed-password&msg=hi',
      400,
      { success: false, description: 'Phone number is empty' },
    ],
    [
      'login=seeduser&pass=seed-password&tel=79001234567',
      400,
      { success: false, description: 'Message is empty' },
    ],
    [
      'login=seeduser&pass=seed-password&tel=79001234567&msg=',
      400,
      { success: false, description: 'Message is empty' },
    ],
  ])('%s → %i', async (qs, status, body) => {
    const r = await get(qs);
    expect(r.status).toBe(status);
    // The seed's own fields exactly, plus the error object every 4xx of the gateway carries.
    const { error, ...seed } = r.body;
    expect(seed).toEqual(body);
    expect(error).toMatchObject({ code: expect.any(String), message: body.description });
    expect(error).toHaveProperty('field');
  });

  it('queues every number of a comma-separated tel, with + and spaces stripped, and returns ids', async () => {
    const r = await get(
      `login=seeduser&pass=seed-password&tel=${encodeURIComponent('+7 900 123 45 67, 79001234568')}&msg=${encodeURIComponent('Тестовое сообщение')}&flash=1&replacemessages_id=1&attempts=3`,
    );
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ success: true, description: 'Saved to queue' });
    expect(r.body.ids).toHaveLength(2);
    const m = await t.call('GET', `/v1/messages/${r.body.ids[0]}`, { auth: 'seeduser:seed-password' });
    expect(m.body).toMatchObject({
      to: '+79001234567',
      text: 'Тестовое сообщение',
      flash: true,
      replace_id: 1,
      encoding: 'ucs2',
    });
  });

  it('takes the same parameters as a POST form', async () => {
    const r = await t.call('POST', '/smsc.php', {
      auth: null,
      body: 'login=seeduser&pass=seed-password&tel=447700900123&msg=Hello+from+a+form',
    });
    expect(r.status).toBe(200);
    expect(r.body.ids).toHaveLength(1);
  });
});

describe('per-user rate limit', () => {
  it('answers 429 with Retry-After once a user exceeds its rate', async () => {
    const t = await startTestApp({ SMSGW_SIMULATOR: 'false', SMSGW_USER_RATE_LIMIT: '5' });
    try {
      // A burst, all at once: one at a time on a loaded machine, the bucket (5/s) could refill
      // as fast as the requests came.
      const burst = await Promise.all(Array.from({ length: 15 }, () => t.call('GET', '/v1/me')));
      const statuses = burst.map((r) => r.status);
      // The bucket holds two seconds' worth: the first 10 pass, the rest are refused.
      expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(10);
      expect(statuses).toContain(429);
      const limited = await t.call('GET', '/v1/me');
      expect(limited.status).toBe(429);
      expect(limited.body.error.code).toBe('rate_limited');
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    } finally {
      await t.stop();
    }
  });
});
