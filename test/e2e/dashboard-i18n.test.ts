/**
 * The dashboard for operators in their own language, on a phone, with confirmations: Debian's
 * Chromium (playwright-core) against a real gateway with the simulator. Russian and Persian
 * browsers get their language (Persian right to left, the sidebar on the right); every page fits
 * 390 px; bulk sends and disabling a channel are confirmed first; dark mode follows the system.
 * Screenshots go to docs/screenshots/ with UPDATE_SCREENSHOTS=1, otherwise to a temp folder.
 */
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../support/app.js';
import type { DashboardBrowser } from '../support/browser.js';
import { DESKTOP, NO_CHROMIUM, PHONE, shot } from '../support/browser.js';
import { ADMIN_PASSWORD } from '../support/app.js';
import { PHONE_OFF_RULES, addUser, axeAcross, fixSimulator, startDashboard } from '../support/dashboard.js';

// Waits, not timing claims: the machine running the suite may be busy (delivery takes 300 ms here).

// Functions passed to page.evaluate run in the page: its globals, not Node's (typed without the DOM).
const fa = JSON.parse(readFileSync('web/src/locales/fa.json', 'utf8'));

describe.skipIf(NO_CHROMIUM)('dashboard: languages, RTL, phone, confirmations', () => {
  let t: TestApp;
  let browser: DashboardBrowser;
  let simFa: string;

  beforeAll(async () => {
    ({ t, browser } = await startDashboard());
    // Everything delivered, except numbers ending in 099x (phone off).
    await fixSimulator(t, { deliveryDelayMs: 300 });
    const made = await t.call('POST', '/v1/channels', {
      // The same outcomes as the first simulator (the default mix fails 5 % at random): the bulk
      // send below expects exactly one failure, whichever channel routing picks.
      body: { name: 'sim-fa', type: 'simulator', config: { successRate: 1, rules: PHONE_OFF_RULES } },
    });
    expect(made.status).toBe(201);
    simFa = made.body.id;
    for (const login of ['olga', 'dariush']) await addUser(t, login);
  });

  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  async function open(
    locale: string,
    user: string,
    password: string,
    opts: { viewport?: { width: number; height: number }; timezoneId?: string; colorScheme?: 'dark' } = {},
  ): Promise<Page> {
    return browser.logIn(t.url, user, password, {
      viewport: opts.viewport ?? DESKTOP,
      locale,
      timezoneId: opts.timezoneId ?? 'UTC',
      ...(opts.colorScheme ? { colorScheme: opts.colorScheme } : {}),
    });
  }

  const scheduled = async (auth: string) =>
    (await t.call('GET', '/v1/messages?status=scheduled', { auth })).body.data as {
      to: string;
      send_at: string;
    }[];

  it('speaks Russian to a Russian browser, confirms a bulk send with its count and segments, then clears the form', async () => {
    const context = await browser.context({
      locale: 'ru-RU',
      timezoneId: 'Europe/Moscow',
      acceptDownloads: true,
    });
    const login = await context.newPage();
    await login.goto(t.url);
    // The login page is Russian before anyone logs in.
    await login.getByRole('button', { name: 'Войти' }).waitFor();
    await login.getByLabel('Логин').fill('olga');
    await login.getByLabel('Пароль').fill('olga-password');
    await login.getByRole('button', { name: 'Войти' }).click();
    const page = login;
    await page.getByTestId('who').filter({ hasText: 'olga' }).waitFor();
    expect(
      await page.evaluate(() => [
        (globalThis as any).document.documentElement.lang,
        (globalThis as any).document.documentElement.dir,
      ]),
    ).toEqual(['ru-RU', 'ltr']);
    await page.getByRole('link', { name: 'Отправка' }).click();

    const numbers = [
      ...Array.from({ length: 11 }, (_, i) => `+155555502${String(i + 1).padStart(2, '0')}`),
      '+15555550991',
    ];
    await page.getByLabel(/^Получатели/).fill(numbers.join('\n'));
    // Russian plurals: 12 получателей, 2 получателя, 1 получатель.
    await expect.poll(() => page.getByTestId('recipient-count').textContent()).toBe('12 получателей');
    // 82 Cyrillic characters: UCS-2, two segments of 67.
    const text = 'Привет! Ваш код 4711. Никому его не сообщайте: сотрудники банка его не спрашивают.';
    await page.getByLabel('Текст', { exact: true }).fill(text);
    await page.getByTestId('counter').getByText('2 сегмента', { exact: true }).waitFor();

    // A bulk send asks first, with the count and what it costs in segments; "Отмена" sends nothing.
    await page.getByRole('button', { name: 'Отправить 12 получателям' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('Отправить это SMS на 12 номеров?').waitFor();
    expect(await dialog.textContent()).toContain('12 получателей × 2 сегм. = 24 сегм. к оплате');
    await dialog.getByRole('button', { name: 'Отмена' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect((await t.call('GET', '/v1/messages', { auth: 'olga:olga-password' })).body.data).toHaveLength(0);

    await page.getByRole('button', { name: 'Отправить 12 получателям' }).click();
    await dialog.getByRole('button', { name: 'Отправить 12 получателям' }).click();
    const result = page.getByTestId('send-result');
    await result.getByText('Принято: 12, отклонено: 0.').waitFor();
    // The form is empty after the send: a second click cannot send the same again.
    expect(await page.getByLabel(/^Получатели/).inputValue()).toBe('');
    expect(await page.getByLabel('Текст', { exact: true }).inputValue()).toBe('');
    await expect.poll(() => page.getByTestId('recipient-count').textContent()).toBe('0 получателей');

    // The batch's bar shows the one failed message in red.
    await result
      .getByText('Завершено 12 из 12: доставлено 11, не доставлено 1, в пути 0.')
      .waitFor({ timeout: 60_000 });
    const failed = page.getByTestId('failed-bar');
    expect(await failed.evaluate((e) => (globalThis as any).getComputedStyle(e).backgroundColor)).toBe(
      'rgb(207, 34, 46)',
    );
    expect((await failed.boundingBox())?.width).toBeGreaterThan(0);
    await shot(page, 'send-ru');
    // The export opens in Excel as UTF-8: a byte order mark, then the Cyrillic text as it was sent.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      result.getByRole('link', { name: 'Выгрузить результаты (CSV)' }).click(),
    ]);
    const bytes = readFileSync((await download.path()) as string);
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(bytes.toString('utf8')).toContain(text);

    // Statuses, dates and the failure reason in Russian.
    await page.getByRole('link', { name: 'Сообщения', exact: true }).click();
    await expect.poll(() => page.locator('table.messages tbody tr').count()).toBe(12);
    await expect
      .poll(() => page.locator('table.messages tbody .badge').allTextContents(), { timeout: 60_000 })
      .toContain('доставлено');
    expect(await page.locator('table.messages tbody .badge').allTextContents()).toContain('не доставлено');

    // Scheduling: UTC and the browser's own zone come first; the chosen zone is echoed.
    await page.getByRole('link', { name: 'Отправка' }).click();
    await page.getByLabel(/^Получатели/).fill('+15555550301');
    await page.getByLabel('Текст', { exact: true }).fill('Напоминание о встрече');
    await page.getByLabel('Отложенная отправка').check();
    const zones = await page.locator('select[name="tz"] option').allTextContents();
    expect(zones.slice(0, 2)).toEqual(['UTC', 'Europe/Moscow']);
    expect(await page.locator('select[name="tz"]').inputValue()).toBe('Europe/Moscow');
    await page.getByLabel('Дата').fill('2030-11-30');
    await page.getByLabel('Время', { exact: true }).fill('09:30');
    await page.getByLabel('Часовой пояс').selectOption('UTC');
    expect(await page.getByTestId('zone-echo').textContent()).toMatch(/30 нояб\. 2030 г\., 09:30 UTC/);
    await page.getByRole('button', { name: 'Запланировать для 1 получателя' }).click();
    expect(await page.getByTestId('scheduled-for').textContent()).toMatch(
      /^Запланировано на 30 нояб\. 2030 г\., 09:30 UTC\./,
    );
    expect((await scheduled('olga:olga-password')).map((m) => m.send_at)).toEqual([
      '2030-11-30T09:30:00.000Z',
    ]);

    // The switcher changes the language at once and the browser remembers it.
    await page.getByLabel('Язык').selectOption('de');
    await page.getByRole('link', { name: 'Senden' }).waitFor();
    await page.reload();
    await page.getByRole('link', { name: 'Nachrichten' }).waitFor();
    expect(await page.evaluate(() => (globalThis as any).document.documentElement.lang)).toBe('de');
  });

  it('mirrors the whole page for Persian: dir="rtl", the sidebar on the right, numbers left to right', async () => {
    await t.call('POST', '/v1/messages', {
      auth: 'dariush:dariush-password',
      body: { to: ['+989121234567'], text: 'سلام، نوبت شما فردا ساعت ۹ است.' },
    });
    const page = await open('fa-IR', 'dariush', 'dariush-password', { timezoneId: 'Asia/Tehran' });
    expect(
      await page.evaluate(() => [
        (globalThis as any).document.documentElement.lang,
        (globalThis as any).document.documentElement.dir,
      ]),
    ).toEqual(['fa-IR', 'rtl']);
    const side = await page.getByTestId('sidebar').boundingBox();
    const main = await page.locator('main').boundingBox();
    if (!side || !main) throw new Error('no layout');
    // The sidebar is at the right edge, the content to its left.
    expect(side.x).toBeGreaterThan(main.x);
    expect(side.x + side.width).toBeCloseTo(DESKTOP.width, -1);
    expect(main.x + main.width).toBeLessThanOrEqual(side.x + 1);
    await page.getByRole('heading', { name: fa.nav.overview }).waitFor();
    await shot(page, 'overview-fa');

    await page.getByRole('link', { name: fa.nav.messages }).click();
    const number = page.locator('table.messages tbody bdi[dir="ltr"]').first();
    await number.waitFor();
    expect(await number.textContent()).toBe('+989121234567');
    expect(await number.evaluate((e) => (globalThis as any).getComputedStyle(e).direction)).toBe('ltr');
    // Table cells start on the right in RTL.
    expect(
      await page
        .locator('table.messages th')
        .first()
        .evaluate((e) => (globalThis as any).getComputedStyle(e).textAlign),
    ).toBe('start');

    // The same in English puts the sidebar on the left.
    const en = await open('en-GB', 'dariush', 'dariush-password');
    const enSide = await en.getByTestId('sidebar').boundingBox();
    const enMain = await en.locator('main').boundingBox();
    expect(enSide && enMain && enSide.x < enMain.x).toBe(true);
    expect(await en.evaluate(() => (globalThis as any).document.documentElement.dir)).toBe('ltr');
  });

  it('asks before disabling a channel (in Persian), and only then disables it', async () => {
    const page = await open('fa-IR', 'admin', ADMIN_PASSWORD);
    await page.getByRole('link', { name: fa.nav.channels }).click();
    const disable = page.getByRole('button', {
      name: fa.channels.disableNamed.replace('{{name}}', 'sim-fa'),
    });
    await disable.click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText(fa.channels.confirmDisable.replace('{{name}}', 'sim-fa')).waitFor();
    await shot(page, 'confirm-fa');
    await dialog.getByRole('button', { name: fa.common.cancel }).click();
    await dialog.waitFor({ state: 'hidden' });
    const channel = async () =>
      (await t.call('GET', '/v1/channels')).body.data.find((c: { id: string }) => c.id === simFa);
    expect((await channel()).enabled).toBe(true);

    await disable.click();
    await dialog.getByRole('button', { name: fa.channels.disable }).click();
    await page.getByRole('button', { name: fa.channels.enableNamed.replace('{{name}}', 'sim-fa') }).waitFor();
    expect((await channel()).enabled).toBe(false);
    await t.call('POST', `/v1/channels/${simFa}/enable`);
  });

  it('asks before rotating the webhook secret and before blocking a user', async () => {
    const page = await open('en-GB', 'admin', ADMIN_PASSWORD);
    await page.goto(`${t.url}/#/admin`);
    const secret = async () => (await t.call('GET', '/v1/settings')).body.webhook_secret as string | null;
    if (!(await secret())) {
      await page.getByRole('button', { name: 'New secret' }).click(); // the first one: nothing to lose
      await expect.poll(secret).toBeTruthy();
      await page.reload();
    }
    const first = await secret();
    await page.getByRole('button', { name: 'Show' }).waitFor(); // the settings are loaded
    await page.getByRole('button', { name: 'New secret' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('Replace the webhook signing secret?').waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect(await secret()).toBe(first);

    await page.getByRole('button', { name: 'Block olga' }).click();
    await dialog.getByText('Block the user olga?').waitFor();
    await dialog.getByRole('button', { name: 'Block' }).click();
    await page.getByRole('button', { name: 'Unblock olga' }).waitFor();
    await page.getByRole('button', { name: 'Unblock olga' }).click(); // unblocking needs no question
    await page.getByRole('button', { name: 'Block olga' }).waitFor();

    // The opt-out words people write in the page's language, one click away.
    await page.getByLabel('Language').selectOption('ru');
    const local = page.getByTestId('local-words');
    expect(await local.textContent()).toContain('СТОП');
    await local.getByRole('button').click();
    expect(await page.locator('input[name="stop_words"]').inputValue()).toContain('STOP, STOPALL');
    expect(await page.locator('input[name="stop_words"]').inputValue()).toContain('СТОП');
    // In Persian the defaults are the Persian words, and word → reply reads right to left.
    await page.getByLabel('Язык').selectOption('fa');
    expect(await local.textContent()).toContain('لغو');
    const arrow = await local
      .locator('.maps-to')
      .first()
      .evaluate((el) => (globalThis as any).getComputedStyle(el, '::before').content);
    expect(arrow).toBe('"←"');
  });

  it('edits a channel config with fields per type, the JSON kept under Advanced and in step', async () => {
    const page = await open('en-GB', 'admin', ADMIN_PASSWORD);
    await page.goto(`${t.url}/#/channels`);
    await page.getByRole('button', { name: 'Add a channel' }).click();
    await page.locator('select[name="type"]').selectOption('smpp');
    await page.getByLabel('SMSC host').fill('smsc.example.net');
    await page.getByLabel('Port', { exact: true }).fill('2775');
    await page.getByLabel('System ID').fill('acme');
    await page.getByLabel('Bind mode').selectOption('transmitter+receiver');
    await page.getByText('Advanced: the whole driver config as JSON').click();
    const json = page.locator('textarea[name="config"]');
    expect(JSON.parse(await json.inputValue())).toEqual({
      host: 'smsc.example.net',
      port: 2775,
      systemId: 'acme',
      bindMode: 'transmitter+receiver',
    });
    // Edited as JSON, the fields follow.
    await json.fill('{"host": "10.0.0.7", "port": 3775, "window": 10}');
    expect(await page.getByLabel('SMSC host').inputValue()).toBe('10.0.0.7');
    expect(await page.getByLabel('System ID').inputValue()).toBe('');
    await json.fill('{"host": ');
    expect(await page.getByLabel('SMSC host').isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Cancel' }).click();
  });

  it('fits a 390 px phone on every page, in English and in Persian, with no clipped actions', async () => {
    const sent = await t.call('POST', '/v1/messages', {
      body: { to: ['+15555550201'], text: 'Длинный текст, long text, 一条很长的短信 '.repeat(4) },
    });
    const anyMessage = sent.body.messages[0].id;
    const wide: string[] = [];
    for (const locale of ['en-GB', 'fa-IR']) {
      const page = await open(locale, 'admin', ADMIN_PASSWORD, { viewport: PHONE });
      for (const hash of [
        'overview',
        'send',
        'messages',
        `messages/${anyMessage}`,
        'inbox/+15555550201',
        'keywords',
        'channels',
        'admin',
      ]) {
        await page.goto(`${t.url}/#/${hash}`);
        await page.locator('main h1').waitFor();
        await page.waitForLoadState('networkidle').catch(() => undefined);
        const width = await page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth);
        if (width > PHONE.width) wide.push(`${locale} #/${hash}: ${width}px`);
        if (hash === 'admin') {
          // Checkboxes keep their size in a narrow row (they were squeezed to 6 px).
          for (const w of await page
            .locator('main input[type="checkbox"]')
            .evaluateAll((els) => els.map((e) => e.getBoundingClientRect().width)))
            if (w < 14) wide.push(`${locale} settings checkbox ${w}px wide`);
        }
        if (hash === 'channels') {
          // Every action button lies inside the screen.
          for (const box of await page
            .locator('main table button')
            .evaluateAll((els) => els.map((e) => e.getBoundingClientRect()).map((r) => [r.left, r.right])))
            if (box[0]! < 0 || box[1]! > PHONE.width) wide.push(`${locale} channels button at ${box}`);
          if (locale === 'fa-IR') await shot(page, 'phone-channels-fa');
        }
      }
    }
    expect(wide).toEqual([]);
  });

  it('passes axe-core WCAG 2 A/AA checks in Persian and in dark mode', async () => {
    const pages = ['overview', 'send', 'messages', 'keywords', 'channels', 'admin'];
    expect(
      await axeAcross(browser, t.url, pages, [
        ['fa-IR', 'light'],
        ['ru-RU', 'dark'],
      ]),
    ).toEqual([]);
  });

  it('follows the system dark mode', async () => {
    const page = await open('en-GB', 'admin', ADMIN_PASSWORD, { colorScheme: 'dark' });
    const bg = await page.evaluate(
      () =>
        (globalThis as any).getComputedStyle((globalThis as any).document.documentElement).backgroundColor,
    );
    expect(bg).toBe('rgb(13, 17, 23)');
    await shot(page, 'overview-dark');
  });
});
