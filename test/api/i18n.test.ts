/**
 * The API's human sentences follow Accept-Language (issue 18): the code and the field stay the
 * same, the `message` is in Russian, Persian, ... and Content-Language names it; English
 * otherwise. Errors made by fastify's validator, by the send path and by the auth hook alike,
 * by the XML reader, the URL guard and the keyword rules, and those Node's parser answers
 * before fastify when the Accept-Language line is among the bytes it hands over.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERRORS } from '../../src/core/errors.js';
import type { TestApp } from '../support/app.js';
import { startTestApp } from '../support/app.js';
import ru from '../../src/i18n/locales/ru.json' with { type: 'json' };
import fa from '../../src/i18n/locales/fa.json' with { type: 'json' };
import de from '../../src/i18n/locales/de.json' with { type: 'json' };

/** One raw HTTP exchange in one write: the status line, headers and the UTF-8 body. */
function raw(port: number, request: string): Promise<{ head: string; body: string }> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const at = text.indexOf('\r\n\r\n');
      resolve({ head: text.slice(0, at), body: text.slice(at + 4) });
    });
    s.on('error', reject);
    s.write(request);
  });
}

describe('API sentences in the client language', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ SMSGW_SIMULATOR: 'false' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  const send = (body: unknown, lang?: string) =>
    t.call('POST', '/v1/messages', { body, headers: lang ? { 'accept-language': lang } : {} });

  it('Russian: an unknown field is refused in Russian, code and field unchanged', async () => {
    const r = await send({ to: '+15550000002', text: 'hi', sender: 'ACME' }, 'ru-RU,ru;q=0.9,en;q=0.8');
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'unknown_field', field: 'sender' });
    expect(r.body.error.message).toBe(
      'Неизвестное поле «sender» в теле запроса: оно было бы проигнорировано, поэтому ничего не сделано.',
    );
    expect(r.headers.get('content-language')).toBe('ru');
    const en = await send({ to: '+15550000002', text: 'hi', sender: 'ACME' });
    expect(en.body.error.message).toBe(
      'Unknown field "sender" in the body: it would be ignored, so nothing was done.',
    );
    expect(en.headers.get('content-language')).toBe('en');
  });

  it('Persian: blank text, a past send_at and a schema error are refused in Persian', async () => {
    const blank = await send({ to: '+15550000003', text: '   ' }, 'fa-IR');
    expect(blank.body.error).toMatchObject({ code: 'blank_text', field: 'text' });
    expect(blank.body.error.message).toBe(fa.api.send.blankText);
    expect(blank.headers.get('content-language')).toBe('fa');

    const past = await send({ to: '+15550000003', text: 'hi', send_at: '2025-01-01T00:00:00Z' }, 'fa');
    expect(past.body.error.code).toBe('send_at_in_past');
    expect(past.body.error.message).toMatch(
      /^send_at \(2025-01-01T00:00:00\.000Z\) بیش از \d+ دقیقه در گذشته است/,
    );

    const long = await send({ to: '+15550000003', text: 'x'.repeat(5000) }, 'fa');
    expect(long.body.error).toMatchObject({ code: 'text_too_long', field: 'text' });
    expect(long.body.error.message).toMatch(/^متن به 33 بخش \(gsm7\) نیاز دارد؛ حداکثر \d+ بخش مجاز است\.$/);

    const limit = await t.call('GET', '/v1/messages?limit=abc', { headers: { 'accept-language': 'fa' } });
    expect(limit.body.error).toMatchObject({ code: 'validation_failed', field: 'limit' });
    expect(limit.body.error.message).toBe(
      'فیلد «limit» در رشتهٔ پرس‌وجو نامعتبر است: باید عدد صحیحی با رقم‌های دهدهی باشد.',
    );
  });

  it('Russian: authentication and a missing message, with and without a specific sentence', async () => {
    const wrong = await t.call('GET', '/v1/messages', {
      auth: 'admin:wrong-password',
      headers: { 'accept-language': 'ru' },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toMatchObject({ code: 'invalid_credentials', message: ru.api.auth.wrongLogin });
    const missing = await t.call('GET', '/v1/messages/01900000-0000-7000-8000-000000000000', {
      headers: { 'accept-language': 'ru' },
    });
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({ code: 'not_found', message: ru.api.messages.noSuchMessage });
    const route = await t.call('GET', '/v1/nowhere', { headers: { 'accept-language': 'ru' } });
    expect(route.body.error).toMatchObject({
      code: 'route_not_found',
      message: 'Метода GET /v1/nowhere нет.',
    });
  });

  it('invalid JSON is refused in the language, never in English', async () => {
    // Every code has a translated sentence; a specific English one never reaches a Russian client.
    for (const code of Object.keys(ERRORS)) expect(ru.errors[code as keyof typeof ru.errors]).toBeTruthy();
    const r = await t.call('POST', '/v1/messages', {
      body: '{"to": ',
      headers: { 'content-type': 'application/json', 'accept-language': 'ru' },
    });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('invalid_json');
    // The frame in Russian, JSON.parse's own words after it.
    expect(r.body.error.message).toMatch(/^Тело запроса не является корректным JSON: \S.*/);
  });

  it('German and Chinese: a refused number and a missing rule, with the number quoted', async () => {
    const bad = await t.call('POST', '/v1/opt-outs', {
      body: { number: 'abc' },
      headers: { 'accept-language': 'de-DE,de;q=0.9' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({
      code: 'invalid_number',
      field: 'number',
      message:
        'Eine Rufnummer darf nur Ziffern, +, Leerzeichen, Punkte, Bindestriche und Klammern enthalten.',
    });
    const rule = await t.call('DELETE', '/v1/keywords/01900000-0000-7000-8000-000000000000', {
      headers: { 'accept-language': 'zh-CN' },
    });
    expect(rule.status).toBe(404);
    expect(rule.body.error).toMatchObject({ code: 'not_found', message: '该规则不存在。' });
  });

  it('German: the XML reader frames the parser detail and names the line; an undeclared entity is explained', async () => {
    const xml = (body: string) =>
      t.call('POST', '/v1/messages', {
        body,
        headers: { 'content-type': 'application/xml', 'accept-language': 'de' },
      });
    const broken = await xml('<message><to>+15550000004</to><text>hi</message>');
    expect(broken.status).toBe(400);
    expect(broken.body.error).toMatchObject({ code: 'invalid_xml', field: null });
    expect(broken.body.error.message).toMatch(/^Das XML ist nicht wohlgeformt: .+ \(Zeile 1\)\.$/);
    const amp = await xml('<message><to>+15550000004</to><text>Tom &nbsp; Jerry</text></message>');
    expect(amp.body.error).toMatchObject({
      code: 'invalid_xml',
      message: 'Die Entity &nbsp; ist nicht deklariert (und kann es nicht sein).',
    });
    expect(amp.headers.get('content-language')).toBe('de');
    const dtd = await xml('<!DOCTYPE m [<!ENTITY e "x">]><message><text>&e;</text></message>');
    expect(dtd.body.error).toMatchObject({ code: 'xml_dtd_forbidden', message: de.api.xml.dtd });
  });

  it('German: a keyword rule with a runaway regex; Persian: a private forward URL, a bad sender id', async () => {
    const rule = await t.call('POST', '/v1/keywords', {
      body: { match_type: 'regex', pattern: '(a+)+$', action: 'tag', tag: 'x' },
      headers: { 'accept-language': 'de' },
    });
    expect(rule.status).toBe(400);
    expect(rule.body.error).toMatchObject({
      code: 'validation_failed',
      field: 'pattern',
      message: 'Dieser reguläre Ausdruck könnte exponentiell lange laufen; vereinfachen Sie ihn.',
    });
    const forward = await t.call('POST', '/v1/keywords', {
      body: { match_type: 'exact', pattern: 'INFO', action: 'forward', forward_url: 'http://10.0.0.1/hook' },
      headers: { 'accept-language': 'fa-IR' },
    });
    expect(forward.status).toBe(400);
    expect(forward.body.error).toMatchObject({ code: 'unsafe_url', field: 'forward_url' });
    expect(forward.body.error.message).toBe(
      '10.0.0.1 نشانی عمومی نیست (شبکهٔ خصوصی)؛ درگاه با چنین نشانی‌هایی تماس نمی‌گیرد مگر آنکه ' +
        'گردانندهٔ آن اجازه داده باشد (SMSGW_WEBHOOK_ALLOW_PRIVATE، SMSGW_WEBHOOK_ALLOW_CIDRS).',
    );
    const inside = await t.call('POST', '/v1/keywords', {
      body: {
        match_type: 'exact',
        pattern: 'INFO',
        action: 'forward',
        forward_url: 'http://[::ffff:10.1.2.3]/',
      },
      headers: { 'accept-language': 'fa' },
    });
    expect(inside.body.error.message).toMatch(
      /^::ffff:a01:203 نشانی عمومی نیست \(شبکهٔ خصوصی، IPv4 10\.1\.2\.3 درون IPv6\)؛ /,
    );
    const sender = await send({ to: '+15550000004', text: 'hi', from: 'no sender!' }, 'fa');
    expect(sender.status).toBe(400);
    expect(sender.body.error).toMatchObject({
      code: 'validation_failed',
      field: 'from',
      message: fa.phone.sender,
    });
  });

  it("Node's parser: a malformed request in Persian, headers too large in German, English without the header", async () => {
    const port = Number(new URL(t.url).port);
    const bad = await raw(port, 'GET /\x01 HTTP/1.1\r\nHost: x\r\nAccept-Language: fa-IR,fa;q=0.9\r\n\r\n');
    expect(bad.head).toMatch(/^HTTP\/1\.1 400 /);
    expect(bad.head).toMatch(/\r\nContent-Language: fa\r\n/);
    expect(JSON.parse(bad.body)).toEqual({
      error: { code: 'validation_failed', message: fa.api.notHttp, field: null },
    });
    // One write well under a loopback read (64 KiB): the Accept-Language line reaches the parser
    // in the chunk it gives up on.
    const big = `X-Big: ${'a'.repeat(20_000)}\r\n`;
    const huge = await raw(port, `GET /healthz HTTP/1.1\r\nHost: x\r\nAccept-Language: de\r\n${big}\r\n`);
    expect(huge.head).toMatch(/^HTTP\/1\.1 431 /);
    expect(JSON.parse(huge.body).error).toMatchObject({
      code: 'headers_too_large',
      message: de.errors.headers_too_large,
    });
    const plain = await raw(port, `GET /healthz HTTP/1.1\r\nHost: x\r\n${big}\r\n`);
    expect(JSON.parse(plain.body).error.message).toBe('The request headers are too large.');
    expect(plain.head).toMatch(/\r\nContent-Language: en\r\n/);
  });

  it("the seed's face: its description stays English, the error object follows Accept-Language", async () => {
    const r = await t.call('GET', '/smsc.php?login=nobody', {
      auth: '',
      headers: { 'accept-language': 'fa' },
    });
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({
      success: false,
      description: 'Check your login and password',
      error: { code: 'unauthorized', field: 'login', message: fa.api.seed.checkLogin },
    });
    expect(r.headers.get('content-language')).toBe('fa');
  });

  it("a send's per-recipient refusals: the code's sentence in the language, the detailed one in English", async () => {
    const body = { to: ['+15550000011', 'not a number', '+15550000011'], text: 'hi' };
    const r = await send(body, 'de-DE');
    expect(r.status).toBe(202);
    expect(r.headers.get('content-language')).toBe('de');
    const refused = (res: typeof r) =>
      Object.fromEntries(
        (res.body.messages as { error?: { code: string; message: string } }[])
          .filter((m) => m.error)
          .map((m) => [m.error!.code, m.error!.message]),
      );
    expect(refused(r)).toEqual({
      invalid_number: de.errors.invalid_number,
      duplicate_recipient: de.errors.duplicate_recipient,
    });
    const en = await send(body);
    expect(en.headers.get('content-language')).toBe('en');
    expect(refused(en).duplicate_recipient).toBe('This number is already in the request.');
    expect(refused(en).invalid_number).not.toBe(de.errors.invalid_number);
  });

  it('a language we do not have gets English', async () => {
    const r = await send({ to: '+15550000003', text: '  ' }, 'ja-JP, pt;q=0.5');
    expect(r.body.error.message).toBe('The message text has only spaces; nothing would be read.');
    expect(r.headers.get('content-language')).toBe('en');
  });
});
