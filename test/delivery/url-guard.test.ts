/**
 * Outbound URL safety and fair delivery slots (issue 12, item 3): webhook, callback and forward
 * URLs refused when they point at loopback, link-local (metadata), private, CGNAT ranges —
 * IPv4, IPv6 and IPv4 inside IPv6 — unless allowed; checked again when a delivery connects (a
 * name that now resolves inside is refused); one account's dead receiver holds at most its
 * share of the slots while another account's webhooks flow.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../src/core/errors.js';
import { UrlGuard, embeddedV4, parseCidr } from '../../src/delivery/url-guard.js';
import type { Resolver } from '../../src/delivery/url-guard.js';
import { WEBHOOK_DEFAULTS, WebhookWorker } from '../../src/delivery/webhooks.js';
import type { TestApp } from '../support/app.js';
import { eventually, startTestApp } from '../support/app.js';
import type { Receiver } from '../support/receiver.js';
import { startReceiver } from '../support/receiver.js';
import { expectErrorShape } from '../api/error-shape.js';

/** A fake DNS, so the tests need none: names and what they resolve to now. */
const dns = new Map<string, string[]>([
  ['internal.test', ['10.0.0.1']],
  ['metadata.test', ['169.254.169.254']],
  ['public.test', ['93.184.216.34']],
  ['mixed.test', ['93.184.216.34', '192.168.1.10']],
  ['rebound.test', ['127.0.0.1']],
]);
const resolve: Resolver = async (host) => {
  const a = dns.get(host);
  if (!a) throw Object.assign(new Error(`${host} not found`), { code: 'ENOTFOUND' });
  return a;
};

const strict = new UrlGuard({ allowPrivate: false, allowCidrs: [], resolve });

describe('URL guard', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.8.9.10', 'loopback'],
    ['169.254.169.254', 'link-local'],
    ['10.0.0.1', 'private'],
    ['172.16.5.4', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['0.0.0.0', 'this network'],
    ['224.0.0.1', 'multicast'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'link-local'],
    ['fd00:ec2::254', 'unique local'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:a9fe:a9fe', 'link-local'],
    ['64:ff9b::a00:1', 'private'],
    ['2002:7f00:1::1', 'loopback'],
  ])('refuses %s (%s)', (ip, why) => {
    expect(strict.refusal(ip)).toContain(why);
  });

  it.each(['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111', '::ffff:8.8.8.8'])(
    'allows public %s',
    (ip) => {
      expect(strict.refusal(ip)).toBeUndefined();
    },
  );

  it('reads IPv4 inside IPv6 and parses CIDRs', () => {
    expect(embeddedV4('::ffff:7f00:1')).toBe('127.0.0.1');
    expect(embeddedV4('64:ff9b::169.254.169.254')).toBe('169.254.169.254');
    expect(embeddedV4('2001:4860::1')).toBeUndefined();
    expect(parseCidr('10.1.0.0/16')).toEqual({ address: '10.1.0.0', bits: 16, family: 'ipv4' });
    expect(parseCidr('fd00::/8')).toMatchObject({ family: 'ipv6', bits: 8 });
    expect(parseCidr('10.1.0.0/33')).toBeUndefined();
    expect(parseCidr('example.com/8')).toBeUndefined();
  });

  it('refuses URLs by literal, by what their name resolves to, and odd spellings of loopback', async () => {
    const refused = async (url: string) => {
      const err = await strict.check(url, 'webhook_url').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).code).toBe('unsafe_url');
      expect((err as ApiError).field).toBe('webhook_url');
      return (err as ApiError).message;
    };
    expect(await refused('http://127.0.0.1:8080/hook')).toContain('loopback');
    expect(await refused('http://169.254.169.254/latest/meta-data/')).toContain('link-local');
    expect(await refused('http://internal.test/hook')).toContain('internal.test resolves to 10.0.0.1');
    expect(await refused('http://mixed.test/hook')).toContain('192.168.1.10');
    expect(await refused('http://2130706433/')).toContain('loopback');
    expect(await refused('http://0x7f.1/')).toContain('loopback');
    expect(await refused('http://[::ffff:127.0.0.1]/')).toContain('loopback');
    expect(await refused('ftp://public.test/')).toContain('http');
    expect(await refused('http://nowhere.test/')).toContain('does not resolve');
    await expect(strict.check('https://public.test/hook', 'webhook_url')).resolves.toBeUndefined();
  });

  it('allows what the operator allows: everything private, or listed CIDRs only', async () => {
    const open = new UrlGuard({ allowPrivate: true, allowCidrs: [], resolve });
    await expect(open.check('http://internal.test/', 'u')).resolves.toBeUndefined();
    await expect(open.check('http://169.254.169.254/', 'u')).resolves.toBeUndefined();
    const listed = new UrlGuard({ allowPrivate: false, allowCidrs: ['10.0.0.0/8'], resolve });
    await expect(listed.check('http://internal.test/', 'u')).resolves.toBeUndefined();
    await expect(listed.check('http://127.0.0.1/', 'u')).rejects.toMatchObject({ code: 'unsafe_url' });
    await expect(listed.check('http://metadata.test/', 'u')).rejects.toMatchObject({ code: 'unsafe_url' });
  });

  it('fails the connect-time lookup of a name that resolves inside', async () => {
    const lookup = (host: string) =>
      new Promise<unknown>((res) => strict.lookup(host, { all: true }, (err, addr) => res(err ?? addr)));
    expect(await lookup('internal.test')).toMatchObject({ code: 'EUNSAFEADDR' });
    expect(await lookup('public.test')).toEqual([{ address: '93.184.216.34', family: 4 }]);
  });
});

describe('URL guard in the API and at delivery time', () => {
  let t: TestApp;
  let rx: Receiver;
  let key: string;
  let ownerA: string;
  let ownerB: string;

  beforeAll(async () => {
    // The test default allows 127.0.0.1; this gateway is configured as in production.
    t = await startTestApp({ SMSGW_SIMULATOR: 'false', SMSGW_WEBHOOK_ALLOW_CIDRS: '' });
    // Our own workers deliver below; the gateway's must not race them.
    await t.app.webhooks.stop();
    rx = await startReceiver();
    for (const login of ['tenant-a', 'tenant-b']) {
      await t.call('POST', '/v1/users', { body: { login, password: `${login}-password` } });
    }
    key = (await t.call('POST', '/v1/keys', { auth: 'tenant-a:tenant-a-password', body: { name: 'k' } })).body
      .key;
    ownerA = (await t.app.store.users.byLogin('tenant-a'))!.id;
    ownerB = (await t.app.store.users.byLogin('tenant-b'))!.id;
  });
  afterAll(async () => {
    await rx.close();
    await t.stop();
  });

  it('answers 400 unsafe_url when a webhook, callback or forward URL points inside', async () => {
    const cases: [string, string, unknown, string][] = [
      ['PATCH', '/v1/settings', { webhook_url: `${rx.url}/status` }, 'webhook_url'],
      [
        'PATCH',
        '/v1/settings',
        { inbound_webhook_url: 'http://169.254.169.254/latest' },
        'inbound_webhook_url',
      ],
      [
        'POST',
        '/v1/messages',
        { to: '+14155550100', text: 'x', callback_url: 'http://[::1]:8080/cb' },
        'callback_url',
      ],
      [
        'POST',
        '/v1/keywords',
        { match_type: 'exact', pattern: 'X', action: 'forward', forward_url: 'http://10.0.0.1/fwd' },
        'forward_url',
      ],
      ['POST', '/v1/keys', { name: 'k2', callback_url: 'http://100.64.0.1/cb' }, 'callback_url'],
    ];
    for (const [method, path, body, field] of cases) {
      const r = await t.call(method, path, { auth: key, body });
      expect(r.status, `${method} ${path}`).toBe(400);
      expectErrorShape(r.body, 'unsafe_url', field);
    }
    // Nothing was stored.
    expect((await t.call('GET', '/v1/settings', { auth: key })).body.webhook_url).toBeNull();
  });

  const row = (owner: string, url: string, n: number) => ({
    event_id: `evt_test_${owner}_${n}_${Math.random()}`,
    owner_id: owner,
    kind: 'status' as const,
    ordering_key: `order_${owner}_${n}_${Math.random()}`,
    url,
    payload: JSON.stringify({ n }),
    next_attempt_at: Date.now() - 1000 + n,
    give_up_at: Date.now() + 3_600_000,
    created_at: Date.now(),
  });

  it('refuses at delivery time a URL stored earlier, and a name that now resolves to loopback', async () => {
    const port = new URL(rx.url).port;
    await t.app.store.webhooks.enqueue(row(ownerA, `${rx.url}/literal`, 1));
    await t.app.store.webhooks.enqueue(row(ownerA, `http://rebound.test:${port}/named`, 2));
    const log = pino({ level: 'silent' });
    const opts = { ...WEBHOOK_DEFAULTS, pollMs: 50, retryBaseMs: 600_000 };
    const refusing = new WebhookWorker(t.app.store, log, opts, strict);
    refusing.start();
    const attempts = await eventually(async () => {
      const rows = await t.app.store.webhooks.list({ ownerId: ownerA, limit: 10 });
      const a = await t.app.store.webhooks.attempts(rows.map((r) => r.id));
      return a.length >= 2 ? a : undefined;
    });
    await refusing.stop();
    expect(rx.received).toHaveLength(0);
    expect(attempts.map((a) => a.error).sort()).toEqual([
      expect.stringContaining('loopback'),
      expect.stringContaining('rebound.test resolves to 127.0.0.1'),
    ]);

    // Allowed, the named URL is delivered through the guard's lookup: rebound.test exists in no
    // DNS, so reaching the receiver proves the socket connected to the address the guard checked.
    await t.app.store.webhooks.enqueue(row(ownerB, `http://rebound.test:${port}/named-allowed`, 3));
    const allowing = new WebhookWorker(
      t.app.store,
      log,
      opts,
      new UrlGuard({ allowPrivate: false, allowCidrs: ['127.0.0.1/32'], resolve }),
    );
    allowing.start();
    await eventually(async () => (rx.received.some((r) => r.path === '/named-allowed') ? true : undefined));
    await allowing.stop();
  });

  it("keeps one account's dead receiver to its share of the slots while another account's webhooks flow", async () => {
    // A receiver that accepts and never answers: each delivery to it holds a slot until timeout,
    // and its account never borrows idle slots (only one whose receiver answered fast does).
    const held = new Set<Socket>();
    const requests: string[] = [];
    const dead: Server = createServer((req) => requests.push(req.url ?? ''));
    dead.on('connection', (s: Socket) => held.add(s));
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const deadUrl = `http://127.0.0.1:${(dead.address() as { port: number }).port}`;
    for (let i = 0; i < 40; i++) await t.app.store.webhooks.enqueue(row(ownerA, `${deadUrl}/dead/${i}`, i));
    // B's events are due after all of A's: a first-come round would give A every slot.
    for (let i = 0; i < 6; i++)
      await t.app.store.webhooks.enqueue(row(ownerB, `${rx.url}/live/${i}`, 100 + i));

    const worker = new WebhookWorker(
      t.app.store,
      pino({ level: 'silent' }),
      // The dead receiver's timeout is longer than this test: A never frees a slot here.
      { ...WEBHOOK_DEFAULTS, pollMs: 50, timeoutMs: 300_000, concurrency: 8, perAccount: 3 },
      new UrlGuard({ allowPrivate: false, allowCidrs: ['127.0.0.1/32'], resolve }),
    );
    worker.start();
    try {
      await eventually(
        async () => (rx.received.filter((r) => r.path.startsWith('/live/')).length === 6 ? true : undefined),
        30_000,
      );
      // A holds exactly its 3 slots (requests the dead receiver got), B's went through the rest.
      expect(requests, JSON.stringify(requests)).toHaveLength(3);
      // B's last answers may still be on their way back; then only A's 3 stay in flight.
      await eventually(async () => (worker.active === 3 ? true : undefined));
    } finally {
      for (const s of held) s.destroy();
      await worker.stop();
      await new Promise<void>((r) => dead.close(() => r()));
    }
  });
});
