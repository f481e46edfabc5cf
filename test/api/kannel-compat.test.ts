/**
 * Kannel-compatible /cgi-bin/sendsms through a real gateway: Kannel's requests and answers
 * (texts and statuses as smsbox gives them; the refusals checked here were compared with
 * Debian's Kannel 1.4.5 smsbox answering the same requests), charsets, X-Kannel headers, the XML body, and
 * dlr-url callbacks with Kannel's placeholders filled, called with GET on a real socket.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../support/app.js';
import { eventually, startTestApp, userWithSimulator } from '../support/app.js';
import type { Receiver } from '../support/receiver.js';
import { startReceiver } from '../support/receiver.js';

describe('Kannel sendsms', () => {
  let t: TestApp;
  let rx: Receiver;
  const login = 'kannelapp';
  const password = 'kannel-password';

  beforeAll(async () => {
    t = await startTestApp({ SMSGW_SIMULATOR: 'false', SMSGW_WEBHOOK_RETRY_BASE_MS: '100' });
    rx = await startReceiver();
    await userWithSimulator(
      t,
      { login, password },
      {
        name: 'kannel-sim',
        rules: [
          { prefix: '+1555555011', outcome: 'unknown_subscriber' },
          { prefix: '+1555555012', outcome: 'submit_rejected' },
        ],
      },
    );
  });
  afterAll(async () => {
    await t.stop();
    await rx.close();
  });

  const raw = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(t.url + path, init);
    return { status: res.status, text: await res.text(), type: res.headers.get('content-type') };
  };
  const auth = `username=${login}&password=${password}`;
  const dlrs = (path: string) =>
    rx.received.filter((r) => r.path.startsWith(path)).map((r) => new URL(r.path, rx.url).searchParams);
  const messageTo = async (to: string) => {
    const list = await t.call('GET', `/v1/messages?to=${encodeURIComponent(to)}`, {
      auth: `${login}:${password}`,
    });
    return list.body.data?.[0] ?? list.body.messages?.[0] ?? list.body.items?.[0];
  };

  it('answers a GET like smsbox and calls dlr-url with type 8 then 1, placeholders filled', async () => {
    const dlrUrl = `${rx.url}/dlr1?type=%d&to=%p&from=%P&id=%I&smsc=%i&t=%t&ts=%T&answer=%A&k=%k&q=%q&f=%F&n=%n&meta=%D&odd=%Z&pct=100%%`;
    const before = Math.floor(Date.now() / 1000);
    const r = await raw(
      `/cgi-bin/sendsms?${auth}&to=%2B15555550100&from=4477&text=Hello+Kannel&dlr-mask=31&dlr-url=${encodeURIComponent(dlrUrl)}&priority=1&smsc=any&account=a1&meta-data=%3Fsmpp%3Fx%3D1`,
    );
    expect(r.status).toBe(202);
    expect(r.text).toBe('0: Accepted for delivery');
    expect(r.type).toMatch(/^text\/plain/);
    const got = await eventually(async () => {
      const d = dlrs('/dlr1');
      return d.length >= 2 ? d : undefined;
    });
    const msg = await eventually(() => messageTo('+15555550100'));
    expect(got.map((p) => p.get('type'))).toEqual(['8', '1']);
    for (const p of got) {
      expect(p.get('to')).toBe('+15555550100');
      expect(p.get('q')).toBe('+15555550100');
      expect(p.get('from')).toBe('4477');
      expect(p.get('id')).toBe(msg.id);
      expect(p.get('smsc')).toBe('kannel-sim');
      expect(p.get('n')).toBe(login);
      expect(p.get('t')).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
      expect(Number(p.get('ts'))).toBeGreaterThanOrEqual(before);
      expect(Number(p.get('ts'))).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
      expect(p.get('meta')).toBe('');
      expect(p.get('odd')).toBe('%Z');
      expect(p.get('pct')).toBe('100%');
      expect(p.get('f')).not.toBe('');
    }
    const [sent, delivered] = got as [URLSearchParams, URLSearchParams];
    expect(sent.get('answer')).toBe(`ACK/${sent.get('f')}`);
    expect(delivered.get('answer')).toMatch(
      /^id:\S+ sub:001 dlvrd:001 .*stat:DELIVRD err:000 text:Hello Kannel$/,
    );
    expect(delivered.get('k')).toBe(`id:${delivered.get('f')}`);
    const hits = rx.received.filter((x) => x.path.startsWith('/dlr1'));
    expect(hits.every((h) => h.body === '')).toBe(true);
  });

  it('calls only the types in the mask: 2 for an undelivered message, 16 for a rejected submit', async () => {
    await raw(
      `/cgi-bin/sendsms?${auth}&to=15555550110&text=x&dlr-mask=2&dlr-url=${encodeURIComponent(`${rx.url}/dlr2?d=%d&a=%A`)}`,
    );
    await raw(
      `/cgi-bin/sendsms?${auth}&to=15555550120&text=y&dlr-mask=18&dlr-url=${encodeURIComponent(`${rx.url}/dlr16?d=%d&a=%A`)}`,
    );
    const undelivered = await eventually(async () => (dlrs('/dlr2').length ? dlrs('/dlr2') : undefined));
    const rejected = await eventually(async () => (dlrs('/dlr16').length ? dlrs('/dlr16') : undefined));
    expect(undelivered.map((p) => p.get('d'))).toEqual(['2']);
    expect(undelivered[0]?.get('a')).toMatch(/stat:UNDELIV err:001/);
    expect(rejected.map((p) => p.get('d'))).toEqual(['16']);
    expect(rejected[0]?.get('a')).toMatch(/^NACK\//);
    // Nothing for the types a mask leaves out (8 for both; 1 never happens here).
    const msg = await eventually(async () => {
      const m = await messageTo('+15555550110');
      return m?.status === 'undelivered' ? m : undefined;
    });
    expect(msg.status).toBe('undelivered');
  });

  it('refuses a wrong password with 403 and Kannel text, and a missing or empty to', async () => {
    const bad = await raw(`/cgi-bin/sendsms?username=${login}&password=wrong&to=15555550100&text=x`);
    expect(bad).toMatchObject({ status: 403, text: 'Authorization failed for sendsms' });
    const none = await raw(`/cgi-bin/sendsms?to=15555550100&text=x`);
    expect(none).toMatchObject({ status: 403, text: 'Authorization failed for sendsms' });
    const missing = await raw(`/cgi-bin/sendsms?${auth}&text=x`);
    expect(missing).toMatchObject({ status: 400, text: 'Missing receiver number, rejected' });
    const empty = await raw(`/cgi-bin/sendsms?${auth}&to=&text=x`);
    expect(empty).toMatchObject({ status: 400, text: 'Empty receiver number not allowed, rejected' });
    const mask = await raw(`/cgi-bin/sendsms?${auth}&to=15555550100&text=x&dlr-mask=64`);
    expect(mask).toMatchObject({ status: 400, text: 'DLR-Mask field misformed, rejected' });
    const url = await raw(`/cgi-bin/sendsms?${auth}&to=15555550100&text=x&dlr-mask=1&dlr-url=ftp://x`);
    expect(url).toMatchObject({ status: 400, text: 'DLR-URL field misformed, rejected' });
    // The URL guard of webhooks: a dlr-url into a private network is refused when it is set.
    const inside = await raw(
      `/cgi-bin/sendsms?${auth}&to=15555550100&text=x&dlr-mask=1&dlr-url=${encodeURIComponent('http://10.0.0.1/dlr?d=%d')}`,
    );
    expect(inside.status).toBe(400);
    expect(inside.text).toMatch(/^DLR-URL field misformed, rejected \(/);
    const long = await raw(
      `/cgi-bin/sendsms?${auth}&to=15555550100&text=x&dlr-mask=1&dlr-url=${encodeURIComponent(`${rx.url}/${'x'.repeat(2100)}`)}`,
    );
    expect(long.status).toBe(400);
    expect(long.text).toMatch(/^DLR-URL field misformed, rejected/);
    const head = await fetch(`${t.url}/cgi-bin/sendsms?${auth}&to=15555550100&text=head`, { method: 'HEAD' });
    expect(head.status).toBe(404);
    const coding = await raw(`/cgi-bin/sendsms?${auth}&to=15555550100&text=x&coding=7`);
    expect(coding).toMatchObject({ status: 400, text: 'Coding field misformed, rejected' });
    const binary = await raw(`/cgi-bin/sendsms?${auth}&to=15555550100&text=x&coding=1`);
    expect(binary.status).toBe(400);
    const charset = await raw(`/cgi-bin/sendsms?${auth}&to=15555550100&text=x&charset=FOO-BAR`);
    expect(charset).toMatchObject({ status: 400, text: 'Charset or body misformed, rejected' });
    const form = await raw('/cgi-bin/sendsms', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(form).toMatchObject({ status: 400, text: 'Invalid content-type' });
    const untyped = await fetch(`${t.url}/cgi-bin/sendsms`, {
      method: 'POST',
      body: new Uint8Array([1, 2, 3]),
    });
    expect({ status: untyped.status, text: await untyped.text() }).toMatchObject({
      status: 400,
      text: 'Invalid content-type',
    });
    const badNumber = await raw(`/cgi-bin/sendsms?${auth}&to=abc&text=x`);
    expect(badNumber).toMatchObject({
      status: 400,
      text: 'Number(s) has/have been denied by white- and/or black-lists.',
    });
  });

  it('retries a callback the receiver refused, with the same event id, in order', async () => {
    rx.failNext(1);
    await raw(
      `/cgi-bin/sendsms?${auth}&to=15555550160&text=retry&dlr-mask=9&dlr-url=${encodeURIComponent(`${rx.url}/dlrretry?d=%d`)}`,
    );
    const hits = await eventually(async () => {
      const h = rx.received.filter((r) => r.path.startsWith('/dlrretry'));
      return h.length >= 3 ? h : undefined;
    });
    // The refused type-8 call, its retry, then type 1: never 1 before 8.
    expect(hits.map((h) => new URL(h.path, rx.url).searchParams.get('d'))).toEqual(['8', '8', '1']);
    expect(hits[0]?.headers['x-smsgw-event-id']).toBe(hits[1]?.headers['x-smsgw-event-id']);
  });

  it('answers every malformed request with a 4xx Kannel text, never a 5xx (small fuzzer)', async () => {
    // Seeded, so a failure can be replayed.
    let seed = 16;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const values = [
      '',
      '-1',
      '0',
      '1',
      '2',
      '31',
      '64',
      '1e400',
      'Infinity',
      '0x10',
      ' 7',
      '%',
      '%zz',
      '%FF%FE',
      '+',
      '%2B15555550170',
      '15555550171 15555550172',
      'ä',
      '%00',
      'http://',
      'https://127.0.0.1:9/%d?x=%#a#b#',
      'x'.repeat(2000),
      '99999999999999999999',
      'UTF-16BE',
      'ISO-8859-1',
      'koi8-r',
      '\u0000',
    ];
    const names = [
      'to',
      'text',
      'from',
      'charset',
      'coding',
      'mclass',
      'validity',
      'deferred',
      'dlr-mask',
      'dlr-url',
      'priority',
      'udh',
      'pid',
      'meta-data',
      'smsc',
      'account',
    ];
    const statuses = new Map<number, number>();
    for (let i = 0; i < 150; i++) {
      const fields = Array.from({ length: 1 + rnd(6) }, () => {
        const v = values[rnd(values.length)] as string;
        return `${names[rnd(names.length)]}=${rnd(2) ? encodeURIComponent(v) : v}`;
      });
      const r = await raw(`/cgi-bin/sendsms?${auth}&${fields.join('&')}`);
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      expect(r.status, `${fields.join('&')} → ${r.text}`).toBeLessThan(500);
      expect(r.type).toMatch(/^text\/plain/);
    }
    const xmlParts = [
      '<message>',
      '</message>',
      '<submit>',
      '</submit>',
      '<da><number>15555550180</number></da>',
      '<ud>hi</ud>',
      '&amp;',
      '&bogus;',
      '&#0;',
      '&#x110000;',
      '<![CDATA[x]]>',
      '<!-- c -->',
      '<!DOCTYPE m>',
      '<!DOCTYPE m [<!ENTITY a "b">]>',
      '<from><username>kannelapp</username><password>kannel-password</password></from>',
      '<a b="c">',
      '</a>',
      '<',
      '>',
      '"',
    ];
    for (let i = 0; i < 100; i++) {
      const body = Array.from({ length: 1 + rnd(10) }, () => xmlParts[rnd(xmlParts.length)]).join('');
      const r = await raw('/cgi-bin/sendsms', {
        method: 'POST',
        headers: { 'content-type': 'text/xml' },
        body,
      });
      expect(r.status, `${body} → ${r.text}`).toBeLessThan(500);
    }
    expect(statuses.get(400)).toBeGreaterThan(0);
  });

  it('sends to several space- or plus-separated recipients with one answer line', async () => {
    const r = await raw(`/cgi-bin/sendsms?${auth}&to=15555550131+%2B15555550132%2015555550133&text=multi`);
    expect(r).toMatchObject({ status: 202, text: '0: Accepted for delivery' });
    for (const n of ['+15555550131', '+15555550132', '+15555550133']) {
      const m = await eventually(() => messageTo(n));
      expect(m.text).toBe('multi');
    }
  });

  it('honours charset ISO-8859-1 and UTF-16BE, mclass=0 flash, deferred, and a form POST', async () => {
    // "Grüße" in ISO-8859-1: ü = FC, ß = DF.
    await raw(`/cgi-bin/sendsms?${auth}&to=15555550141&text=Gr%FC%DFe&charset=ISO-8859-1&mclass=0`);
    const latin = await eventually(() => messageTo('+15555550141'));
    expect(latin.text).toBe('Grüße');
    expect(latin.flash).toBe(true);
    // "Привет" as UTF-16BE bytes with coding=2 and no charset, as Kannel reads it.
    const hex = Buffer.from('Привет', 'utf16le').swap16();
    const esc = [...hex].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
    await raw(`/cgi-bin/sendsms?${auth}&to=15555550142&text=${esc}&coding=2`);
    const ucs = await eventually(() => messageTo('+15555550142'));
    expect(ucs.text).toBe('Привет');
    expect(ucs.encoding).toBe('ucs2');
    const form = await raw('/cgi-bin/sendsms', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `${auth}&to=15555550143&text=later&deferred=60`,
    });
    expect(form).toMatchObject({ status: 202, text: '0: Accepted for delivery' });
    const later = await eventually(() => messageTo('+15555550143'));
    expect(later.status).toBe('scheduled');
  });

  it('takes a text/plain POST with X-Kannel headers and Kannel XML; refuses external entities', async () => {
    const plain = await raw('/cgi-bin/sendsms', {
      method: 'POST',
      headers: {
        'content-type': 'text/plain; charset=UTF-8',
        'x-kannel-username': login,
        'x-kannel-password': password,
        'x-kannel-to': '15555550151',
        'x-kannel-from': '4478',
      },
      body: 'posted text',
    });
    expect(plain).toMatchObject({ status: 202, text: '0: Accepted for delivery' });
    expect((await eventually(() => messageTo('+15555550151'))).text).toBe('posted text');
    const xml = `<?xml version="1.0"?>
<!DOCTYPE message>
<message><submit>
  <da><number>15555550152</number></da><da><number>15555550153</number></da>
  <oa><number>4479</number></oa>
  <ud>Hello+from+XML%21</ud>
  <statusrequest><dlr-mask>8</dlr-mask><dlr-url>${rx.url}/dlrxml?d=%d&amp;p=%p</dlr-url></statusrequest>
  <from><username>${login}</username><password>${password}</password></from>
</submit></message>`;
    const x = await raw('/cgi-bin/sendsms', {
      method: 'POST',
      headers: { 'content-type': 'text/xml' },
      body: xml,
    });
    expect(x).toMatchObject({ status: 202, text: '0: Accepted for delivery' });
    expect((await eventually(() => messageTo('+15555550153'))).text).toBe('Hello from XML!');
    const cb = await eventually(async () => (dlrs('/dlrxml').length >= 2 ? dlrs('/dlrxml') : undefined));
    expect(cb.map((p) => p.get('p')).sort()).toEqual(['+15555550152', '+15555550153']);
    const xxe = `<?xml version="1.0"?>
<!DOCTYPE message [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<message><submit><da><number>15555550154</number></da><ud>&x;</ud>
<from><username>${login}</username><password>${password}</password></from></submit></message>`;
    const refused = await raw('/cgi-bin/sendsms', {
      method: 'POST',
      headers: { 'content-type': 'text/xml' },
      body: xxe,
    });
    expect(refused.status).toBe(400);
    expect(refused.text).not.toContain('root:');
    const missing = await raw('/cgi-bin/sendsms', {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'x-kannel-username': login, 'x-kannel-password': password },
      body: 'no receiver',
    });
    expect(missing).toMatchObject({ status: 400, text: 'Missing receiver(s) number(s), rejected' });
  });
});
