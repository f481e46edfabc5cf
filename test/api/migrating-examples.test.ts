/**
 * The seed's smsc.php example of docs/migrating.md, run as written: the request, its answer,
 * and the callback (the user's status webhook, set with PATCH /v1/settings) on a real socket.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../support/app.js';
import { eventually, startTestApp, userWithSimulator } from '../support/app.js';
import type { Receiver } from '../support/receiver.js';
import { startReceiver } from '../support/receiver.js';

describe('docs/migrating.md: smsc.php', () => {
  let t: TestApp;
  let rx: Receiver;
  const login = 'shop';
  const password = 'shop-password-1';

  beforeAll(async () => {
    t = await startTestApp({ SMSGW_SIMULATOR: 'false', SMSGW_WEBHOOK_RETRY_BASE_MS: '100' });
    rx = await startReceiver();
    await userWithSimulator(t, { login, password }, { name: 'docs-sim' });
  });
  afterAll(async () => {
    await t.stop();
    await rx.close();
  });

  it('sends with login/pass/tel/msg and calls the status webhook with sent then delivered', async () => {
    const settings = await t.call('PATCH', '/v1/settings', {
      auth: `${login}:${password}`,
      body: { webhook_url: `${rx.url}/status` },
    });
    expect(settings.status).toBe(200);
    const res = await fetch(
      `${t.url}/smsc.php?login=${login}&pass=${password}&tel=15555550700,15555550701&msg=Hello`,
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as { success: boolean; description: string; ids: string[] };
    expect(body).toMatchObject({ success: true, description: 'Saved to queue' });
    expect(body.ids).toHaveLength(2);
    const got = await eventually(async () => {
      const hits = rx.received.filter((r) => r.path === '/status' && r.json?.message_id === body.ids[0]);
      return hits.length >= 2 ? hits : undefined;
    });
    expect(got.map((h) => h.json.status)).toEqual(['sent', 'delivered']);
    expect(got[1]?.json).toMatchObject({ type: 'message.status', to: '+15555550700' });
    expect(got[1]?.headers['x-smsgw-signature']).toBeTruthy();
  });
});
