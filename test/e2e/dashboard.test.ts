/**
 * The dashboard in a real browser (Debian's Chromium driven by playwright-core) against a real
 * gateway with the simulator: log in, send, watch delivery live, filter, export, tenant isolation.
 * Screenshots go to docs/screenshots/ with UPDATE_SCREENSHOTS=1, otherwise to a temp folder.
 */
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../support/app.js';
import type { DashboardBrowser } from '../support/browser.js';
import { DESKTOP, NO_CHROMIUM, axePages, shot } from '../support/browser.js';
import { ADMIN_PASSWORD } from '../support/app.js';
import { addUser, fixSimulator, startDashboard } from '../support/dashboard.js';

// Skipped only on a developer machine without Chromium; CI installs it and must run this.
describe.skipIf(NO_CHROMIUM)('dashboard in Chromium', () => {
  let t: TestApp;
  let browser: DashboardBrowser;

  beforeAll(async () => {
    ({ t, browser } = await startDashboard());
    // Deterministic outcomes: everything delivered, except numbers ending in 099x (phone off).
    await fixSimulator(t, { deliveryDelayMs: 400 });
    for (const login of ['alice', 'bob']) await addUser(t, login);
  });

  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  async function login(
    user: string,
    password: string,
    viewport = DESKTOP,
    extra: { bypassCSP?: boolean } = {},
  ): Promise<Page> {
    return browser.logIn(t.url, user, password, {
      ...extra,
      viewport,
      acceptDownloads: true,
      locale: 'en-GB',
      timezoneId: 'Europe/Berlin',
    });
  }

  it('serves the page with a strict content security policy and cacheable hashed assets', async () => {
    const index = await fetch(t.url);
    expect(index.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(index.headers.get('x-frame-options')).toBe('DENY');
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(await index.text())?.[1];
    const asset = await fetch(t.url + script);
    expect(asset.status).toBe(200);
    // Read every body: an unread response keeps its connection busy.
    expect((await asset.arrayBuffer()).byteLength).toBeGreaterThan(1000);
    expect(asset.headers.get('cache-control')).toContain('immutable');
    // Unknown paths are the API's JSON 404, not the page.
    const missing = await fetch(`${t.url}/nope.js`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as any).error.code).toBe('route_not_found');
  });

  it('refuses a wrong password with a clear message', async () => {
    const page = await (await browser.context()).newPage();
    await page.goto(t.url);
    await page.getByLabel('Login').fill('alice');
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('Wrong login or password');
  });

  it('sends to three numbers, shows the refused one, and watches them reach delivered live', async () => {
    const page = await login('alice', 'alice-password');
    await page.getByRole('link', { name: 'Send' }).click();
    await page.getByLabel(/^Recipients/).fill('+15555550101\n+15555550102, +15555550103\n12ab');
    await expect(page.getByTestId('recipient-count').textContent()).resolves.toBe('4 recipients');
    // The counter comes from the server's codec and marks what forces UCS-2.
    await page.getByLabel('Text').fill('Your code is 4711 — valid 5 min 🙂');
    await page.getByTestId('counter').getByText('UCS-2', { exact: true }).waitFor();
    expect(await page.locator('mark').allTextContents()).toEqual(['—', '🙂']);
    await page.getByLabel('Text').fill('Your code is 4711 - valid 5 min <b>ok</b>');
    await page.getByTestId('counter').getByText('GSM-7', { exact: true }).waitFor();
    await shot(page, 'send');
    await page.getByRole('button', { name: 'Send to 4' }).click();
    const result = page.getByTestId('send-result');
    await result.getByText('3 accepted, 1 refused.').waitFor();
    expect(await result.locator('tbody tr').textContent()).toContain('12ab');
    expect(await result.locator('tbody tr').textContent()).toContain('invalid_number');
    // The batch's progress follows the simulator to the end; its results export as CSV.
    const progress = page.getByTestId('batch-progress');
    await progress
      .getByText('3 of 3 finished: 3 delivered, 0 failed, 0 on the way.')
      .waitFor({ timeout: 20_000 });
    const [batchCsv] = await Promise.all([
      page.waitForEvent('download'),
      progress.getByRole('link', { name: 'Export results (CSV)' }).click(),
    ]);
    const batchLines = readFileSync((await batchCsv.path()) as string, 'utf8')
      .trimEnd()
      .split('\r\n');
    expect(batchLines).toHaveLength(4);
    expect(batchLines.slice(1).every((l) => l.includes(',delivered,'))).toBe(true);
    await shot(page, 'send-result');

    await page.getByRole('link', { name: 'Follow them in Messages' }).click();
    const rows = page.locator('table.messages tbody tr');
    await expect.poll(() => rows.count()).toBe(3);
    // No reload: the change feed moves every row to delivered.
    await expect
      .poll(() => page.locator('table.messages tbody tr[data-status="delivered"]').count(), {
        timeout: 20_000,
      })
      .toBe(3);
    // Texts are shown as text, never parsed as HTML.
    expect(await page.locator('table.messages tbody b').count()).toBe(0);
    expect(await rows.first().textContent()).toContain('<b>ok</b>');
    await shot(page, 'messages');

    await rows.first().getByRole('link').click();
    const timeline = page.getByTestId('timeline');
    await timeline.getByText('delivered').waitFor();
    expect(await timeline.locator('.badge').allTextContents()).toEqual([
      'queued',
      'sending',
      'sent',
      'delivered',
    ]);
    await shot(page, 'message-detail');
  });

  it('filters the history and exports what the filter shows as CSV', async () => {
    const page = await login('alice', 'alice-password');
    await page.goto(`${t.url}/#/messages`);
    await expect.poll(() => page.locator('table.messages tbody tr').count()).toBe(3);
    // Sent from the API while the page is open: the rows appear without a reload.
    const api = await t.call('POST', '/v1/keys', { auth: 'alice:alice-password', body: { name: 'k' } });
    await t.call('POST', '/v1/messages', {
      auth: api.body.key,
      body: { to: ['+15555550991', '+15555550992'], text: 'appointment reminder' },
    });
    await expect.poll(() => page.locator('table.messages tbody tr').count(), { timeout: 10_000 }).toBe(5);
    await page.getByLabel('Number').fill('+15555550102');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => page.locator('table.messages tbody tr').count()).toBe(1);
    await page.getByLabel('Number').fill('');
    await page.getByLabel('Status').selectOption('undelivered');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect
      .poll(() => page.locator('table.messages tbody tr[data-status="undelivered"]').count(), {
        timeout: 20_000,
      })
      .toBe(2);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Export CSV' }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^messages-\d+\.csv$/);
    const csv = readFileSync((await download.path()) as string, 'utf8')
      .trimEnd()
      .split('\r\n');
    expect(csv).toHaveLength(3);
    expect(csv.slice(1).every((l) => l.includes(',undelivered,absent_subscriber,'))).toBe(true);
  });

  it('reads recipients from an uploaded CSV, schedules in a chosen time zone, and cancels', async () => {
    const page = await login('alice', 'alice-password');
    await page.goto(`${t.url}/#/send`);
    await page.getByLabel('Or upload a list (CSV or TXT)').setInputFiles({
      name: 'customers.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from('name,phone\r\nAnna,+15555550111\r\n"Ben, Jr.",+1 555 555 0112\r\n'),
    });
    await expect.poll(() => page.getByTestId('recipient-count').textContent()).toBe('2 recipients');
    await page.getByText('2 numbers read from customers.csv.').waitFor();
    await page.getByLabel('Text').fill('Your appointment is tomorrow.');
    await page.getByLabel('Schedule for later').check();
    await page.getByLabel('Date').fill('2030-07-01');
    await page.getByLabel('Time', { exact: true }).fill('09:30');
    await page.getByLabel('Time zone').selectOption('America/New_York');
    await page.getByRole('button', { name: 'Schedule for 2' }).click();
    await page.getByTestId('send-result').getByText('2 accepted, 0 refused.').waitFor();
    const list = await t.call('GET', '/v1/messages?status=scheduled', { auth: 'alice:alice-password' });
    expect(list.body.data.map((m: { to: string }) => m.to).sort()).toEqual(['+15555550111', '+15555550112']);
    // 09:30 in New York in July (EDT, UTC-4) is 13:30 UTC.
    expect(list.body.data.every((m: { send_at: string }) => m.send_at === '2030-07-01T13:30:00.000Z')).toBe(
      true,
    );

    await page.goto(`${t.url}/#/messages`);
    await page.getByRole('button', { name: 'Cancel the message to +15555550111' }).click();
    await page.getByText('Canceled the message to +15555550111.').waitFor();
    const m = await t.call('GET', '/v1/messages?to=%2B15555550111', { auth: 'alice:alice-password' });
    expect(m.body.data[0].status).toBe('canceled');
  });

  it('manages keyword rules and opt-outs: an auto-reply answers, a blocked number is refused', async () => {
    const page = await login('alice', 'alice-password');
    await page.getByRole('link', { name: 'Keywords' }).click();
    const form = page.getByRole('form', { name: 'Add a keyword rule' });
    await form.getByLabel('Pattern').fill('HOURS');
    await form.getByLabel('Reply text').fill('We are open 9 to 5.');
    await form.getByRole('button', { name: 'Add rule' }).click();
    await page.getByRole('row', { name: /HOURS/ }).waitFor();
    const sim = (await t.call('GET', '/v1/channels')).body.data.find(
      (c: { name: string }) => c.name === 'simulator',
    );
    await t.call('POST', `/v1/channels/${sim.id}/inbound`, {
      body: { from: '+15555550102', text: 'Hours?' },
    });
    await expect
      .poll(async () => {
        const r = await t.call('GET', '/v1/messages?to=%2B15555550102', { auth: 'alice:alice-password' });
        return r.body.data.map((m: { text: string }) => m.text);
      })
      .toContain('We are open 9 to 5.');

    await page.getByLabel('Number', { exact: true }).fill('+15555550103');
    await page.getByRole('button', { name: 'Block this number' }).click();
    await page.getByRole('row', { name: /\+15555550103/ }).waitFor();
    const refused = await t.call('POST', '/v1/messages', {
      auth: 'alice:alice-password',
      body: { to: '+15555550103', text: 'promo' },
    });
    expect(refused.body.messages[0]).toMatchObject({ status: 'rejected', error: { code: 'opted_out' } });
    await shot(page, 'keywords');
    await page.getByRole('button', { name: 'Remove +15555550103' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Remove' }).click();
    await page.getByText('Nobody has opted out.').waitFor();
  });

  it("shows a second user none of the first user's messages", async () => {
    const page = await login('bob', 'bob-password');
    await page.goto(`${t.url}/#/messages`);
    await page.getByText('No messages match.').waitFor();
    expect(await page.locator('table.messages tbody tr').count()).toBe(0);
    await page.goto(`${t.url}/#/overview`);
    await expect.poll(() => page.getByTestId('Today-messages').textContent()).toBe('0');
    // Bob's export is empty too: the server scopes it, not the page.
    const csv = await page.evaluate(() => fetch('/v1/messages/export').then((r) => r.text()));
    expect(csv.trimEnd().split('\r\n')).toHaveLength(1);
  });

  it('gives an admin the overview, channels, inbox and settings; an API key is shown once', async () => {
    const sim = (await t.call('GET', '/v1/channels')).body.data.find(
      (c: { name: string }) => c.name === 'simulator',
    );
    await t.call('POST', `/v1/channels/${sim.id}/inbound`, {
      body: { from: '+15555550101', text: 'Thanks, see you then!' },
    });
    const page = await login('admin', ADMIN_PASSWORD);
    await expect.poll(() => page.getByTestId('Today-messages').textContent()).not.toBe('…');
    expect(Number(await page.getByTestId('Today-messages').textContent())).toBeGreaterThanOrEqual(5);
    await page.getByText('absent subscriber').waitFor();
    await shot(page, 'overview');
    // An admin narrows the overview to one user: bob has sent nothing.
    await page.getByLabel('User').selectOption({ label: 'bob' });
    await expect.poll(() => page.getByTestId('Today-messages').textContent()).toBe('0');
    await page.getByLabel('User').selectOption({ label: 'alice' });
    await expect
      .poll(async () => Number(await page.getByTestId('Today-messages').textContent()))
      .toBeGreaterThan(0);
    await page.getByLabel('User').selectOption({ label: 'all users' });

    await page.getByRole('link', { name: 'Channels' }).click();
    await page.getByRole('row', { name: /simulator/ }).waitFor();
    await page.getByRole('button', { name: 'Add a channel' }).click();
    await page.getByLabel('Name').fill('sim-2');
    await page.getByLabel('Monthly limit').fill('1000');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('row', { name: /sim-2/ }).waitFor();
    await page.getByRole('button', { name: 'Disable sim-2' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Disable' }).click();
    await page.getByRole('button', { name: 'Enable sim-2' }).waitFor();
    await shot(page, 'channels');

    await page.getByRole('link', { name: 'Inbox' }).click();
    await page.getByRole('link', { name: /\+15555550101/ }).click();
    await page.locator('.bubble.inbound').getByText('Thanks, see you then!').waitFor();
    await page.getByLabel('Reply').fill('Great, thank you.');
    await page.getByRole('button', { name: 'Send reply' }).click();
    await page.locator('.bubble.outbound').getByText('Great, thank you.').waitFor();
    await shot(page, 'inbox');

    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByLabel('Key name').fill('crm');
    await page.getByRole('button', { name: 'Create key' }).click();
    const key = (await page.getByTestId('new-key').textContent()) ?? '';
    expect(key).toMatch(/^sgw_/);
    const me = await t.call('GET', '/v1/me', { auth: key });
    expect(me.body.login).toBe('admin');
    await page.reload();
    await page.getByRole('button', { name: 'Revoke crm' }).waitFor();
    expect(await page.getByTestId('new-key').count()).toBe(0);
    await shot(page, 'settings');
  });

  it('passes axe-core WCAG 2 A/AA checks on every page, and works from the keyboard', async () => {
    // axe is injected as a script, which the page's CSP would rightly refuse: this context bypasses it.
    const page = await login('admin', ADMIN_PASSWORD, undefined, { bypassCSP: true });
    const anyMessage = (await t.call('GET', '/v1/messages?limit=1')).body.data[0].id;
    const pages = [
      'overview',
      'send',
      'messages',
      `messages/${anyMessage}`,
      'inbox/+15555550101',
      'keywords',
      'channels',
      'admin',
    ];
    expect(await axePages(page, t.url, pages)).toEqual([]);

    // Keyboard: the first Tab reaches the skip link, which moves focus to the content.
    await page.goto(`${t.url}/#/overview`);
    await page.locator('main h1').waitFor();
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => (globalThis as any).document.activeElement?.textContent)).toBe(
      'Skip to content',
    );
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => (globalThis as any).document.activeElement?.id)).toBe('main');
  });

  it('folds to one column on a phone and still logs out', async () => {
    const page = await login('alice', 'alice-password', { width: 390, height: 844 });
    await page.getByText('Last 30 days').waitFor();
    const nav = page.getByRole('navigation', { name: 'Main' });
    expect(await nav.isVisible()).toBe(false);
    await page.getByRole('button', { name: 'Menu' }).click();
    expect(await nav.isVisible()).toBe(true);
    await shot(page, 'phone');
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    // The session is gone on the server: the API refuses the old cookie.
    const status = await page.evaluate(() => fetch('/v1/me').then((r) => r.status));
    expect(status).toBe(401);
  });
});
