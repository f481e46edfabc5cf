/**
 * The Gammu channel against the real `gammu` binary (dummy phone driver: no hardware; its
 * debug log shows what was encoded), locally and over SSH to a real sshd on loopback.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GammuDriver, parseGammuConfig } from '../../../src/channels/gammu/driver.js';
import { SubmitError } from '../../../src/channels/port.js';
import type { TestApp } from '../../support/app.js';
import { eventually, startTestApp } from '../../support/app.js';
import { outbound } from '../../support/channel.js';
import { freePort } from '../../support/net.js';

const GAMMU = '/usr/bin/gammu';
const SSHD = '/usr/sbin/sshd';
const HAVE_GAMMU = existsSync(GAMMU);
const HAVE_SSHD = existsSync(SSHD) && existsSync('/usr/bin/ssh-keygen');

const sms = (text: string, over: Parameters<typeof outbound>[1] = {}) =>
  outbound(text, { to: '+70001234567', ...over });

const noEvents = {
  deliveryReport: async () => undefined,
  inbound: async () => undefined,
  state: () => undefined,
};

describe.skipIf(!HAVE_GAMMU)('Gammu channel (real gammu, dummy phone)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'smsgw-gammu-'));
  const log = join(dir, 'gammu.log');
  const rc = join(dir, 'gammurc');
  mkdirSync(join(dir, 'dev'));
  writeFileSync(
    rc,
    `[gammu]\nmodel = dummy\nconnection = none\ndevice = ${join(dir, 'dev')}\nlogfile = ${log}\nlogformat = textall\n`,
  );
  /** The last SMS Gammu encoded, as its debug log tells it. */
  const lastSent = () => {
    const text = readFileSync(log, 'utf8');
    return text.slice(text.lastIndexOf('Entering GSM_SendSMS'));
  };

  it('sends GSM text, UCS-2, flash and validity through gammu sendsms', async () => {
    const d = new GammuDriver(parseGammuConfig({ configFile: rc, gammuPath: GAMMU }));
    await d.start(noEvents);
    const r = await d.submit(sms('Hello from smsgw'));
    expect(r.remoteIds).toHaveLength(1);
    expect(lastSent()).toContain('Recipient number "+70001234567"');
    expect(lastSent()).toContain('Hello from smsgw');
    await d.submit(sms('Привет', { flash: true, validityMinutes: 1440 }));
    const sent = lastSent();
    expect(sent).toContain('Unicode SMS');
    expect(sent).toContain('Привет');
    expect(sent).toContain('SMS class 0');
    expect(sent).toContain('SMS validity a7');
    await d.stop();
  });

  it('splits a long text into concatenated parts, one reference each', async () => {
    const d = new GammuDriver(parseGammuConfig({ configFile: rc, gammuPath: GAMMU }));
    const r = await d.submit(sms('x'.repeat(300)));
    expect(r.remoteIds).toHaveLength(2);
    expect(new Set(r.remoteIds).size).toBe(2);
  });

  it('reports gammu errors as submit errors', async () => {
    const d = new GammuDriver(parseGammuConfig({ configFile: rc, gammuPath: GAMMU, section: 7 }));
    const err = await d.submit(sms('x')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SubmitError);
    expect((err as SubmitError).code).toBe('channel_error');
    expect(d.health().lastError).toMatch(/Error/);
  });

  it('stop() lets queued sends finish, refuses new ones, may be called twice, and start() resumes', async () => {
    const d = new GammuDriver(parseGammuConfig({ configFile: rc, gammuPath: GAMMU }));
    await d.start(noEvents);
    const queued = [d.submit(sms('first before stop')), d.submit(sms('second before stop'))];
    const stops = [d.stop(), d.stop()];
    const done = await Promise.all(queued);
    expect(done.map((r) => r.remoteIds.length)).toEqual([1, 1]);
    await Promise.all(stops);
    await d.stop();
    expect(d.health()).toMatchObject({ status: 'stopped', inFlight: 0 });
    await expect(d.submit(sms('after stop'))).rejects.toMatchObject({ code: 'channel_error' });
    await d.start(noEvents);
    expect(d.health().status).toBe('up');
    expect((await d.submit(sms('after restart'))).remoteIds).toHaveLength(1);
    await d.stop();
  });

  describe('through the gateway', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({ SMSGW_SIMULATOR: 'false' });
      const c = await t.call('POST', '/v1/channels', {
        body: {
          name: 'gammu-1',
          type: 'gammu',
          config: { configFile: rc, gammuPath: GAMMU },
          min_interval_ms: 0,
        },
      });
      expect(c.status).toBe(201);
    });
    afterAll(() => t?.stop());

    it('a message is final at `sent`: Gammu gives no delivery reports, so it never waits or expires', async () => {
      const r = await t.call('POST', '/v1/messages', {
        body: { to: '+70001234567', text: 'final when sent', delivery_report: true, validity: 1 },
      });
      expect(r.status).toBe(202);
      const id = r.body.messages[0].id as string;
      const m = await eventually(async () => {
        const got = await t.call('GET', `/v1/messages/${id}`);
        return got.body.status === 'sent' ? got.body : undefined;
      });
      expect(m).toMatchObject({ status: 'sent', final: true, delivery_report: true });
      expect(m.final_at).not.toBeNull();
      expect(m.events.at(-1)).toMatchObject({ status: 'sent', detail: 'no delivery report requested' });
      expect(lastSent()).toContain('final when sent');
      // Long after its validity ran out, the expiry sweep leaves it alone.
      await t.app.store.messages.expireDue(Date.now() + 7 * 86_400_000);
      const later = await t.call('GET', `/v1/messages/${id}`);
      expect(later.body).toMatchObject({ status: 'sent', final: true });
    });
  });

  it('validates its config', () => {
    expect(() => parseGammuConfig({ mode: 'telnet' })).toThrow(/mode/);
    expect(() => parseGammuConfig({ mode: 'ssh', ssh: { host: 'h', username: 'u' } })).toThrow(
      /privateKey or a password/,
    );
    expect(() => parseGammuConfig({ section: -1 })).toThrow(/section/);
    expect(() => parseGammuConfig({ locale: 'C.UTF-8; rm -rf /' })).toThrow(/locale/);
  });

  describe.skipIf(!HAVE_SSHD)('over SSH', () => {
    let sshd: ChildProcess;
    let port: number;
    let clientKey: string;
    let hostKeyFp: string;
    const sshDir = join(dir, 'ssh');

    beforeAll(async () => {
      mkdirSync(sshDir);
      mkdirSync('/run/sshd', { recursive: true });
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(sshDir, 'host')]);
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(sshDir, 'client')]);
      writeFileSync(join(sshDir, 'authorized_keys'), readFileSync(join(sshDir, 'client.pub')));
      clientKey = readFileSync(join(sshDir, 'client'), 'utf8');
      hostKeyFp = execFileSync('ssh-keygen', ['-lf', join(sshDir, 'host.pub')], { encoding: 'utf8' }).split(
        ' ',
      )[1] as string;
      port = await freePort();
      writeFileSync(
        join(sshDir, 'sshd_config'),
        [
          `ListenAddress 127.0.0.1`,
          `Port ${port}`,
          `HostKey ${join(sshDir, 'host')}`,
          `AuthorizedKeysFile ${join(sshDir, 'authorized_keys')}`,
          `PidFile ${join(sshDir, 'sshd.pid')}`,
          'StrictModes no',
          'UsePAM no',
          'PasswordAuthentication no',
          'PermitRootLogin prohibit-password',
        ].join('\n'),
      );
      sshd = spawn(SSHD, ['-D', '-e', '-f', join(sshDir, 'sshd_config')], { stdio: 'ignore' });
      const until = Date.now() + 10_000;
      while (Date.now() < until) {
        try {
          execFileSync('ssh-keyscan', ['-p', String(port), '127.0.0.1'], { stdio: 'ignore', timeout: 2000 });
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    });
    afterAll(() => sshd?.kill());

    const remote = (over: Record<string, unknown> = {}) =>
      new GammuDriver(
        parseGammuConfig({
          mode: 'ssh',
          gammuPath: GAMMU,
          configFile: rc,
          ssh: {
            host: '127.0.0.1',
            port,
            username: 'root',
            privateKey: clientKey,
            hostKeySha256: hostKeyFp,
            ...over,
          },
        }),
      );

    // 'Привет 👋' also proves the locale: without LC_ALL=C.UTF-8 a remote Gammu sends it empty.
    it.each([
      `'; rm -rf / #`,
      '$(id) and `uname`',
      'line one\nline two',
      'quotes " and \' and \\ backslash',
      'Привет 👋',
    ])('delivers hostile text verbatim: %j', async (text) => {
      const d = remote();
      const r = await d.submit(sms(text));
      expect(r.remoteIds).toHaveLength(1);
      expect(lastSent()).toContain(text.split('\n')[0]);
      await d.stop();
    });

    it('refuses a host whose key does not match the pinned fingerprint', async () => {
      const d = remote({ hostKeySha256: 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' });
      const err = await d.submit(sms('x')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SubmitError);
      expect(String((err as Error).message)).toMatch(/ssh/);
    });

    it('refuses a wrong key with a clear error, never echoing secrets', async () => {
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(sshDir, 'other')]);
      const d = remote({ privateKey: readFileSync(join(sshDir, 'other'), 'utf8') });
      const err = await d.submit(sms('x')).catch((e: unknown) => e);
      expect((err as Error).message).toMatch(/authentication/i);
      expect((err as Error).message).not.toContain('PRIVATE KEY');
    });

    it('reconnects after the connection drops', async () => {
      const d = remote();
      await d.submit(sms('before'));
      (d as unknown as { ssh?: { end(): void } }).ssh?.end();
      await new Promise((r) => setTimeout(r, 200));
      const r = await d.submit(sms('after reconnect'));
      expect(r.remoteIds).toHaveLength(1);
      expect(lastSent()).toContain('after reconnect');
      await d.stop();
    });
  });
});
