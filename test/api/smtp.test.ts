/**
 * The SMTP face (e-mail to SMS) over real sockets, with real SMTP clients: nodemailer, and
 * Debian's swaks when installed. STARTTLS with a certificate made for the test.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRecipient } from '../../src/api/smtp/recipient.js';
import { smsText, stripBody } from '../../src/api/smtp/text.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import type { TestApp } from '../support/app.js';
import { ADMIN_KEY, ADMIN_PASSWORD, eventually, startTestApp } from '../support/app.js';
import { freePort } from '../support/net.js';
import { HAVE_OPENSSL, selfSignedCert } from '../support/tls.js';

describe('e-mail text', () => {
  it('drops signatures, quoted replies and their attribution lines', () => {
    const body = [
      'Server 3 is down.  ',
      '',
      '',
      '',
      'Call me.',
      '',
      'On Mon, 30 Nov 2026 at 10:00, Ann Other <ann@',
      'example.com> wrote:',
      '> Is everything fine?',
      '>> older',
      '-- ',
      'Bob, Ops team',
      '+1 555 0100',
    ].join('\r\n');
    expect(stripBody(body)).toBe('Server 3 is down.\n\nCall me.');
    expect(stripBody('Yes\n\n-----Original Message-----\nFrom: x\nAre you there?')).toBe('Yes');
    expect(stripBody('On call tonight: Bob')).toBe('On call tonight: Bob');
  });

  it('takes the subject, the body or both, as configured', () => {
    const mail = { subject: '  Alert:\tdisk  full ', text: 'sda1 at 99%\n-- \nsig' };
    expect(smsText(mail, 'subject')).toBe('Alert: disk full');
    expect(smsText(mail, 'body')).toBe('sda1 at 99%');
    expect(smsText(mail, 'subject+body')).toBe('Alert: disk full\nsda1 at 99%');
    expect(smsText({ subject: '', text: '> only a quote' }, 'subject+body')).toBe('');
  });

  it('reads <number>@<domain> recipients and says why one is refused', () => {
    expect(parseRecipient('+79001234567@sms.example.com', [])).toEqual({ ok: true, e164: '+79001234567' });
    expect(parseRecipient('79001234567@SMS.Example.com', ['sms.example.com'])).toEqual({
      ok: true,
      e164: '+79001234567',
    });
    expect(parseRecipient('79001234567@other.com', ['sms.example.com'])).toMatchObject({
      ok: false,
      code: 550,
      message: expect.stringContaining('relay denied'),
    });
    expect(parseRecipient('bob@sms.example.com', [])).toMatchObject({
      ok: false,
      code: 550,
      message: expect.stringContaining('only digits'),
    });
    expect(parseRecipient('9001234567@x.org', [], 'RU')).toEqual({ ok: true, e164: '+79001234567' });
  });

  it('needs TLS for AUTH unless the operator allows clear text', () => {
    expect(() => loadConfig({ SMSGW_SMTP_PORT: '2525' })).toThrow(ConfigError);
    expect(() => loadConfig({ SMSGW_SMTP_PORT: '2525', SMSGW_SMTP_TLS_CERT: '/x.pem' })).toThrow(ConfigError);
    expect(() => loadConfig({ SMSGW_SMTP_TEXT_FROM: 'html' })).toThrow(ConfigError);
    expect(() => loadConfig({ SMSGW_SMTP_DOMAINS: 'bad domain' })).toThrow(ConfigError);
    const c = loadConfig({
      SMSGW_SMTP_PORT: '2525',
      SMSGW_SMTP_ALLOW_INSECURE_AUTH: 'true',
      SMSGW_SMTP_DOMAINS: 'SMS.example.com, sms2.example.com',
    });
    expect(c.smtp).toMatchObject({ port: 2525, domains: ['sms.example.com', 'sms2.example.com'] });
    expect(loadConfig({}).smtp).toMatchObject({ port: 0, textFrom: 'subject+body' });
    expect(loadConfig({ SMSGW_SMTP_TEXT_FROM: 'both' }).smtp.textFrom).toBe('subject+body');
  });
});

describe.skipIf(!HAVE_OPENSSL)('SMTP face', () => {
  let t: TestApp;
  let port: number;
  let ca: string;
  const DOMAIN = 'sms.example.com';

  beforeAll(async () => {
    const tls = selfSignedCert();
    ca = tls.cert;
    port = await freePort();
    // No channel: messages stay queued, so what the gateway stored is what the mail said.
    t = await startTestApp({
      SMSGW_SIMULATOR: 'false',
      SMSGW_SMTP_PORT: String(port),
      SMSGW_SMTP_TLS_CERT: tls.certFile,
      SMSGW_SMTP_TLS_KEY: tls.keyFile,
      SMSGW_SMTP_DOMAINS: DOMAIN,
      SMSGW_SMTP_MAX_MESSAGE_BYTES: '65536',
      SMSGW_SMTP_MAX_CONNECTIONS_PER_IP: '4',
      SMSGW_SMTP_MAX_RECIPIENTS: '3',
    });
    const u = await t.call('POST', '/v1/users', { body: { login: 'mailer', password: 'mail-pass-1' } });
    expect(u.status).toBe(201);
  });
  afterAll(() => t?.stop());

  const transport = (auth?: { user: string; pass: string }) =>
    nodemailer.createTransport({
      host: '127.0.0.1',
      port,
      secure: false,
      requireTLS: true,
      tls: { ca },
      ...(auth ? { auth } : {}),
    });
  const mailer = () => transport({ user: 'mailer', pass: 'mail-pass-1' });
  const byBatch = async (batch: string) =>
    (await t.call('GET', `/v1/messages?batch_id=${batch}`, { auth: 'mailer:mail-pass-1' })).body.data as {
      to: string;
      text: string;
    }[];
  const batchOf = (response: string) => /Queued as (\S+):/.exec(response)?.[1] as string;

  it('turns a mail to two numbers with a UTF-8 subject and an HTML body into two committed messages', async () => {
    const info = await mailer().sendMail({
      from: 'ops@example.org',
      to: [`+79001230001@${DOMAIN}`, `79001230002@${DOMAIN}`],
      subject: 'Тревога: диск заполнен ✓',
      html: '<p>Disk <b>sda1</b> at 99%</p><div>-- <br>Ops team</div>',
    });
    expect(info.accepted).toHaveLength(2);
    expect(info.response).toMatch(/^250 Queued as \S+: 2 SMS/);
    // Committed before the 250: the messages are there without waiting.
    const list = await byBatch(batchOf(info.response));
    expect(list.map((m) => m.to).sort()).toEqual(['+79001230001', '+79001230002']);
    for (const m of list) expect(m.text).toBe('Тревога: диск заполнен ✓\nDisk sda1 at 99%');
  });

  it('refuses mail without AUTH (no open relay): 530 before MAIL is taken', async () => {
    const err = await transport()
      .sendMail({ from: 'x@example.org', to: `79001230003@${DOMAIN}`, subject: 'relay?', text: 'x' })
      .catch((e: { responseCode?: number; response?: string }) => e);
    expect(err).toMatchObject({ responseCode: 530 });
    const all = await t.call('GET', '/v1/messages?to=%2B79001230003');
    expect(all.body.data).toHaveLength(0);
  });

  it('refuses a wrong password with 535, and a password sent before STARTTLS', async () => {
    const wrong = await transport({ user: 'mailer', pass: 'not-it' })
      .sendMail({ from: 'x@example.org', to: `79001230004@${DOMAIN}`, subject: 'x', text: 'x' })
      .catch((e: { responseCode?: number }) => e);
    expect(wrong).toMatchObject({ responseCode: 535 });
    const clear = await nodemailer
      .createTransport({
        host: '127.0.0.1',
        port,
        secure: false,
        ignoreTLS: true,
        auth: { user: 'mailer', pass: 'mail-pass-1' },
      })
      .sendMail({ from: 'x@example.org', to: `79001230004@${DOMAIN}`, subject: 'x', text: 'x' })
      .catch((e: { responseCode?: number }) => e);
    expect(clear).toMatchObject({ responseCode: 538 });
  });

  it('refuses a bad recipient at RCPT with the reason, and sends to the good one', async () => {
    const info = await mailer().sendMail({
      from: 'x@example.org',
      to: [`bob@${DOMAIN}`, `79001230005@elsewhere.org`, `79001230006@${DOMAIN}`],
      subject: 'mixed',
      text: 'only one of you',
    });
    expect(info.accepted).toEqual([`79001230006@${DOMAIN}`]);
    expect(info.rejected.sort()).toEqual([`79001230005@elsewhere.org`, `bob@${DOMAIN}`]);
    // nodemailer keeps each refused recipient's reply in rejectedErrors (not in its types).
    const errors = (info as { rejectedErrors?: { response?: string }[] }).rejectedErrors ?? [];
    const reasons = errors.map((e) => `${e.response}`);
    expect(reasons.some((r) => r.startsWith('550') && r.includes('only digits'))).toBe(true);
    expect(reasons.some((r) => r.startsWith('550') && r.includes('relay denied'))).toBe(true);
    const list = await byBatch(batchOf(info.response));
    expect(list).toMatchObject([{ to: '+79001230006', text: 'mixed\nonly one of you' }]);

    const none = await mailer()
      .sendMail({ from: 'x@example.org', to: `12@${DOMAIN}`, subject: 'x', text: 'x' })
      .catch((e: { responseCode?: number; rejected?: string[] }) => e);
    expect(none).toMatchObject({ responseCode: 550 });
  });

  it('decodes a mail in a legacy charset (windows-1251 subject, quoted-printable body)', async () => {
    // "Привет" in windows-1251, once as an encoded-word and once quoted-printable.
    const cp1251 = Buffer.from([0xcf, 0xf0, 0xe8, 0xe2, 0xe5, 0xf2]);
    const raw = [
      'From: ops@example.org',
      `To: 79001230011@${DOMAIN}`,
      `Subject: =?windows-1251?B?${cp1251.toString('base64')}?=`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=windows-1251',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      '=CF=F0=E8=E2=E5=F2, =EC=E8=F0!',
      '',
    ].join('\r\n');
    const info = await mailer().sendMail({
      envelope: { from: 'ops@example.org', to: [`79001230011@${DOMAIN}`] },
      raw,
    });
    expect(await byBatch(batchOf(info.response))).toMatchObject([
      { to: '+79001230011', text: 'Привет\nПривет, мир!' },
    ]);
  });

  it('takes at most SMSGW_SMTP_MAX_RECIPIENTS recipients per mail: the next gets 452', async () => {
    const to = [1, 2, 3, 4].map((i) => `7900123002${i}@${DOMAIN}`);
    const info = await mailer().sendMail({ from: 'x@example.org', to, subject: 'four', text: 'of you' });
    expect(info.accepted).toEqual(to.slice(0, 3));
    expect(info.rejected).toEqual([to[3]]);
    const errors = (info as { rejectedErrors?: { response?: string }[] }).rejectedErrors ?? [];
    expect(errors[0]?.response).toMatch(/^452 /);
    expect(await byBatch(batchOf(info.response))).toHaveLength(3);
  });

  it('takes an API key as the password, and one mail sent twice (same Message-ID) is one message', async () => {
    const keyed = transport({ user: 'apikey', pass: ADMIN_KEY });
    const mail = {
      from: 'x@example.org',
      to: `79001230007@${DOMAIN}`,
      subject: 'once',
      text: 'exactly once',
      messageId: '<resend-1@example.org>',
    };
    const first = await keyed.sendMail(mail);
    const again = await keyed.sendMail(mail);
    expect(batchOf(again.response)).toBe(batchOf(first.response));
    const all = await t.call('GET', '/v1/messages?to=%2B79001230007');
    expect(all.body.data).toHaveLength(1);
    expect(all.body.data[0].text).toBe('once\nexactly once');
  });

  it('refuses a mail over the size limit (552) and one with no text (554)', async () => {
    const big = await mailer()
      .sendMail({
        from: 'x@example.org',
        to: `79001230008@${DOMAIN}`,
        subject: 'big',
        text: 'x',
        attachments: [{ filename: 'a.bin', content: Buffer.alloc(100_000, 7) }],
      })
      .catch((e: { responseCode?: number }) => e);
    expect(big).toMatchObject({ responseCode: 552 });
    const empty = await mailer()
      .sendMail({ from: 'x@example.org', to: `79001230008@${DOMAIN}`, text: '> just a quote' })
      .catch((e: { responseCode?: number; response?: string }) => e);
    expect(empty).toMatchObject({ responseCode: 554 });
    const all = await t.call('GET', '/v1/messages?to=%2B79001230008');
    expect(all.body.data).toHaveLength(0);
  });

  it('answers 451 when the messages cannot be committed, and takes the same mail once when it comes back', async () => {
    // startTestApp always runs on SQLite; the trigger below is SQLite's.
    const sqlite = t.app.store.db.sqlite;
    if (!sqlite) throw new Error('this test needs the SQLite store');
    // A real failure of the real database, as a full disk would give.
    sqlite.exec(
      `CREATE TRIGGER smtp_test_fail BEFORE INSERT ON messages BEGIN SELECT RAISE(ABORT, 'disk full'); END`,
    );
    const mail = {
      from: 'x@example.org',
      to: `79001230012@${DOMAIN}`,
      subject: 'retry me',
      text: 'after the failure',
      messageId: '<retry-1@example.org>',
    };
    try {
      const failed = await mailer()
        .sendMail(mail)
        .catch((e: { responseCode?: number }) => e);
      expect(failed).toMatchObject({ responseCode: 451 });
      expect((await t.call('GET', '/v1/messages?to=%2B79001230012')).body.data).toHaveLength(0);
    } finally {
      sqlite.exec('DROP TRIGGER smtp_test_fail');
    }
    const info = await mailer().sendMail(mail);
    expect(info.response).toMatch(/^250 Queued as /);
    expect((await t.call('GET', '/v1/messages?to=%2B79001230012')).body.data).toHaveLength(1);
  });

  it('bounds connections per address: the one over the limit gets 421', async () => {
    await eventually(async () => (t.app.smtp?.connections === 0 ? true : undefined), 20_000);
    const greet = (s: Socket) =>
      new Promise<string>((resolve, reject) => {
        let got = '';
        s.on('data', (d: Buffer) => {
          got += d.toString();
          if (got.includes('\r\n')) resolve(got);
        });
        s.once('error', reject);
      });
    const sockets: Socket[] = [];
    try {
      for (let i = 0; i < 4; i++) {
        const s = connect(port, '127.0.0.1');
        sockets.push(s);
        expect(await greet(s)).toMatch(/^220 /);
      }
      const over = connect(port, '127.0.0.1');
      sockets.push(over);
      expect(await greet(over)).toMatch(/^421 /);
    } finally {
      for (const s of sockets) s.destroy();
    }
    await eventually(async () => (t.app.smtp?.connections === 0 ? true : undefined), 20_000);
  });

  it.skipIf(!existsSync('/usr/bin/swaks'))('works with swaks (STARTTLS, AUTH LOGIN)', async () => {
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        'swaks',
        [
          '--server',
          `127.0.0.1:${port}`,
          '--tls',
          '--auth',
          'LOGIN',
          '--auth-user',
          'mailer',
          '--auth-password',
          'mail-pass-1',
          '--from',
          'ops@example.org',
          '--to',
          `79001230009@${DOMAIN}`,
          '--header',
          'Subject: from swaks',
          '--body',
          'plain body',
        ],
        { timeout: 30_000 },
        (err, stdout) => (err ? reject(new Error(`${err.message}\n${stdout}`)) : resolve(stdout)),
      ),
    );
    const batch = /<~ {2}250 Queued as (\S+):/.exec(out)?.[1];
    expect(batch).toBeDefined();
    const list = await byBatch(batch as string);
    expect(list).toMatchObject([{ to: '+79001230009', text: 'from swaks\nplain body' }]);
  });
});

describe('SMTP face without TLS', () => {
  let t: TestApp;
  let port: number;
  let stopped: Promise<void> | undefined;

  beforeAll(async () => {
    port = await freePort();
    t = await startTestApp({
      SMSGW_SIMULATOR: 'false',
      SMSGW_SMTP_PORT: String(port),
      SMSGW_SMTP_ALLOW_INSECURE_AUTH: 'true',
      SMSGW_SHUTDOWN_GRACE_MS: '20000',
      SMSGW_LOGIN_FAILURES_PER_LOGIN: '2',
      SMSGW_SMTP_DATA_TIMEOUT_MS: '1000',
    });
  });
  afterAll(() => stopped ?? t?.stop());

  const clear = (user: string, pass: string) =>
    nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, auth: { user, pass } });
  const mail = { from: 'a@example.org', to: '79001230010@any.domain', subject: 'clear', text: 'text' };

  it('takes AUTH in clear when allowed, and throttles wrong passwords before hashing them (454)', async () => {
    const info = await clear('admin', ADMIN_PASSWORD).sendMail(mail);
    expect(info.response).toMatch(/^250 Queued as /);
    await t.call('POST', '/v1/users', { body: { login: 'guess', password: 'right-pass-1' } });
    for (let i = 0; i < 2; i++) {
      expect(
        await clear('guess', `wrong-${i}`)
          .sendMail(mail)
          .catch((e: { responseCode?: number }) => e),
      ).toMatchObject({
        responseCode: 535,
      });
    }
    const hashes = t.app.auth.hashChecks;
    const throttled = await clear('guess', 'right-pass-1')
      .sendMail(mail)
      .catch((e: { responseCode?: number; response?: string }) => e);
    expect(throttled).toMatchObject({
      responseCode: 454,
      response: expect.stringMatching(/try again in \d+ s/),
    });
    expect(t.app.auth.hashChecks).toBe(hashes);
  });

  it('refuses the mail of an account blocked after it authenticated (550)', async () => {
    const u = await t.call('POST', '/v1/users', {
      body: { login: 'soon-blocked', password: 'blocked-pass-1' },
    });
    const tr = nodemailer.createTransport({
      host: '127.0.0.1',
      port,
      secure: false,
      pool: true,
      maxConnections: 1,
      auth: { user: 'soon-blocked', pass: 'blocked-pass-1' },
    });
    try {
      expect((await tr.sendMail(mail)).response).toMatch(/^250 /);
      expect((await t.call('PATCH', `/v1/users/${u.body.id}`, { body: { status: 'blocked' } })).status).toBe(
        200,
      );
      const refused = await tr.sendMail(mail).catch((e: { responseCode?: number }) => e);
      expect(refused).toMatchObject({ responseCode: 550 });
    } finally {
      tr.close();
    }
  });

  it('hangs up (421) on a mail that trickles in longer than SMSGW_SMTP_DATA_TIMEOUT_MS, and stores nothing', async () => {
    const s = connect(port, '127.0.0.1');
    // The drip below may write once more after we are hung up on.
    s.on('error', () => undefined);
    try {
      const lines = replies(s);
      expect(await lines.next()).toMatch(/^220 /);
      const say = async (line: string, until: RegExp) => {
        s.write(`${line}\r\n`);
        return lines.until(until);
      };
      await say('EHLO slow.example.org', /^250 /);
      const token = Buffer.from(`\0admin\0${ADMIN_PASSWORD}`).toString('base64');
      expect(await say(`AUTH PLAIN ${token}`, /^\d{3} /)).toMatch(/^235 /);
      expect(await say('MAIL FROM:<slow@example.org>', /^\d{3} /)).toMatch(/^250 /);
      expect(await say('RCPT TO:<79001230013@any.domain>', /^\d{3} /)).toMatch(/^250 /);
      expect(await say('DATA', /^\d{3} /)).toMatch(/^354 /);
      // A byte now and then keeps the idle timeout (60 s) from firing; the DATA deadline does.
      const drip = setInterval(() => s.write('x'), 200);
      try {
        expect(await lines.until(/^421 /)).toMatch(/too long/);
      } finally {
        clearInterval(drip);
      }
    } finally {
      s.destroy();
    }
    expect((await t.call('GET', '/v1/messages?to=%2B79001230013')).body.data).toHaveLength(0);
  });

  it('offers no STARTTLS without a certificate, and hangs up on idle clients at shutdown', async () => {
    const idle = connect(port, '127.0.0.1');
    try {
      const lines = replies(idle);
      expect(await lines.next()).toMatch(/^220 /);
      idle.write('EHLO client.example.org\r\n');
      const ehlo = await lines.until(/^250 /);
      expect(ehlo).toMatch(/AUTH PLAIN LOGIN/);
      expect(ehlo).not.toMatch(/STARTTLS/);
      // An idle client does not hold shutdown for the grace period: it is told 421 once the
      // mails in flight are done (none here).
      stopped = t.stop();
      expect(await lines.until(/^421 /)).toMatch(/shutting down/);
      await stopped;
    } finally {
      idle.destroy();
    }
  });
});

/** Reads SMTP reply lines from a raw socket. */
function replies(s: Socket) {
  let buf = '';
  const waiting: (() => void)[] = [];
  s.on('data', (d: Buffer) => {
    buf += d.toString();
    for (const w of waiting.splice(0)) w();
  });
  const line = async (): Promise<string> => {
    for (;;) {
      const i = buf.indexOf('\r\n');
      if (i >= 0) {
        const l = buf.slice(0, i);
        buf = buf.slice(i + 2);
        return l;
      }
      await new Promise<void>((r) => waiting.push(r));
    }
  };
  return {
    next: line,
    /** Lines up to and including the first matching one, joined. */
    async until(re: RegExp): Promise<string> {
      const got: string[] = [];
      for (;;) {
        const l = await line();
        got.push(l);
        if (re.test(l)) return got.join('\n');
      }
    },
  };
}
