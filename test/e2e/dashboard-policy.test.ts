/**
 * The sending-policy pages in Chromium (playwright-core, Debian's /usr/bin/chromium) against a
 * real gateway: a user submits a template, an admin rejects it with a reason, the user sees the
 * reason, edits it, the admin approves it; a number goes on the blacklist and off again (and a
 * CSV import reports its refused rows); an admin's credit shows on the user's balance page;
 * caps saved from the policy page; the pages in Persian (dir=rtl) fit a 390 px phone.
 */
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../support/app.js';
import type { DashboardBrowser } from '../support/browser.js';
import { DESKTOP, NO_CHROMIUM, PHONE } from '../support/browser.js';
import { ADMIN_PASSWORD } from '../support/app.js';
import { addUser, axeAcross, startDashboard } from '../support/dashboard.js';

const SAVE_PRICE = JSON.parse(readFileSync('web/src/locales/policy/en.json', 'utf8')).balance
  .savePrice as string;
const faPolicy = JSON.parse(readFileSync('web/src/locales/policy/fa.json', 'utf8'));

describe.skipIf(NO_CHROMIUM)('dashboard: sending-policy pages', () => {
  let t: TestApp;
  let browser: DashboardBrowser;
  let nadiaAuth: string;

  beforeAll(async () => {
    ({ t, browser } = await startDashboard());
    await addUser(t, 'nadia');
    nadiaAuth = 'nadia:nadia-password';
  });

  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  async function open(
    locale: string,
    user: string,
    password: string,
    viewport: { width: number; height: number } = DESKTOP,
  ): Promise<Page> {
    return browser.logIn(t.url, user, password, { viewport, locale, timezoneId: 'UTC' });
  }

  /** Opens a page of the dashboard afresh (a reload: the lists are read again). */
  async function visit(page: Page, hash: string): Promise<void> {
    await page.goto(`${t.url}/#/${hash}`);
    await page.reload();
    await page.locator('main h1').waitFor();
  }

  it('a template is submitted, rejected with a reason, edited, approved; the user sees each state', async () => {
    const user = await open('en-GB', 'nadia', 'nadia-password');
    await user.getByRole('link', { name: 'Templates' }).click();
    await user.locator('input[name="templates-name"]').fill('Order shipped');
    await user.locator('select[name="category"]').selectOption('notification');
    // 170 GSM characters without the variable: two segments of 153.
    const text = `Your order {order} has shipped. ${'x'.repeat(140)}`;
    await user.locator('textarea[name="template-text"]').fill(text);
    await user.getByTestId('template-segments').getByText('2 segments (GSM7)', { exact: false }).waitFor();
    await user.getByRole('button', { name: 'Submit for review' }).first().click();
    const mine = user.getByTestId('my-templates').locator('tr', { hasText: 'Order shipped' });
    await mine.getByText('Pending review').waitFor();

    const admin = await open('en-GB', 'admin', ADMIN_PASSWORD);
    await admin.getByRole('link', { name: 'Templates' }).click();
    const queued = admin.getByTestId('queue-templates').locator('tr', { hasText: 'Order shipped' });
    await queued.getByText('nadia').waitFor();
    // Reject asks first and shows the reason; Cancel rejects nothing.
    await queued.locator('input[name="reject-reason"]').fill('Name the shop in the text');
    await queued.getByRole('button', { name: /^Reject/ }).click();
    const dialog = admin.getByRole('dialog');
    await dialog.getByText('Reject “Order shipped”?').waitFor();
    expect(await dialog.textContent()).toContain(
      'The customer will see this reason: Name the shop in the text',
    );
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    const [tpl] = (await t.call('GET', '/v1/templates', { auth: nadiaAuth })).body.data;
    expect(tpl.status).toBe('pending');
    await queued.getByRole('button', { name: /^Reject/ }).click();
    await dialog.getByRole('button', { name: 'Reject' }).click();
    await admin
      .getByTestId('queue-templates')
      .locator('tr', { hasText: 'Order shipped' })
      .waitFor({ state: 'detached' });
    const rejected = (await t.call('GET', `/v1/templates/${tpl.id}`, { auth: nadiaAuth })).body;
    expect([rejected.status, rejected.reason]).toEqual(['rejected', 'Name the shop in the text']);

    // The user sees the state and the reason, edits the text, and it goes back to review.
    await visit(user, 'templates');
    await mine.getByText('Rejected').waitFor();
    expect(await mine.getByTestId('reject-reason').textContent()).toBe('Reason: Name the shop in the text');
    await mine.getByRole('button', { name: /^Edit/ }).click();
    await user.locator('textarea[name="template-text"]').fill('Acme shop: your order {order} has shipped.');
    await user.getByRole('button', { name: 'Save and resubmit' }).click();
    await mine.getByText('Pending review').waitFor();

    await visit(admin, 'templates');
    await queued.getByText('Acme shop: your order {order} has shipped.').waitFor();
    await queued.getByRole('button', { name: /^Approve/ }).click();
    await admin.getByText('Nothing awaiting review.').first().waitFor();

    await visit(user, 'templates');
    await mine.getByText('Approved').waitFor();
    expect((await t.call('GET', `/v1/templates/${tpl.id}`, { auth: nadiaAuth })).body.status).toBe(
      'approved',
    );
  });

  it('a number goes on the blacklist and off again, confirmed; a CSV import names its refused rows', async () => {
    const page = await open('en-GB', 'nadia', 'nadia-password');
    await page.getByRole('link', { name: 'Lists' }).click();
    await page.locator('input[name="black-user-number"]').fill('+15555550777');
    await page.locator('input[name="black-user-reason"]').fill('asked by phone');
    await page
      .getByRole('form', { name: 'Add to Your blacklist' })
      .getByRole('button', { name: 'Add number' })
      .click();
    const row = page.getByTestId('black-user-table').locator('tr', { hasText: '+15555550777' });
    await row.getByText('asked by phone').waitFor();
    const listed = await t.call('GET', '/v1/blacklist', { auth: nadiaAuth });
    expect(listed.body.data.map((e: { number: string }) => e.number)).toEqual(['+15555550777']);
    // The gateway now refuses it.
    const sent = await t.call('POST', '/v1/messages', {
      auth: nadiaAuth,
      body: { to: ['+15555550777'], text: 'hello' },
    });
    expect(JSON.stringify(sent.body)).toContain('blacklisted');

    await row.getByRole('button', { name: /^Remove/ }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('Remove +15555550777 from the blacklist?').waitFor();
    await dialog.getByRole('button', { name: 'Remove' }).click();
    await row.waitFor({ state: 'detached' });
    expect((await t.call('GET', '/v1/blacklist', { auth: nadiaAuth })).body.data).toEqual([]);

    // CSV import into the whitelist: two good rows, one refused with its line.
    await page.locator('input[name="white-user-import"]').setInputFiles({
      name: 'white.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from('number,reason\n+15555550101,staff\nnot-a-number,oops\n+15555550102,staff\n'),
    });
    // A bulk change: the file is named and nothing is imported until confirmed.
    const ask = page.getByRole('dialog');
    await ask.getByText('Import “white.csv” into “Your whitelist”?').waitFor();
    expect((await t.call('GET', '/v1/whitelist', { auth: nadiaAuth })).body.data).toEqual([]);
    await ask.getByRole('button', { name: 'Import CSV…' }).click();
    const result = page.getByTestId('import-result');
    await result.getByText('2 numbers added.').waitFor();
    expect(await result.textContent()).toContain('1 row refused.');
    await result.locator('tr', { hasText: 'not-a-number' }).getByText('3', { exact: true }).waitFor();
    await page.getByTestId('white-user-table').locator('tr', { hasText: '+15555550102' }).waitFor();
    const exportHref = await page.getByRole('link', { name: 'Export CSV' }).nth(1).getAttribute('href');
    expect(exportHref).toBe('/v1/whitelist/export');
  });

  it("shows the admin's credit on the user's balance page, after a confirmation with the amount", async () => {
    const admin = await open('en-GB', 'admin', ADMIN_PASSWORD);
    await admin.getByRole('link', { name: 'Balance' }).click();
    await admin.locator('select[name="balance-user"]').selectOption({ label: 'nadia' });
    await admin.getByRole('heading', { name: 'Top up nadia' }).waitFor();
    await admin.locator('input[name="credit-amount"]').fill('1500');
    await admin.locator('input[name="credit-note"]').fill('invoice 42');
    await admin.locator('select[name="credit-mode"]').selectOption('prepaid');
    await admin.getByRole('form', { name: 'Top up nadia' }).getByRole('button', { name: 'Top up' }).click();
    const dialog = admin.getByRole('dialog');
    await dialog.getByText('Add 1,500 credits to nadia?').waitFor();
    expect(await dialog.textContent()).toContain('Billing will change to: Prepaid.');
    await dialog.getByRole('button', { name: 'Top up' }).click();
    await admin.getByTestId('balance-amount').getByText('1,500').waitFor();

    // A new price is saved at once; changing one in force asks first, with the old and new price.
    const form = admin.getByRole('form', { name: 'Set a price' });
    const price = async (perSegment: string) => {
      await form.locator('input[name="price-prefix"]').fill('+49');
      await form.locator('input[name="price-per-segment"]').fill(perSegment);
      await form.getByRole('button', { name: SAVE_PRICE }).click();
    };
    await price('7');
    await expect.poll(async () => (await t.call('GET', '/v1/prices')).body.data.length).toBe(1);
    await price('9');
    await dialog.getByText('Change the price for +49 from 7 to 9 per segment?').waitFor();
    expect((await t.call('GET', '/v1/prices')).body.data[0].per_segment).toBe(7);
    await dialog.getByRole('button', { name: 'Change' }).click();
    await expect.poll(async () => (await t.call('GET', '/v1/prices')).body.data[0].per_segment).toBe(9);

    const user = await open('en-GB', 'nadia', 'nadia-password');
    await user.getByRole('link', { name: 'Balance' }).click();
    await user.getByTestId('balance-amount').getByText('1,500').waitFor();
    const entry = user.getByTestId('ledger').locator('tr', { hasText: 'invoice 42' });
    expect(await entry.textContent()).toContain('Top-up');
    expect(await entry.textContent()).toContain('+1,500');
    const api = await t.call('GET', '/v1/balance', { auth: nadiaAuth });
    expect([api.body.mode, api.body.balance]).toEqual(['prepaid', 1500]);
  });

  it('saves caps and quiet hours from the policy page, and erases a number only after a confirmation', async () => {
    const page = await open('en-GB', 'nadia', 'nadia-password');
    await page.getByRole('link', { name: 'Policy' }).click();
    const caps = page.getByRole('form', { name: 'Your frequency caps per recipient' });
    await caps.getByRole('button', { name: 'Add a cap' }).click();
    await caps.locator('input[name="caps-user-max-0"]').fill('5');
    await caps.locator('select[name="caps-user-period-0"]').selectOption('hour');
    await caps.getByRole('button', { name: 'Save caps' }).click();
    await caps.getByText('Saved.').waitFor();
    expect((await t.call('GET', '/v1/policy/caps', { auth: nadiaAuth })).body.caps).toEqual([
      { category: null, period: 'hour', max: 5 },
    ]);

    const settings = page.getByRole('form', { name: 'Consent, quiet hours and automatic blacklisting' });
    await settings.getByLabel('Require the recipient').check();
    await settings.getByRole('button', { name: 'Add a window' }).click();
    await settings.getByRole('button', { name: 'Save', exact: true }).click();
    await settings.getByText('Saved.').waitFor();
    const policy = (await t.call('GET', '/v1/policy', { auth: nadiaAuth })).body;
    expect([policy.consent_required, policy.quiet_hours]).toEqual([
      true,
      [{ category: 'marketing', start: '21:00', end: '08:00' }],
    ]);

    await page.locator('input[name="erase-number"]').fill('+15555550101');
    await page.getByRole('button', { name: 'Erase', exact: true }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('This cannot be undone.', { exact: false }).waitFor();
    await dialog.getByRole('button', { name: 'Erase' }).click();
    await page.getByText('Erased for +15555550101.', { exact: false }).waitFor();
  });

  it('speaks Persian right to left and fits a 390 px phone on every policy page', async () => {
    const page = await open('fa-IR', 'admin', ADMIN_PASSWORD, PHONE);
    const wide: string[] = [];
    const titles: Record<string, string> = {
      templates: faPolicy.tpl.title,
      lists: faPolicy.lists.title,
      balance: faPolicy.balance.title,
      policy: faPolicy.pol.title,
    };
    for (const [hash, title] of Object.entries(titles)) {
      await visit(page, hash);
      expect(await page.locator('main h1').textContent()).toBe(title);
      await page.waitForLoadState('networkidle').catch(() => undefined);
      const [dir, width] = await page.evaluate(() => [
        (globalThis as any).document.documentElement.dir,
        (globalThis as any).document.documentElement.scrollWidth,
      ]);
      expect(dir).toBe('rtl');
      if (width > PHONE.width) wide.push(`#/${hash}: ${width}px`);
    }
    expect(wide).toEqual([]);
    // The ledger reads Persian too (a top-up of its own, so this test stands alone).
    const users = (await t.call('GET', '/v1/users')).body.data as { id: string; login: string }[];
    const nadia = users.find((u) => u.login === 'nadia');
    expect(
      (await t.call('POST', `/v1/users/${nadia?.id}/credit`, { body: { amount: 5, note: 'fa' } })).status,
    ).toBe(200);
    await visit(page, 'balance');
    await page.locator('select[name="balance-user"]').selectOption({ label: 'nadia' });
    await page
      .getByTestId('ledger')
      .locator('tr', { hasText: 'fa' })
      .getByText(faPolicy.balance.kind.topup)
      .waitFor();
  });
  it('passes axe-core WCAG 2 A/AA checks on the policy pages, in Persian and in dark mode', async () => {
    const pages = ['templates', 'lists', 'balance', 'policy'];
    expect(
      await axeAcross(browser, t.url, pages, [
        ['fa-IR', 'light'],
        ['de-DE', 'dark'],
      ]),
    ).toEqual([]);
  });
});
