/** Starts a real gateway (real HTTP socket, real database) for black-box tests. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { App } from '../../src/app.js';
import { startApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { OpenApiCheck } from './openapi.js';

export const ADMIN_KEY = 'test-admin-key-0123456789abcdef';
export const ADMIN_PASSWORD = 'admin-password-1';

export interface TestApp {
  app: App;
  url: string;
  /** fetch against the gateway with JSON in and out; `auth` is a bearer key or "login:password". */
  call(
    method: string,
    path: string,
    opts?: {
      auth?: string | null;
      body?: unknown;
      headers?: Record<string, string>;
      /** false: do not check the answer against /docs/json (default: checked when documented). */
      checkOpenApi?: boolean;
    },
  ): Promise<{ status: number; body: any; headers: Headers }>;
  stop(): Promise<void>;
}

export async function startTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const dataDir = mkdtempSync(join(tmpdir(), 'smsgw-app-'));
  const config = loadConfig({
    SMSGW_PORT: '0',
    SMSGW_HOST: '127.0.0.1',
    SMSGW_DATA_DIR: dataDir,
    SMSGW_ADMIN_API_KEY: ADMIN_KEY,
    SMSGW_ADMIN_PASSWORD: ADMIN_PASSWORD,
    SMSGW_SQLITE_SYNCHRONOUS: 'NORMAL',
    SMSGW_SMPP_PORT: '0',
    // Test receivers listen on loopback, which the URL guard refuses by default; tests of the
    // guard itself pass SMSGW_WEBHOOK_ALLOW_CIDRS: ''.
    SMSGW_WEBHOOK_ALLOW_CIDRS: '127.0.0.1/32',
    ...env,
  });
  const app = await startApp(config, { logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }) });
  const url = app.url;
  // Every JSON answer of /v1 is checked against the published OpenAPI document (issue 18).
  let openApi: Promise<OpenApiCheck> | undefined;
  const t: TestApp = {
    app,
    url,
    async call(method, path, opts = {}) {
      const headers: Record<string, string> = { ...(opts.headers ?? {}) };
      const auth = opts.auth === undefined ? ADMIN_KEY : opts.auth;
      if (auth) {
        headers.authorization = auth.includes(':')
          ? `Basic ${Buffer.from(auth).toString('base64')}`
          : `Bearer ${auth}`;
      }
      let body: string | undefined;
      if (opts.body !== undefined) {
        if (typeof opts.body === 'string') {
          body = opts.body;
          headers['content-type'] ??= 'application/x-www-form-urlencoded';
        } else {
          body = JSON.stringify(opts.body);
          headers['content-type'] = 'application/json';
        }
      }
      const res = await fetch(url + path, { method, headers, body });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON (metrics, docs)
      }
      const answer = { status: res.status, body: parsed, headers: res.headers };
      const json = res.headers.get('content-type')?.startsWith('application/json') ?? false;
      if (path.startsWith('/v1/') && (json || res.status === 204) && opts.checkOpenApi !== false) {
        openApi ??= OpenApiCheck.load(t);
        (await openApi).checkIfDocumented(method, path, answer);
      }
      return answer;
    },
    stop: () => app.stop(),
  };
  return t;
}

/** Polls until `check` returns a value (not undefined) or the time is up. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A user (`login`, `password`) with a simulator channel of their own (quick: 1 ms submits,
 * receipts after `deliveryDelayMs`, 20 by default; `rules` pick outcomes by prefix). Returns
 * the user's id and the channel's.
 */
export async function userWithSimulator(
  t: TestApp,
  user: { login: string; password: string },
  channel: { name: string; deliveryDelayMs?: number; rules?: { prefix: string; outcome: string }[] },
): Promise<{ userId: string; channelId: string }> {
  await t.call('POST', '/v1/users', { body: user });
  const me = await t.call('GET', '/v1/me', { auth: `${user.login}:${user.password}` });
  const ch = await t.call('POST', '/v1/channels', {
    body: {
      name: channel.name,
      type: 'simulator',
      owner_id: me.body.id,
      config: {
        latencyMs: 1,
        deliveryDelayMs: channel.deliveryDelayMs ?? 20,
        successRate: 1,
        ...(channel.rules ? { rules: channel.rules } : {}),
      },
    },
  });
  if (ch.status !== 201) throw new Error(`simulator channel not created: ${JSON.stringify(ch.body)}`);
  return { userId: me.body.id as string, channelId: ch.body.id as string };
}
