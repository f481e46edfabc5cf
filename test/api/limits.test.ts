/**
 * Bounded HTTP face (issue 12, items 2 and 6): slowloris cut off by the headers timeout,
 * connections per address, failed logins throttled before the password hash (counted), the
 * same hash work for unknown logins, long-poll waiters capped, /metrics behind a token.
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { LoginThrottle } from '../../src/services/login-throttle.js';
import type { TestApp } from '../support/app.js';
import { eventually, startTestApp } from '../support/app.js';
import { expectErrorShape } from './error-shape.js';

const METRICS_TOKEN = 'metrics-token-0123456789';

function open(port: number): Promise<{ socket: Socket; data: () => string; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let out = '';
    socket.on('data', (d) => (out += d.toString('latin1')));
    const closed = new Promise<number>((r) => socket.on('close', () => r(Date.now())));
    socket.on('error', () => undefined);
    socket.once('connect', () => resolve({ socket, data: () => out, closed }));
    socket.once('error', reject);
  });
}

describe('HTTP limits', () => {
  let t: TestApp;
  let port: number;
  let aliceKey: string;
  let bobKey: string;

  beforeAll(async () => {
    t = await startTestApp({
      SMSGW_SIMULATOR: 'false',
      SMSGW_HTTP_HEADERS_TIMEOUT_MS: '1000',
      SMSGW_HTTP_REQUEST_TIMEOUT_MS: '2000',
      SMSGW_HTTP_MAX_CONNECTIONS_PER_IP: '40',
      SMSGW_LONGPOLL_PER_USER: '2',
      SMSGW_LONGPOLL_MAX: '3',
      SMSGW_LOGIN_FAILURES_PER_IP: '30',
      SMSGW_LOGIN_FAILURES_PER_LOGIN: '5',
      SMSGW_METRICS_TOKEN: METRICS_TOKEN,
    });
    port = Number(new URL(t.url).port);
    for (const login of ['alice', 'bob']) {
      await t.call('POST', '/v1/users', { body: { login, password: `${login}-password` } });
    }
    // Keys first: the login flood below blocks password logins from 127.0.0.1 for the window.
    aliceKey = (await t.call('POST', '/v1/keys', { auth: 'alice:alice-password', body: { name: 'a' } })).body
      .key;
    bobKey = (await t.call('POST', '/v1/keys', { auth: 'bob:bob-password', body: { name: 'b' } })).body.key;
  });
  afterAll(() => t.stop());

  it('cuts off a slowloris client that never finishes its headers (408, then closed)', async () => {
    const c = await open(port);
    const started = Date.now();
    c.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    // One header line every 200 ms: always some traffic, never the end of the head.
    const drip = setInterval(() => {
      if (!c.socket.destroyed) c.socket.write(`X-Drip-${Date.now()}: 1\r\n`);
    }, 200);
    const closedAt = await c.closed;
    clearInterval(drip);
    // Limit 1 s, checked every 250 ms; generous bound for a loaded machine, far below Node's
    // default of 60 s (+30 s check interval) that applied before.
    expect(closedAt - started).toBeLessThan(15_000);
    expect(closedAt - started).toBeGreaterThanOrEqual(900);
    expect(c.data()).toMatch(/^HTTP\/1\.1 408 /);
    expectErrorShape(JSON.parse(c.data().slice(c.data().indexOf('\r\n\r\n') + 4)), 'request_timeout');
    expect((await t.call('GET', '/healthz', { auth: null })).status).toBe(200);
  });

  it('cuts off a client that sends its body too slowly (request timeout)', async () => {
    const c = await open(port);
    const started = Date.now();
    c.socket.write(
      `POST /v1/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${aliceKey}\r\n` +
        'Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"to":"',
    );
    const drip = setInterval(() => {
      if (!c.socket.destroyed) c.socket.write('1');
    }, 200);
    const closedAt = await c.closed;
    clearInterval(drip);
    expect(closedAt - started).toBeGreaterThanOrEqual(1500);
    expect(closedAt - started).toBeLessThan(15_000);
    expect(c.data()).toMatch(/^HTTP\/1\.1 408 /);
    expectErrorShape(JSON.parse(c.data().slice(c.data().indexOf('\r\n\r\n') + 4)), 'request_timeout');
  });

  it('refuses connections over the per-address limit with 429 in the error shape', async () => {
    const held = await Promise.all(Array.from({ length: 40 }, () => open(port)));
    const extra = await open(port);
    extra.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await extra.closed;
    expect(extra.data()).toMatch(/^HTTP\/1\.1 429 /);
    expectErrorShape(
      JSON.parse(extra.data().slice(extra.data().indexOf('\r\n\r\n') + 4)),
      'too_many_connections',
    );
    for (const h of held) h.socket.destroy();
    await Promise.all(held.map((h) => h.closed));
    await eventually(async () => {
      const r = await t.call('GET', '/healthz', { auth: null }).catch(() => undefined);
      return r?.status === 200 ? true : undefined;
    });
  });

  it('throttles 1,000 failed logins from one address without 1,000 password hashes', async () => {
    const before = t.app.auth.hashChecks;
    const statuses = new Map<number, number>();
    let retryAfter: string | null = null;
    let shapeChecked = false;
    // Distinct logins, so only the per-address limit (30) stops them; 10 at a time.
    for (let i = 0; i < 1000; i += 10) {
      const batch = await Promise.all(
        Array.from({ length: 10 }, (_, j) =>
          t.call('POST', '/auth/login', { auth: null, body: { login: `nobody${i + j}`, password: 'wrong' } }),
        ),
      );
      for (const r of batch) {
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        if (r.status === 429 && !shapeChecked) {
          retryAfter = r.headers.get('retry-after');
          expectErrorShape(r.body, 'too_many_attempts');
          shapeChecked = true;
        }
      }
    }
    const hashes = t.app.auth.hashChecks - before;
    expect(statuses.get(401)).toBe(30);
    expect(statuses.get(429)).toBe(970);
    expect(hashes).toBe(30);
    expect(Number(retryAfter)).toBeGreaterThan(0);
    // Basic auth and the seed API from the same address are throttled too, before any hash.
    const basic = await t.call('GET', '/v1/messages', { auth: 'alice:wrong' });
    expect(basic.status).toBe(429);
    const seed = await t.call('GET', '/smsc.php?login=alice&pass=wrong&tel=1&msg=x', { auth: null });
    expect(seed.status).toBe(429);
    expect(t.app.auth.hashChecks - before).toBe(30);
  });

  it('throttles one login from many addresses, and a success clears its count', () => {
    const th = new LoginThrottle({ perLogin: 3, perIp: 100, windowMs: 60_000 });
    const now = 1_000_000;
    for (let i = 0; i < 3; i++) th.attempt('carol', `10.0.0.${i}`, now);
    expect(th.retryAfterMs('carol', '10.0.0.99', now)).toBe(60_000);
    expect(th.retryAfterMs('dave', '10.0.0.1', now)).toBe(0);
    expect(th.retryAfterMs('carol', '10.0.0.99', now + 60_000)).toBe(0);
    th.attempt('erin', '10.0.0.5', now);
    th.succeeded('erin', '10.0.0.5');
    expect(th.retryAfterMs('erin', '10.0.0.5', now)).toBe(0);
    const small = new LoginThrottle({ perLogin: 1, perIp: 1, windowMs: 60_000, maxKeys: 100 });
    for (let i = 0; i < 10_000; i++) small.attempt(`flood${i}`, undefined, now);
    expect(small.size).toBeLessThanOrEqual(100);
  });

  it('computes a hash for an unknown login as for a known one (no timing oracle)', async () => {
    const auth = t.app.auth;
    const before = auth.hashChecks;
    expect(await auth.byPassword('no-such-login', 'whatever')).toBeUndefined();
    expect(auth.hashChecks - before).toBe(1);
    expect(await auth.byPassword('bob', 'wrong-password')).toBeUndefined();
    expect(auth.hashChecks - before).toBe(2);
    expect(await auth.bySmpp('no-such-system', 'whatever')).toBeUndefined();
    expect(auth.hashChecks - before).toBe(3);
  });

  it('caps waiting long-polls per account (429) and in total (503)', async () => {
    const aborts: AbortController[] = [];
    const wait = (key: string) => {
      const ac = new AbortController();
      aborts.push(ac);
      return fetch(`${t.url}/v1/events?wait=30`, {
        headers: { authorization: `Bearer ${key}` },
        signal: ac.signal,
      }).catch(() => undefined);
    };
    void wait(aliceKey);
    void wait(aliceKey);
    const third = await eventually(async () => {
      const r = await t.call('GET', '/v1/events?wait=30', { auth: aliceKey });
      return r.status === 429 ? r : undefined;
    });
    expectErrorShape(third.body, 'too_many_waiters', 'wait');
    void wait(bobKey);
    const full = await eventually(async () => {
      const r = await t.call('GET', '/v1/events?wait=30', { auth: bobKey });
      return r.status === 503 ? r : undefined;
    });
    expectErrorShape(full.body, 'busy', 'wait');
    expect(full.headers.get('retry-after')).toBe('1');
    // Polls without wait are never counted.
    expect((await t.call('GET', '/v1/events', { auth: bobKey })).status).toBe(200);
    for (const ac of aborts) ac.abort();
    // The slots come back when the clients go away.
    await eventually(async () => {
      const ac = new AbortController();
      const r = fetch(`${t.url}/v1/events?wait=1`, {
        headers: { authorization: `Bearer ${aliceKey}` },
        signal: ac.signal,
      });
      const res = await r;
      await res.text();
      return res.status === 200 ? true : undefined;
    });
  });

  it('serves /metrics only with the token when SMSGW_METRICS_TOKEN is set', async () => {
    const none = await t.call('GET', '/metrics', { auth: null });
    expect(none.status).toBe(401);
    expectErrorShape(none.body, 'unauthorized');
    expect((await t.call('GET', '/metrics', { auth: 'wrong-token-0123456789' })).status).toBe(401);
    const ok = await t.call('GET', '/metrics', { auth: METRICS_TOKEN });
    expect(ok.status).toBe(200);
    expect(String(ok.body)).toContain('smsgw_http_request_duration_seconds');
    // The login flood above shows in the limit counters.
    expect(String(ok.body)).toMatch(/^smsgw_logins_throttled_total (9[7-9]\d|\d{4,})$/m);
    expect(String(ok.body)).toMatch(/^smsgw_http_longpoll_waiting \d+$/m);
    expect(String(ok.body)).toMatch(/^smsgw_http_connections_refused_total [1-9]/m);
  });
});

describe('limit settings', () => {
  const base = { SMSGW_DATA_DIR: '/tmp/smsgw-config-test' };
  it('has defaults for a 2-core box and reads every limit from the environment', () => {
    const d = loadConfig(base);
    expect(d.http).toMatchObject({
      headersTimeoutMs: 10_000,
      maxConnectionsPerIp: 256,
      maxConnections: 4096,
      longPollPerUser: 8,
    });
    expect(d.http.metricsToken).toBeUndefined();
    expect(d.webhooks).toEqual({ allowPrivate: false, allowCidrs: [], concurrency: 16, perAccount: 4 });
    const c = loadConfig({
      ...base,
      SMSGW_HTTP_KEEPALIVE_TIMEOUT_MS: '7000',
      SMSGW_WEBHOOK_ALLOW_CIDRS: '10.1.0.0/16, fd00::/8',
      SMSGW_WEBHOOK_ALLOW_PRIVATE: 'yes',
      SMSGW_METRICS_TOKEN: 'a-long-enough-token',
    });
    expect(c.http.keepAliveTimeoutMs).toBe(7000);
    expect(c.webhooks.allowCidrs).toEqual(['10.1.0.0/16', 'fd00::/8']);
    expect(c.webhooks.allowPrivate).toBe(true);
    expect(c.http.metricsToken).toBe('a-long-enough-token');
  });

  it.each([
    [{ SMSGW_WEBHOOK_ALLOW_CIDRS: '10.0.0.0/33' }, /ALLOW_CIDRS/],
    [{ SMSGW_WEBHOOK_ALLOW_CIDRS: 'internal.example' }, /ALLOW_CIDRS/],
    [{ SMSGW_HTTP_IDLE_TIMEOUT_MS: '30000' }, /IDLE_TIMEOUT/],
    [{ SMSGW_METRICS_TOKEN: 'short' }, /METRICS_TOKEN/],
    [{ SMSGW_WEBHOOK_PER_ACCOUNT: '20' }, /PER_ACCOUNT/],
    [{ SMSGW_HTTP_MAX_CONNECTIONS_PER_IP: '0' }, /MAX_CONNECTIONS_PER_IP/],
    [{ SMSGW_LOGIN_WINDOW_MS: 'Infinity' }, /LOGIN_WINDOW_MS/],
  ])('refuses %o', (env, message) => {
    expect(() => loadConfig({ ...base, ...env })).toThrow(message);
  });
});
