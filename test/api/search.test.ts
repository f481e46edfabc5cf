/**
 * Search in every script, on both databases, through the real server: SQLite's own lower()
 * folds ASCII only, so `Привет` used to find nothing. Numbers normalise like sending does and
 * match partially by their digits.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { foldText, numberQuery } from '../../src/core/search.js';
import type { TestApp } from '../support/app.js';
import { eventually, startTestApp } from '../support/app.js';
import { PG_URL, pgSchemaUrl } from '../support/db.js';

const TEXTS = [
  ['+79001234567', 'Привет, ваш код 1234'],
  ['+79001234568', 'привет снова'],
  ['+905321112233', 'İstanbul şubemize hoş geldiniz'],
  ['+905321112234', 'ISTANBUL ofisi kapalı'],
  ['+8613800138000', '您的短信验证码是 5678'],
  ['+306912345678', 'ΟΔΟΣ Αθηνάς 5'],
  ['+4915112345678', 'Straße gesperrt 50%_off'],
] as const;

const backends = [
  { name: 'sqlite', env: async () => ({ env: {}, drop: async () => {} }) },
  ...(PG_URL
    ? [
        {
          name: 'postgres',
          env: async () => {
            const s = await pgSchemaUrl();
            return { env: { DATABASE_URL: s.url }, drop: s.drop };
          },
        },
      ]
    : []),
];

describe('foldText', () => {
  it('folds case in every script the same way for query and text', () => {
    expect(foldText('ПРИВЕТ')).toBe('привет');
    expect(foldText('İstanbul')).toBe('istanbul');
    expect(foldText('ISTANBUL')).toBe('istanbul');
    expect(foldText('ıstanbul')).toBe('istanbul');
    expect(foldText('ΟΔΟΣ')).toBe(foldText('οδος'));
    expect(foldText('短信')).toBe('短信');
  });
});

describe('numberQuery', () => {
  it('reads whole numbers like sending does and parts by their digits', () => {
    expect(numberQuery('+7 (900) 123-45-67')).toEqual({ exact: '+79001234567' });
    expect(numberQuery('555555')).toEqual({ digits: '555555' });
    expect(numberQuery('8 900 123-45-67', 'RU')).toEqual({ digits: '89001234567', exact: '+79001234567' });
    expect(numberQuery('79001234567', 'RU')).toEqual({ digits: '79001234567' });
    expect(numberQuery('12')).toBeUndefined();
    expect(numberQuery('+12')).toBeUndefined();
  });
});

describe.each(backends)('search on $name', ({ env }) => {
  let t: TestApp;
  let drop: () => Promise<void>;
  const texts = (r: { body: { data: { text: string }[] } }) => r.body.data.map((m) => m.text).sort();

  beforeAll(async () => {
    const e = await env();
    drop = e.drop;
    t = await startTestApp(e.env);
    for (const [to, text] of TEXTS) {
      const r = await t.call('POST', '/v1/messages', { body: { to, text } });
      expect(r.status).toBe(202);
    }
    // Inbound through the simulator channel, as a phone's reply would arrive.
    const channel = (await t.call('GET', '/v1/channels')).body.data[0].id as string;
    for (const [from, text] of TEXTS.slice(0, 3)) {
      const r = await t.call('POST', `/v1/channels/${channel}/inbound`, { body: { from, text } });
      expect(r.status).toBeLessThan(300);
    }
  });
  afterAll(async () => {
    await t?.stop();
    await drop?.();
  });

  it.each([
    ['Привет', 2],
    ['ПРИВЕТ', 2],
    ['привет', 2],
    ['İstanbul', 2],
    ['istanbul', 2],
    ['短信', 1],
    ['οδος', 1],
    ['50%_', 1],
    ['%', 1],
  ])('q=%s finds %i messages', async (q, n) => {
    const r = await t.call('GET', `/v1/messages?q=${encodeURIComponent(q)}`);
    expect(r.status).toBe(200);
    expect(r.body.data).toHaveLength(n);
  });

  it('a whole number in any format matches exactly; a part of one by its digits', async () => {
    const one = (q: string) => t.call('GET', `/v1/messages?to=${encodeURIComponent(q)}`);
    expect(texts(await one('+7 900 123-45-67'))).toEqual(['Привет, ваш код 1234']);
    expect(texts(await one('79001234567'))).toEqual(['Привет, ваш код 1234']);
    expect(texts(await one('900123456'))).toEqual(['Привет, ваш код 1234', 'привет снова']);
    expect(texts(await one('1112233'))).toEqual(['İstanbul şubemize hoş geldiniz']);
    const short = await one('12');
    expect(short.status).toBe(400);
    expect(short.body.error.field).toBe('to');
  });

  it('the CSV export takes the same filters', async () => {
    const r = await fetch(`${t.url}/v1/messages/export?q=${encodeURIComponent('ПРИВЕТ')}`, {
      headers: { authorization: `Bearer ${'test-admin-key-0123456789abcdef'}` },
    });
    expect(r.status).toBe(200);
    const lines = (await r.text()).trim().split('\n');
    expect(lines).toHaveLength(3);
  });

  it('inbound: text in every script and partial numbers', async () => {
    // Inbound rows are stored as the channel hands them over: wait for all three first.
    await eventually(async () =>
      (await t.call('GET', '/v1/inbound')).body.data.length >= 3 ? true : undefined,
    );
    const inbound = (qs: string) => t.call('GET', `/v1/inbound?${qs}`);
    expect((await inbound(`q=${encodeURIComponent('ПРИВЕТ')}`)).body.data).toHaveLength(2);
    expect((await inbound(`q=${encodeURIComponent('İSTANBUL')}`)).body.data).toHaveLength(1);
    expect((await inbound('from=123456')).body.data).toHaveLength(2);
    expect((await inbound(`from=${encodeURIComponent('+90 532 111 22 33')}`)).body.data).toHaveLength(1);
  });
});
