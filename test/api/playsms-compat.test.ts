/**
 * playSMS-compatible webservices through a real gateway: `op=pv` to two numbers with `u` and
 * `h` (an smsgw API key of that user), `op=ds` by smslog_id until delivered, and playSMS's
 * ERR codes (100 authentication, 101 unknown operation, 201 empty destination or message).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../support/app.js';
import { eventually, startTestApp, userWithSimulator } from '../support/app.js';

describe('playSMS webservices', () => {
  let t: TestApp;
  let key: string;
  const login = 'playsmsapp';
  const password = 'playsms-password';

  beforeAll(async () => {
    t = await startTestApp({ SMSGW_SIMULATOR: 'false' });
    await userWithSimulator(t, { login, password }, { name: 'playsms-sim' });
    const k = await t.call('POST', '/v1/keys', { auth: `${login}:${password}`, body: { name: 'playsms' } });
    expect(k.status).toBe(201);
    key = k.body.key;
  });
  afterAll(async () => {
    await t.stop();
  });

  const ws = async (query: string) => {
    const res = await fetch(`${t.url}/index.php?app=ws&${query}`);
    return { status: res.status, body: (await res.json()) as any };
  };

  it('op=pv sends to each number; op=ds reports the status until delivered', async () => {
    const r = await ws(
      `u=${login}&h=${encodeURIComponent(key)}&op=pv&to=%2B15555550600,%2B15555550601&msg=test+only&from=1234`,
    );
    expect(r.status).toBe(200);
    expect(r.body.error_string).toBeNull();
    expect(r.body.data).toHaveLength(2);
    for (const [i, d] of (r.body.data as any[]).entries()) {
      expect(d).toMatchObject({ status: 'OK', error: '0', to: `+1555555060${i}` });
      expect(typeof d.smslog_id).toBe('string');
      expect(d.queue).toBe(r.body.data[0].queue);
    }
    const id = r.body.data[0].smslog_id;
    const ds = await eventually(async () => {
      const s = await ws(`u=${login}&h=${encodeURIComponent(key)}&op=ds&smslog_id=${id}`);
      return s.body.data?.[0]?.status === 3 ? s : undefined;
    });
    expect(ds.body.data[0]).toMatchObject({
      smslog_id: id,
      dst: '+15555550600',
      src: '1234',
      msg: 'test only',
    });
    expect(ds.body.data[0].dt).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  });

  it('answers playSMS error codes', async () => {
    expect((await ws(`u=${login}&h=nope&op=pv&to=15555550600&msg=x`)).body).toMatchObject({
      status: 'ERR',
      error: '100',
      error_string: 'authentication failed',
    });
    // The key of this user with another login is refused too.
    expect((await ws(`u=admin&h=${encodeURIComponent(key)}&op=pv&to=15555550600&msg=x`)).body.error).toBe(
      '100',
    );
    expect((await ws(`u=${login}&h=${encodeURIComponent(key)}&op=zz`)).body.error).toBe('101');
    expect((await ws(`u=${login}&h=${encodeURIComponent(key)}&op=pv&to=&msg=x`)).body.error).toBe('201');
    expect((await ws(`u=${login}&h=${encodeURIComponent(key)}&op=ds&smslog_id=missing`)).body.error).toBe(
      '400',
    );
  });
});
