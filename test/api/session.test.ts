/** Dashboard sessions: HttpOnly SameSite=Strict cookie, CSRF token required on unsafe requests. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../support/app.js';
import { ADMIN_PASSWORD, startTestApp } from '../support/app.js';

describe('dashboard sessions', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ SMSGW_SIMULATOR: 'false' });
  });
  afterAll(() => t.stop());

  const raw = (method: string, path: string, headers: Record<string, string>, body?: unknown) =>
    fetch(t.url + path, {
      method,
      headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });

  it('logs in, uses the cookie with the CSRF token, and logs out', async () => {
    expect((await raw('POST', '/auth/login', {}, { login: 'admin', password: 'wrong' })).status).toBe(401);
    const login = await raw('POST', '/auth/login', {}, { login: 'admin', password: ADMIN_PASSWORD });
    expect(login.status).toBe(200);
    const setCookie = login.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/smsgw_session=/);
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Strict/i);
    const cookie = setCookie.split(';')[0] as string;
    const { csrf_token: csrf } = (await login.json()) as { csrf_token: string };

    expect((await raw('GET', '/v1/me', { cookie })).status).toBe(200);
    expect(
      ((await (await raw('GET', '/auth/session', { cookie })).json()) as { csrf_token: string }).csrf_token,
    ).toBe(csrf);
    // A cross-site form has the cookie but not the token.
    const forged = await raw('POST', '/v1/messages', { cookie }, { to: '+15555550100', text: 'x' });
    expect(forged.status).toBe(403);
    expect(((await forged.json()) as { error: { field: string } }).error.field).toBe('X-CSRF-Token');
    const ok = await raw(
      'POST',
      '/v1/messages',
      { cookie, 'x-csrf-token': csrf },
      { to: '+15555550100', text: 'from the dashboard' },
    );
    expect(ok.status).toBe(202);

    expect((await raw('POST', '/auth/logout', { cookie })).status).toBe(403);
    expect((await raw('POST', '/auth/logout', { cookie, 'x-csrf-token': csrf })).status).toBe(200);
    expect((await raw('GET', '/v1/me', { cookie })).status).toBe(401);
  });
});
