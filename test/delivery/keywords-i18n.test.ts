/**
 * STOP, START and HELP in six languages (issue 18): with no words of the owner's own, a
 * subscriber's СТОП, 退订, BASTA, لغو or STOPP opts out like STOP does, and the confirmation is in
 * the language of the word; an owner's own reply still wins. Through the real inbound path
 * (simulator channel, the queue, the store).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEYWORDS, keywordLanguage, normalizeWord, singleWord } from '../../src/core/keywords.js';
import { tr } from '../../src/i18n/index.js';
import type { TestApp } from '../support/app.js';
import { eventually, startTestApp, userWithSimulator } from '../support/app.js';

describe('keywords per language', () => {
  it('reads a keyword whatever the script, keyboard and punctuation', () => {
    expect(singleWord(' стоп. ')).toBe('СТОП');
    expect(singleWord('退订。')).toBe('退订');
    expect(singleWord('td')).toBe('TD');
    // Arabic yeh and kaf (an Arabic keyboard) and Persian digits are the same Persian word.
    expect(singleWord('لغو۱۱')).toBe('لغو11');
    expect(normalizeWord('عضويت')).toBe('عضویت');
    expect(singleWord('لغو؟')).toBe('لغو');
    expect(singleWord('Stopp!')).toBe('STOPP');
  });

  it('knows the language of a word: by the lists, else by its script', () => {
    expect(keywordLanguage('СТОП')).toBe('ru');
    expect(keywordLanguage('TD')).toBe('zh');
    expect(keywordLanguage('BASTA')).toBe('it');
    expect(keywordLanguage('لغو')).toBe('fa');
    expect(keywordLanguage('ABMELDEN')).toBe('de');
    expect(keywordLanguage('STOP')).toBe('en');
    expect(keywordLanguage('ХВАТИТ')).toBe('ru');
    expect(keywordLanguage('停止')).toBe('zh');
  });

  describe('through the gateway', () => {
    let t: TestApp;
    let key: string;
    let channelId: string;
    beforeAll(async () => {
      t = await startTestApp({ SMSGW_SIMULATOR: 'false' });
      ({ channelId } = await userWithSimulator(
        t,
        { login: 'kw', password: 'kw-password-1' },
        { name: 'sim-kw', deliveryDelayMs: 5 },
      ));
      key = (await t.call('POST', '/v1/keys', { auth: 'kw:kw-password-1', body: { name: 'k' } })).body.key;
    });
    afterAll(async () => {
      await t?.stop();
    });

    const inject = (from: string, text: string) =>
      t.call('POST', `/v1/channels/${channelId}/inbound`, { body: { from, text } });
    const replyTo = (phone: string, n = 1) =>
      eventually(async () => {
        const list = await t.call('GET', `/v1/messages?to=${encodeURIComponent(phone)}`, { auth: key });
        return list.body.data.length >= n ? list.body.data : undefined;
      });
    const optedOut = async () =>
      (await t.call('GET', '/v1/opt-outs', { auth: key })).body.data.map((o: { number: string }) => o.number);

    const cases = [
      ['ru', 'Стоп', '+15555551001'],
      ['zh', '退订', '+15555551002'],
      ['it', 'basta', '+15555551003'],
      ['fa', 'لغو۱۱', '+15555551004'],
      ['de', 'STOPP', '+15555551005'],
      ['en', 'stop', '+15555551006'],
    ] as const;
    for (const [lang, word, phone] of cases) {
      it(`${lang}: "${word}" opts out and is confirmed in ${lang}`, async () => {
        expect((await inject(phone, word)).status).toBe(202);
        const [confirm] = await replyTo(phone);
        expect(confirm.text).toBe(tr(lang, 'keywords.stop'));
        expect(await optedOut()).toContain(phone);
      });
    }

    it('START and HELP answer in their language too, and the opt-out is lifted', async () => {
      const phone = '+15555551001';
      await inject(phone, 'СТАРТ');
      const after = await replyTo(phone, 2);
      expect(after.map((m: { text: string }) => m.text)).toContain(tr('ru', 'keywords.start'));
      expect(await optedOut()).not.toContain(phone);
      await inject('+15555551007', 'hilfe');
      const [help] = await replyTo('+15555551007');
      expect(help.text).toBe(tr('de', 'keywords.help'));
    });

    it("an owner's own words and reply win; a word of theirs gets its script's language", async () => {
      const patch = await t.call('PATCH', '/v1/settings', {
        auth: key,
        body: { stop_words: ['хватит', 'STOP'], stop_reply: null },
      });
      expect(patch.body.stop_words).toEqual(['ХВАТИТ', 'STOP']);
      await inject('+15555551008', 'Хватит!');
      const [ru] = await replyTo('+15555551008');
      expect(ru.text).toBe(tr('ru', 'keywords.stop'));
      // Not among the owner's words any more: an ordinary inbound message.
      await inject('+15555551009', 'СТОП');
      await t.app.inbound.idle();
      expect(await optedOut()).not.toContain('+15555551009');
      await t.call('PATCH', '/v1/settings', { auth: key, body: { stop_reply: 'Bye.' } });
      await inject('+15555551010', 'stop');
      const [own] = await replyTo('+15555551010');
      expect(own.text).toBe('Bye.');
    });

    it('publishes the defaults per language for the Settings page', async () => {
      const r = await t.call('GET', '/v1/settings/keywords', { auth: key });
      expect(r.status).toBe(200);
      expect(r.body.languages.map((l: { lang: string }) => l.lang)).toEqual([
        'en',
        'ru',
        'zh',
        'it',
        'fa',
        'de',
      ]);
      const fa = r.body.languages.find((l: { lang: string }) => l.lang === 'fa');
      expect(fa.stop).toEqual([...KEYWORDS.fa.stop]);
      expect(fa.replies.stop).toBe(tr('fa', 'keywords.stop'));
    });
  });
});
