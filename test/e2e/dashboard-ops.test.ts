/**
 * The operators' dashboard pages in a real browser (Debian's Chromium, playwright-core) against a
 * real gateway: where channels run (node column, Nodes section), keyword rules switched and
 * edited, the Users page (role change with confirmation, password reset, keys per user) and the
 * Audit page showing those changes.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../support/app.js';
import type { DashboardBrowser } from '../support/browser.js';
import { DESKTOP, NO_CHROMIUM, PHONE } from '../support/browser.js';
import { ADMIN_PASSWORD } from '../support/app.js';
import { addUser, axeAcross, startDashboard } from '../support/dashboard.js';

describe.skipIf(NO_CHROMIUM)("operators' dashboard in Chromium", () => {
  let t: TestApp;
  let browser: DashboardBrowser;
  let aliceId: string;

  beforeAll(async () => {
    ({ t, browser } = await startDashboard({ SMSGW_NODE_NAME: 'ops-node-1' }));
    aliceId = await addUser(t, 'alice');
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  async function login(
    user: string,
    password: string,
    opts: { locale?: string; viewport?: { width: number; height: number } } = {},
  ): Promise<Page> {
    return browser.logIn(t.url, user, password, {
      viewport: opts.viewport ?? DESKTOP,
      locale: opts.locale ?? 'en-GB',
    });
  }

  const dialog = (page: Page) => page.getByRole('dialog');

  it('shows the node each channel runs on and a Nodes section for admins only', async () => {
    const page = await login('admin', ADMIN_PASSWORD);
    await page.getByRole('link', { name: 'Channels' }).click();
    const row = page.getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'simulator' }) });
    await expect.poll(() => row.getByTestId('channel-node').textContent()).toBe('ops-node-1');
    const nodes = page.getByTestId('nodes');
    const nodeRow = nodes.getByRole('listitem', { name: 'ops-node-1' });
    await nodeRow.waitFor();
    const text = await nodeRow.textContent();
    expect(text).toContain('live');
    expect(text).toContain('this node');
    expect(text).toMatch(/\d+(\.\d)? s ago/);
    expect(text).toContain('simulator');

    const user = await login('alice', 'alice-password');
    await user.getByRole('link', { name: 'Channels' }).click();
    await user.getByTestId('channel-node').first().waitFor();
    expect(await user.getByTestId('nodes').count()).toBe(0);
    expect(await user.getByRole('link', { name: 'Audit log' }).count()).toBe(0);
  });

  it('switches a keyword rule off (confirmed) and on, and edits it', async () => {
    const created = await t.call('POST', '/v1/keywords', {
      auth: 'alice:alice-password',
      body: { match_type: 'exact', pattern: 'hours', action: 'auto_reply', reply_text: 'We open at 9.' },
    });
    const id = created.body.id as string;
    const rule = async () =>
      (await t.call('GET', '/v1/keywords', { auth: 'alice:alice-password' })).body.data.find(
        (r: { id: string }) => r.id === id,
      );
    const page = await login('alice', 'alice-password');
    await page.getByRole('link', { name: 'Keywords' }).click();
    const box = page.getByRole('switch', { name: 'Rule “hours” switched on' });
    await expect.poll(() => box.isChecked()).toBe(true);

    // Cancelled: nothing changes.
    await box.click();
    await dialog(page).getByRole('button', { name: 'Cancel' }).click();
    expect((await rule()).enabled).toBe(true);
    expect(await box.isChecked()).toBe(true);

    await box.click();
    await dialog(page).getByText('Switch off the rule “hours”?').waitFor();
    await dialog(page).getByRole('button', { name: 'Switch off' }).click();
    await expect.poll(() => box.isChecked()).toBe(false);
    expect((await rule()).enabled).toBe(false);
    await page.getByRole('row').filter({ hasText: 'hours' }).getByText('off', { exact: true }).waitFor();

    // Switching on needs no confirmation.
    await box.click();
    await expect.poll(() => box.isChecked()).toBe(true);
    expect((await rule()).enabled).toBe(true);

    await page.getByRole('button', { name: 'Edit the rule “hours”' }).click();
    const form = page.getByRole('form', { name: 'Edit the rule “hours”' });
    await form.getByLabel('Pattern').fill('opening');
    await form.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('switch', { name: 'Rule “opening” switched on' }).waitFor();
    expect(await rule()).toMatchObject({ pattern: 'opening', reply_text: 'We open at 9.', enabled: true });
  });

  it('changes a role only after confirmation, resets a password, revokes a key; the audit log shows it', async () => {
    const key = await t.call('POST', '/v1/keys', { body: { name: 'alice-app', user_id: aliceId } });
    expect(key.status).toBe(201);
    const page = await login('admin', ADMIN_PASSWORD);
    await page.getByRole('link', { name: 'Users' }).click();
    const role = page.getByRole('combobox', { name: 'Role of alice' });
    await expect.poll(() => role.inputValue()).toBe('user');

    await role.selectOption('admin');
    await dialog(page).getByText('Change the role of alice to “admin”?').waitFor();
    await dialog(page).getByRole('button', { name: 'Cancel' }).click();
    await expect.poll(() => role.inputValue()).toBe('user');
    expect(
      (await t.call('GET', '/v1/users')).body.data.find((u: { id: string }) => u.id === aliceId).role,
    ).toBe('user');

    await role.selectOption('admin');
    await dialog(page).getByRole('button', { name: 'Change role' }).click();
    await expect
      .poll(
        async () =>
          (await t.call('GET', '/v1/users')).body.data.find((u: { id: string }) => u.id === aliceId).role,
      )
      .toBe('admin');
    await expect.poll(() => role.inputValue()).toBe('admin');

    // A new password, typed twice: a mismatch is refused in the page.
    const aliceRow = page.locator('tr[data-login="alice"]');
    await aliceRow.getByRole('button', { name: 'Set password' }).click();
    const pw = page.getByRole('form', { name: 'New password for alice' });
    await pw.getByLabel('New password', { exact: true }).fill('fresh-password-1');
    await pw.getByLabel('Repeat the new password').fill('fresh-password-2');
    await pw.getByRole('button', { name: 'Set password' }).click();
    await pw.getByText('The two passwords differ.').waitFor();
    await pw.getByLabel('Repeat the new password').fill('fresh-password-1');
    await pw.getByRole('button', { name: 'Set password' }).click();
    await dialog(page).getByRole('button', { name: 'Set password' }).click();
    await page.getByText('Password set for alice.').waitFor();
    expect((await t.call('GET', '/v1/me', { auth: 'alice:fresh-password-1' })).status).toBe(200);
    expect((await t.call('GET', '/v1/me', { auth: 'alice:alice-password' })).status).toBe(401);

    // Alice's keys, revoked from her row.
    await aliceRow.getByRole('button', { name: /API keys/ }).click();
    const keys = page.getByRole('region', { name: 'API keys of alice' });
    await keys.locator('strong', { hasText: 'alice-app' }).waitFor();
    await keys.getByRole('button', { name: 'Revoke alice-app' }).click();
    await dialog(page).getByRole('button', { name: 'Revoke' }).click();
    await keys.getByText(/revoked/).waitFor();
    expect((await t.call('GET', '/v1/me', { auth: key.body.key })).status).toBe(401);

    await page.getByRole('link', { name: 'Audit log' }).click();
    const audit = page.getByTestId('audit');
    await audit.getByText('PATCH /v1/users/:id').first().waitFor();
    expect(await audit.textContent()).toContain('{"id":');
    expect(await audit.textContent()).toContain('"role":"admin"');
    expect(await audit.textContent()).toContain('"password":"[redacted]"');
    expect(await audit.textContent()).not.toContain('fresh-password-1');
    await page.getByLabel('Show').selectOption('keywords');
    await expect.poll(async () => (await audit.textContent())?.includes('/v1/users')).toBe(false);
    await audit.getByText('PATCH /v1/keywords/:id').first().waitFor();
  });

  const PAGES = ['channels', 'keywords', 'users', 'audit'];

  it('fits these pages on a 390 px phone in English and in Persian (right to left), no clipped actions', async () => {
    const wide: string[] = [];
    for (const locale of ['en-GB', 'fa-IR']) {
      const page = await login('admin', ADMIN_PASSWORD, { locale, viewport: PHONE });
      expect(await page.evaluate(() => (globalThis as any).document.documentElement.dir)).toBe(
        locale === 'fa-IR' ? 'rtl' : 'ltr',
      );
      for (const hash of PAGES) {
        await page.goto(`${t.url}/#/${hash}`);
        await page.locator('main h1').waitFor();
        await page.waitForLoadState('networkidle').catch(() => undefined);
        const width = await page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth);
        if (width > 390) wide.push(`${locale} #/${hash}: ${width}px`);
        for (const box of await page
          .locator('main table button, main table select, main table input')
          .evaluateAll((els) => els.map((e) => e.getBoundingClientRect()).map((r) => [r.left, r.right])))
          if (box[0]! < 0 || box[1]! > 390) wide.push(`${locale} #/${hash} control at ${box}`);
      }
    }
    expect(wide).toEqual([]);
  });

  it('passes axe-core WCAG 2 A/AA checks on these pages in Persian and in dark mode', async () => {
    expect(
      await axeAcross(browser, t.url, PAGES, [
        ['fa-IR', 'light'],
        ['ru-RU', 'dark'],
      ]),
    ).toEqual([]);
  });
});
