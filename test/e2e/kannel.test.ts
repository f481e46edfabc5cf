/**
 * Interop with a real third-party ESME: Kannel (Debian's bearerbox + smsbox) binds to smsgw's
 * SMPP server face as a transceiver. Messages sent through Kannel's /cgi-bin/sendsms arrive in
 * smsgw with the right text, encoding and flags; receipts reach Kannel's dlr-url; an inbound
 * message for the user reaches Kannel's sms-service.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../support/app.js';
import { eventually, startTestApp } from '../support/app.js';
import { findKannel, kannelConfig } from '../support/kannel.js';
import { freePort } from '../support/net.js';
import type { Receiver } from '../support/receiver.js';
import { startReceiver } from '../support/receiver.js';

const SBIN = findKannel() ?? '';

describe.skipIf(!SBIN)('Kannel as an SMPP client of smsgw', () => {
  let t: TestApp;
  let rx: Receiver;
  let sendsms: string;
  const procs: ChildProcess[] = [];

  beforeAll(async () => {
    const smppPort = await freePort();
    t = await startTestApp({ SMSGW_SMPP_PORT: String(smppPort) });
    const channels = await t.call('GET', '/v1/channels');
    await t.call('PATCH', `/v1/channels/${channels.body.data[0].id}`, {
      body: { config: { latencyMs: 1, deliveryDelayMs: 100, successRate: 1 } },
    });
    expect(
      (await t.call('POST', '/v1/users', { body: { login: 'esme1', password: 'secret12' } })).status,
    ).toBe(201);
    rx = await startReceiver();
    const [admin, box, send] = [await freePort(), await freePort(), await freePort()];
    sendsms = `http://127.0.0.1:${send}/cgi-bin/sendsms`;
    const dir = mkdtempSync(join(tmpdir(), 'smsgw-kannel-'));
    const conf = kannelConfig({
      dir,
      adminPort: admin,
      boxPort: box,
      sendsmsPort: send,
      smppPort,
      smscId: 'smsgw',
      username: 'esme1',
      password: 'secret12',
      maxPendingSubmits: 10,
      logLevel: 1,
      sendsmsUser: 'tester',
      sendsmsPassword: 'foobar',
      maxMessages: 5,
      moUrl: `${rx.url}/mo?from=%p&to=%P&text=%a&coding=%c`,
    });
    writeFileSync(join(dir, 'kannel.conf'), conf);
    procs.push(spawn(join(SBIN, 'bearerbox'), ['-v', '4', join(dir, 'kannel.conf')], { stdio: 'ignore' }));
    await eventually(async () => (t.app.smpp?.bindsOf(await userId()).length ? true : undefined), 30_000);
    procs.push(spawn(join(SBIN, 'smsbox'), ['-v', '4', join(dir, 'kannel.conf')], { stdio: 'ignore' }));
    await eventually(async () => {
      try {
        await fetch(`${sendsms}?username=x&password=y`);
        return true;
      } catch {
        return undefined;
      }
    }, 30_000);
  }, 90_000);

  afterAll(async () => {
    for (const p of procs) p.kill('SIGTERM');
    await rx?.close();
    await t?.stop();
  });

  let esmeId: string | undefined;
  async function userId(): Promise<string> {
    esmeId ??= (await t.call('GET', '/v1/users')).body.data.find(
      (u: { login: string }) => u.login === 'esme1',
    ).id;
    return esmeId as string;
  }

  async function viaKannel(params: Record<string, string>) {
    const qs = new URLSearchParams({ username: 'tester', password: 'foobar', from: '12345', ...params });
    const res = await fetch(`${sendsms}?${qs.toString()}`);
    expect(res.status, await res.text()).toBe(202);
  }

  async function arrived(to: string) {
    return eventually(async () => {
      const list = await t.call('GET', `/v1/messages?to=${encodeURIComponent(to)}`, {
        auth: 'esme1:secret12',
      });
      return list.body.data[0];
    });
  }

  it('carries GSM text with extension characters intact', async () => {
    await viaKannel({ to: '+70001230001', text: 'Price 5€ [ok] {x} ^~|\\' });
    const m = await arrived('+70001230001');
    expect(m).toMatchObject({ text: 'Price 5€ [ok] {x} ^~|\\', encoding: 'gsm7', from: '12345' });
  });

  it('carries UCS-2 (coding=2)', async () => {
    await viaKannel({ to: '+70001230002', text: 'Привет, мир', coding: '2', charset: 'UTF-8' });
    const m = await arrived('+70001230002');
    expect(m).toMatchObject({ text: 'Привет, мир', encoding: 'ucs2' });
  });

  it('reassembles a 200-character message sent as 2 parts into one', async () => {
    const text = Array.from({ length: 200 }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');
    await viaKannel({ to: '+70001230003', text });
    const m = await arrived('+70001230003');
    expect(m).toMatchObject({ text, segments: 2 });
    const all = await t.call('GET', '/v1/messages?to=%2B70001230003', { auth: 'esme1:secret12' });
    expect(all.body.data).toHaveLength(1);
  });

  it('marks mclass=0 as flash', async () => {
    await viaKannel({ to: '+70001230004', text: 'flash!', mclass: '0' });
    expect(await arrived('+70001230004')).toMatchObject({ flash: true, text: 'flash!' });
  });

  it('sends the final receipt back to Kannel, which calls its dlr-url', async () => {
    await viaKannel({
      to: '+70001230005',
      text: 'with receipt',
      'dlr-mask': '31',
      'dlr-url': `${rx.url}/dlr?type=%d&to=%p`,
    });
    const dlr = await eventually(async () =>
      rx.received.find((r) => r.path.startsWith('/dlr') && r.path.includes('type=1')),
    );
    expect(dlr.path).toContain('70001230005');
    expect((await arrived('+70001230005')).status).toBe('delivered');
  });

  it('sends one final receipt for a 200-character message Kannel sent as 2 parts', async () => {
    // Kannel asks for the receipt on the first part only and files it under the id that part
    // was answered with; each part is answered with its own id, and the receipt names the
    // first part's (the one that asked).
    const text = Array.from({ length: 200 }, (_, i) => String.fromCharCode(65 + (i % 26))).join('');
    await viaKannel({
      to: '+70001230006',
      text,
      'dlr-mask': '31',
      'dlr-url': `${rx.url}/dlr?type=%d&to=%p&multi=1`,
    });
    const final = await eventually(
      async () =>
        rx.received.find(
          (r) => r.path.includes('multi=1') && r.path.includes('type=1') && r.path.includes('70001230006'),
        ),
      60_000,
    );
    expect(final).toBeDefined();
    const m = await arrived('+70001230006');
    expect(m).toMatchObject({ text, segments: 2, status: 'delivered' });
    // Kannel acknowledged it: nothing is left owed, and no second final report came.
    await eventually(async () => {
      const owed = await t.app.store.db.kysely.selectFrom('smpp_outbox').select('id').execute();
      return owed.length === 0 ? true : undefined;
    });
    const finals = rx.received.filter(
      (r) => r.path.includes('multi=1') && (r.path.includes('type=1&') || r.path.includes('type=2&')),
    );
    expect(finals).toHaveLength(1);
  }, 90_000);

  it('takes a long UCS-2 message from Kannel part by part and sends back a receipt with readable text', async () => {
    // 96 Cyrillic characters: two UCS-2 parts (67 characters each at most).
    const text = 'Привет! '.repeat(12);
    await viaKannel({
      to: '+70001230007',
      text,
      coding: '2',
      charset: 'UTF-8',
      'dlr-mask': '31',
      'dlr-url': `${rx.url}/dlr?type=%d&to=%p&ucs=1&a=%a`,
    });
    const final = await eventually(
      async () => rx.received.find((r) => r.path.includes('ucs=1') && r.path.includes('type=1&')),
      60_000,
    );
    const answer = new URL(final.path, 'http://x').searchParams.get('a') ?? '';
    expect(answer).toContain('stat:DELIVRD');
    // The receipt's text: the first 20 characters, transliterated to ASCII.
    expect(answer).toContain('text:Privet! Privet! Priv');
    const m = await arrived('+70001230007');
    expect(m).toMatchObject({ text, encoding: 'ucs2', segments: 2, status: 'delivered' });
    const all = await t.call('GET', '/v1/messages?to=%2B70001230007', { auth: 'esme1:secret12' });
    expect(all.body.data).toHaveLength(1);
  }, 90_000);

  it('delivers an inbound message for the user to Kannel (MO)', async () => {
    const ch = (await t.call('GET', '/v1/channels')).body.data[0];
    // The number last written to by esme1 on this shared channel: its reply belongs to esme1.
    await t.call('POST', `/v1/channels/${ch.id}/inbound`, {
      body: { from: '+70001230001', text: 'reply from phone' },
    });
    const mo = await eventually(async () => rx.received.find((r) => r.path.startsWith('/mo')));
    const q = new URL(mo.path, 'http://x').searchParams;
    expect(q.get('text')).toBe('reply from phone');
    expect(q.get('from')).toContain('70001230001');
  });
});
