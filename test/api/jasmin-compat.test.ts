/**
 * Jasmin-compatible HTTP API (/send, /balance, /rate, /ping) and REST API (/secure/*) through a
 * real gateway: Jasmin's requests and answers (texts, statuses, argument checks), and its DLR
 * callbacks (GET and form POST, levels 1/2/3) called on a real socket and retried until the
 * receiver answers ACK/Jasmin, as Jasmin's DLR thrower does. On SQLite, and on PostgreSQL when
 * SMSGW_TEST_DATABASE_URL is set.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../support/app.js';
import { eventually, startTestApp, userWithSimulator } from '../support/app.js';
import { PG_URL, pgSchemaUrl } from '../support/db.js';
import { seeded } from '../support/random.js';

interface Hit {
  method: string;
  path: string;
  body: string;
  type: string | undefined;
}

/** A receiver that answers ACK/Jasmin, or something else to the first `refuse` requests. */
async function startJasminReceiver() {
  const hits: Hit[] = [];
  let refuse = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hits.push({
        method: req.method ?? '',
        path: req.url ?? '/',
        body: Buffer.concat(chunks).toString('utf8'),
        type: req.headers['content-type'],
      });
      if (refuse > 0) {
        refuse--;
        res.writeHead(200).end('OK');
      } else res.writeHead(200).end('ACK/Jasmin\n');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    refuseNext(n: number) {
      refuse = n;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const dbs = ['sqlite', ...(PG_URL ? ['postgres'] : [])];

describe.each(dbs)('Jasmin API (%s)', (dbName) => {
  let t: TestApp;
  let rx: Awaited<ReturnType<typeof startJasminReceiver>>;
  let drop: (() => Promise<void>) | undefined;
  const login = 'jasminapp';
  const password = 'jasmin-password';
  const creds = `username=${login}&password=${password}`;

  beforeAll(async () => {
    const env: Record<string, string> = { SMSGW_SIMULATOR: 'false', SMSGW_WEBHOOK_RETRY_BASE_MS: '100' };
    if (dbName === 'postgres') {
      const s = await pgSchemaUrl();
      env.DATABASE_URL = s.url;
      drop = s.drop;
    }
    t = await startTestApp(env);
    rx = await startJasminReceiver();
    await userWithSimulator(
      t,
      { login, password },
      {
        name: 'jasmin-sim',
        rules: [
          { prefix: '+1555555021', outcome: 'unknown_subscriber' },
          { prefix: '+1555555022', outcome: 'submit_rejected' },
        ],
      },
    );
  });
  afterAll(async () => {
    await t?.stop();
    await rx?.close();
    await drop?.();
  });

  const raw = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(t.url + path, init);
    return { status: res.status, text: await res.text(), type: res.headers.get('content-type') };
  };
  const hitsAt = (path: string) => rx.hits.filter((h) => h.path.startsWith(path));
  const message = async (id: string) =>
    (await t.call('GET', `/v1/messages/${id}`, { auth: `${login}:${password}` })).body;
  const idOf = (text: string) => /^Success "([^"]+)"$/.exec(text)?.[1] as string;

  it('GET /send answers Success "<id>" and calls a GET dlr-url at level 1 then 3', async () => {
    const dlrUrl = `${rx.url}/dlr-get?app=1`;
    const r = await raw(
      `/send?${creds}&to=%2B15555550200&from=Jasmin&content=Hello+Jasmin&dlr=yes&dlr-url=${encodeURIComponent(dlrUrl)}&dlr-level=3&dlr-method=GET&priority=2`,
    );
    expect(r.status).toBe(200);
    expect(r.text).toMatch(/^Success "[^"]+"$/);
    expect(r.type).toMatch(/^text\/plain/);
    const id = idOf(r.text);
    const hits = await eventually(async () =>
      hitsAt('/dlr-get').length >= 2 ? hitsAt('/dlr-get') : undefined,
    );
    expect(hits.map((h) => h.method)).toEqual(['GET', 'GET']);
    const [smsc, terminal] = hits.map((h) => new URL(h.path, rx.url).searchParams) as [
      URLSearchParams,
      URLSearchParams,
    ];
    expect(Object.fromEntries(smsc)).toEqual({ app: '1', id, message_status: 'ESME_ROK', level: '1' });
    expect(terminal.get('app')).toBe('1');
    expect(terminal.get('id')).toBe(id);
    expect(terminal.get('message_status')).toBe('DELIVRD');
    expect(terminal.get('level')).toBe('3');
    expect(terminal.get('sub')).toBe('001');
    expect(terminal.get('dlvrd')).toBe('001');
    expect(terminal.get('err')).toBe('000');
    expect(terminal.get('text')).toBe('Hello Jasmin');
    expect(terminal.get('subdate')).toMatch(/^\d{10}$/);
    expect(terminal.get('donedate')).toMatch(/^\d{10}$/);
    expect(terminal.get('id_smsc')).not.toBe('');
    const m = await message(id);
    expect(m).toMatchObject({ to: '+15555550200', from: 'Jasmin', text: 'Hello Jasmin' });
  });

  it('POST /send (form) with dlr-level 2: a form POST callback, retried until ACK/Jasmin', async () => {
    rx.refuseNext(2);
    const body = new URLSearchParams({
      username: login,
      password,
      to: '15555550210',
      content: 'No phone',
      'dlr-url': `${rx.url}/dlr-post`,
      'dlr-level': '2',
    });
    const r = await raw('/send', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: body.toString(),
    });
    expect(r.status).toBe(200);
    const id = idOf(r.text);
    // Default method POST; only the terminal level; the first two answers were not ACK/Jasmin.
    const hits = await eventually(async () =>
      hitsAt('/dlr-post').length >= 3 ? hitsAt('/dlr-post') : undefined,
    );
    await new Promise((res) => setTimeout(res, 500));
    expect(hitsAt('/dlr-post')).toHaveLength(3);
    for (const h of hits) {
      expect(h.method).toBe('POST');
      expect(h.type).toBe('application/x-www-form-urlencoded');
      const p = new URLSearchParams(h.body);
      expect(p.get('id')).toBe(id);
      expect(p.get('message_status')).toBe('UNDELIV');
      expect(p.get('level')).toBe('2');
      expect(p.get('dlvrd')).toBe('000');
      expect(p.get('err')).toBe('001');
    }
    const log = await t.call('GET', '/v1/webhooks/deliveries?limit=200', { auth: `${login}:${password}` });
    expect(log.status).toBe(200);
    const rows = (
      log.body.data as { url: string; status: string; attempts: { error: string | null }[] }[]
    ).filter((x) => x.url === `${rx.url}/dlr-post`);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.status).toBe('delivered');
    expect(rows[0]?.attempts.map((a) => a.error)).toEqual([
      'receiver answered 200 without ACK/Jasmin',
      'receiver answered 200 without ACK/Jasmin',
      null,
    ]);
  });

  it('a submit the SMSC refuses is a level-1 callback with its error, not ESME_ROK', async () => {
    const r = await raw(
      `/send?${creds}&to=15555550220&content=x&dlr-url=${encodeURIComponent(`${rx.url}/dlr-nack`)}`,
    );
    expect(r.status).toBe(200);
    const hits = await eventually(async () => (hitsAt('/dlr-nack').length ? hitsAt('/dlr-nack') : undefined));
    const p = new URLSearchParams(hits[0]?.body);
    expect(p.get('level')).toBe('1');
    expect(p.get('message_status')).toMatch(/^ESME_R(?!OK)/);
  });

  it('refuses as Jasmin does: arguments, authentication, content', async () => {
    expect(await raw(`/send?${creds}&content=x`)).toMatchObject({
      status: 400,
      text: 'Error "Mandatory argument [to] is not found."',
    });
    expect(await raw(`/send?${creds}&to=15555550200&content=x&color=red`)).toMatchObject({
      status: 400,
      text: 'Error "Argument [color] is unknown."',
    });
    expect(await raw(`/send?${creds}&to=abc&content=x`)).toMatchObject({
      status: 400,
      text: 'Error "Argument [to] has an invalid value: [abc]."',
    });
    expect(await raw(`/send?${creds}&to=15555550200`)).toMatchObject({
      status: 400,
      text: 'Error "content or hex-content not present."',
    });
    expect(await raw(`/send?${creds}&to=15555550200&content=x&hex-content=41`)).toMatchObject({
      status: 400,
      text: 'Error "content and hex-content cannot be used both in same request."',
    });
    expect(await raw(`/send?${creds}&to=15555550200&content=x&dlr-level=4`)).toMatchObject({
      status: 400,
      text: 'Error "Argument [dlr-level] has an invalid value: [4]."',
    });
    expect(await raw(`/send?${creds}&to=15555550200&content=x&dlr-url=ftp://x`)).toMatchObject({
      status: 400,
      text: 'Error "Argument [dlr-url] has an invalid value: [ftp://x]."',
    });
    expect(await raw(`/send?username=${login}&password=wrong&to=15555550200&content=x`)).toMatchObject({
      status: 403,
      text: `Error "Authentication failure for username:${login}"`,
    });
    expect(await raw(`/send?${creds}&to=15555550200&content=x&hex-content=zz`)).toMatchObject({
      status: 400,
    });
    // A HEAD (a link checker) sends nothing.
    expect((await raw(`/send?${creds}&to=15555550200&content=head`, { method: 'HEAD' })).status).toBe(404);
  });

  it('takes hex-content in UCS-2 (coding 8), an sdt, a validity-period, and a JSON body', async () => {
    const hex = Buffer.from('Привет', 'utf16le').swap16().toString('hex');
    const r = await raw(
      `/send?${creds}&to=15555550230&coding=8&hex-content=${hex}&validity-period=30&sdt=000000010000000R`,
    );
    expect(r.status, r.text).toBe(200);
    const m = await message(idOf(r.text));
    expect(m.text).toBe('Привет');
    expect(m.status).toBe('scheduled');
    expect(new Date(m.send_at).getTime()).toBeGreaterThan(Date.now() + 50 * 60_000);
    const j = await raw('/send', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: login, password, to: '15555550231', content: 'From JSON' }),
    });
    expect(j.status, j.text).toBe(200);
    expect((await message(idOf(j.text))).text).toBe('From JSON');
  });

  it('/balance, /rate and /ping', async () => {
    const b = await raw(`/balance?${creds}`);
    expect(b.status).toBe(200);
    expect(JSON.parse(b.text)).toEqual({ balance: 'unlimited', sms_count: 'unlimited' });
    const r = await raw(`/rate?${creds}&to=15555550200&content=${'x'.repeat(200)}`);
    expect(JSON.parse(r.text)).toEqual({ unit_rate: 0, submit_sm_count: 2 });
    const bad = await raw(`/balance?username=${login}&password=nope`);
    expect(bad.status).toBe(403);
    expect(JSON.parse(bad.text)).toBe(`Authentication failure for username:${login}`);
    expect(await raw('/ping')).toMatchObject({ status: 200, text: 'Jasmin/PONG' });
  });

  it('REST /secure/send with Basic auth and underscores; 401 without credentials', async () => {
    const basic = `Basic ${Buffer.from(`${login}:${password}`).toString('base64')}`;
    const r = await raw('/secure/send', {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/json' },
      body: JSON.stringify({
        to: '15555550240',
        from: 'Rest',
        content: 'Via REST',
        dlr_url: `${rx.url}/dlr-rest`,
        dlr_level: 1,
        dlr_method: 'GET',
      }),
    });
    expect(r.status, r.text).toBe(200);
    const data = JSON.parse(r.text).data as string;
    expect(data).toMatch(/^Success "[^"]+"$/);
    const hits = await eventually(async () => (hitsAt('/dlr-rest').length ? hitsAt('/dlr-rest') : undefined));
    expect(new URL(hits[0]!.path, rx.url).searchParams.get('id')).toBe(idOf(data));
    const none = await raw('/secure/send', { method: 'POST', body: '{}' });
    expect(none.status).toBe(401);
    const missing = await raw('/secure/send', {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/json' },
      body: JSON.stringify({ content: 'x' }),
    });
    expect(missing.status).toBe(400);
    expect(JSON.parse(missing.text)).toEqual({ message: 'Error "Mandatory argument [to] is not found."' });
    const bal = await raw('/secure/balance', { headers: { authorization: basic } });
    expect(JSON.parse(bal.text)).toEqual({ data: { balance: 'unlimited', sms_count: 'unlimited' } });
  });

  it('REST /secure/sendbatch: globals, a list of to, callbacks per message', async () => {
    const basic = `Basic ${Buffer.from(`${login}:${password}`).toString('base64')}`;
    const r = await raw('/secure/sendbatch', {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/json' },
      body: JSON.stringify({
        globals: { from: 'Batch' },
        messages: [
          { to: ['15555550250', '15555550251'], content: 'Hello all' },
          { to: '15555550252', content: 'Hello one' },
          { to: 'not-a-number', content: 'bad' },
          { content: 'no to: ignored' },
        ],
        batch_config: { callback_url: `${rx.url}/batch-ok`, errback_url: `${rx.url}/batch-err` },
      }),
    });
    expect(r.status, r.text).toBe(200);
    const data = JSON.parse(r.text).data as { batchId: string; messageCount: number };
    expect(data.messageCount).toBe(4);
    const ok = await eventually(async () =>
      hitsAt('/batch-ok').length >= 3 ? hitsAt('/batch-ok') : undefined,
    );
    const err = await eventually(async () =>
      hitsAt('/batch-err').length ? hitsAt('/batch-err') : undefined,
    );
    const okParams = ok.map((h) => new URL(h.path, rx.url).searchParams);
    expect(okParams.map((p) => p.get('to')).sort()).toEqual(['15555550250', '15555550251', '15555550252']);
    for (const p of okParams) {
      expect(p.get('batchId')).toBe(data.batchId);
      expect(p.get('status')).toBe('1');
      expect(p.get('statusText')).toMatch(/^Success "/);
    }
    const e = new URL(err[0]!.path, rx.url).searchParams;
    expect(e.get('status')).toBe('0');
    expect(e.get('to')).toBe('not-a-number');
    const past = await raw('/secure/sendbatch', {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [], batch_config: { schedule_at: '2001-01-01 00:00:00' } }),
    });
    expect(past.status).toBe(412);
  });

  it('a seeded fuzzer of /send, /rate and /secure/send arguments: every answer a Jasmin 2xx/4xx, never a 5xx', async () => {
    const rnd = seeded(16_3);
    const names = [
      'username',
      'password',
      'to',
      'from',
      'content',
      'hex-content',
      'coding',
      'priority',
      'sdt',
      'validity-period',
      'dlr',
      'dlr-url',
      'dlr-level',
      'dlr-method',
      'tags',
      'custom_tlvs',
      'x',
    ];
    const values = () =>
      rnd.pick([
        '',
        '0',
        '1',
        '3',
        '8',
        '-1',
        '99999999999999999999',
        '1e400',
        'Infinity',
        'yes',
        'no',
        'get',
        'POST',
        '15555550299',
        '+15555550299',
        'zz',
        'ÿþ',
        '%',
        '&',
        'http://127.0.0.1:1/x',
        'ftp://x',
        '000000010000000R',
        '991340250000000+',
        '26120109000000-',
        'D0A0',
        'abc',
        login,
        password,
        'x'.repeat(rnd.int(3000)),
      ]);
    for (let i = 0; i < 150; i++) {
      const args = new URLSearchParams();
      if (rnd.chance(0.8)) args.set('username', login);
      if (rnd.chance(0.8)) args.set('password', password);
      for (let n = rnd.int(6); n > 0; n--) args.set(rnd.pick(names), values());
      const path = rnd.pick(['/send', '/rate', '/balance']);
      const r = rnd.chance(0.5)
        ? await raw(`${path}?${args.toString()}`)
        : await raw(path === '/send' ? '/send' : `${path}?${args.toString()}`, {
            method: path === '/send' ? 'POST' : 'GET',
            ...(path === '/send'
              ? {
                  headers: {
                    'content-type': rnd.pick([
                      'application/x-www-form-urlencoded',
                      'application/json',
                      'text/plain',
                    ]),
                  },
                  body: rnd.chance(0.1) ? '{bad json' : args.toString(),
                }
              : {}),
          });
      expect(r.status, `${path} ${args.toString()}: ${r.text}`).toBeLessThan(500);
      if (path === '/send') expect(r.text).toMatch(/^(Success|Error) "/);
    }
    const basic = `Basic ${Buffer.from(`${login}:${password}`).toString('base64')}`;
    for (let i = 0; i < 50; i++) {
      const body: Record<string, unknown> = {};
      for (let n = rnd.int(6); n > 0; n--)
        body[rnd.pick(names).replace(/-/g, '_')] = rnd.pick([
          values(),
          1,
          true,
          null,
          [],
          { a: 1 },
          ['15555550299'],
        ]);
      const r = await raw(rnd.pick(['/secure/send', '/secure/sendbatch']), {
        method: 'POST',
        headers: { authorization: basic, 'content-type': 'application/json' },
        body: rnd.chance(0.1)
          ? '['
          : JSON.stringify(rnd.chance(0.3) ? { messages: [body], globals: body } : body),
      });
      expect(r.status, `${JSON.stringify(body)}: ${r.text}`).toBeLessThan(500);
    }
  });
});
