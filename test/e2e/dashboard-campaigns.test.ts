/**
 * The Contacts, Campaigns and OTP pages in Chromium (playwright-core, Debian's /usr/bin/chromium)
 * against a real gateway with the simulator: a campaign made in the wizard from a group, its
 * cost confirmed with the count, followed live, paused, resumed and completed with its failures
 * in red; a follow-up to its failed ones; a campaign to an uploaded file; a CSV import that
 * names its refused rows; a contact deleted after a confirmation; the
 * OTP log without codes; every one of these pages in Persian (dir=rtl) on a 390 px phone.
 * Screenshots go to docs/screenshots/ with UPDATE_SCREENSHOTS=1, otherwise to a temp folder.
 */
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../support/app.js';
import { eventually } from '../support/app.js';
import type { DashboardBrowser } from '../support/browser.js';
import { DESKTOP, NO_CHROMIUM, PHONE, shot } from '../support/browser.js';
import { addUser, axeAcross, fixSimulator, startDashboard } from '../support/dashboard.js';
const fa = JSON.parse(readFileSync('web/src/locales/bulk/fa.json', 'utf8')).bulk;
const CARLA = 'carla:carla-password';
/** 28 numbers the simulator delivers and 2 it fails (absent subscriber, by the rule below). */
const GOOD = Array.from({ length: 28 }, (_, i) => `+155555501${String(i).padStart(2, '0')}`);
const BAD = ['+15555550991', '+15555550992'];

describe.skipIf(NO_CHROMIUM)('dashboard: contacts, campaigns, OTP log', () => {
  let t: TestApp;
  let browser: DashboardBrowser;
  let groupId: string;

  beforeAll(async () => {
    ({ t, browser } = await startDashboard());
    await fixSimulator(t, { latencyMs: 1, deliveryDelayMs: 100 });
    await addUser(t, 'carla');
    for (const [i, number] of [...GOOD, ...BAD].entries()) {
      const r = await t.call('POST', '/v1/contacts', {
        auth: CARLA,
        body: { number, name: `Cliente ${i}`, fields: { city: 'Roma' } },
      });
      expect(r.status).toBe(201);
    }
    const g = await t.call('POST', '/v1/groups', {
      auth: CARLA,
      body: { name: 'Clienti', numbers: [...GOOD, ...BAD] },
    });
    expect(g.body.added).toBe(30);
    groupId = g.body.id;
    // A price, so the confirmation names a cost: 2 credits per segment to +1.
    expect((await t.call('PUT', '/v1/prices', { body: { prefix: '1', per_segment: 2 } })).status).toBe(200);
  });

  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  async function open(locale: string, user: string, password: string, viewport = DESKTOP): Promise<Page> {
    return browser.logIn(t.url, user, password, { viewport, locale, timezoneId: 'UTC' }, 15_000);
  }

  const promoId = async () =>
    (
      (await t.call('GET', '/v1/campaigns', { auth: CARLA })).body.data as { id: string; name: string }[]
    ).find((c) => c.name === 'November promo')?.id as string;
  const campaignOf = async (id: string) => (await t.call('GET', `/v1/campaigns/${id}`, { auth: CARLA })).body;

  it('creates a campaign from a group in the wizard, confirms count and cost, pauses, resumes, completes', async () => {
    const page = await open('en-GB', 'carla', 'carla-password');
    await page.getByRole('link', { name: 'Campaigns' }).click();
    await page.getByRole('link', { name: 'New campaign' }).click();

    // 1. Audience: the group, with its member count.
    await page.getByTestId('step-audience').getByText('Clienti').waitFor();
    await page.getByLabel('Clienti').check();
    await page.getByRole('button', { name: 'Next' }).click();

    // 2. Message: a variable, the live counter and a recipient's preview.
    await page.locator('input[name="campaign-name"]').fill('November promo');
    await page.locator('textarea[name="campaign-text"]').fill('Hi {name}, 10% off in {city} today');
    const preview = page.getByTestId('campaign-preview');
    await preview.getByText('1 segment', { exact: false }).waitFor();
    await preview.getByText('Hi Cliente', { exact: false }).waitFor();
    expect(await preview.textContent()).toContain('in Roma today');
    await page.locator('input[name="campaign-from"]').fill('Negozio');
    await page.getByRole('button', { name: 'Next' }).click();

    // 3. Schedule: now, zone echoed, a cap of 3 msg/s (30 recipients: about ten seconds).
    expect(await page.locator('select[name="campaign-tz"] option').first().textContent()).toBe('UTC');
    expect(await page.getByTestId('zone-echo').textContent()).toBe('Times are read in UTC.');
    // A set time is echoed in the zone it was chosen in (then back to "now" for this run).
    await page.getByLabel('At a set time').check();
    await page.locator('input[name="campaign-date"]').fill('2030-12-01');
    await page.locator('input[name="campaign-time"]').fill('09:30');
    await page.locator('select[name="campaign-tz"]').selectOption('Europe/Rome');
    expect(await page.getByTestId('zone-echo').textContent()).toBe(
      'Scheduled for 1 Dec 2030, 09:30 Europe/Rome.',
    );
    await page.locator('select[name="campaign-tz"]').selectOption('UTC');
    await page.getByLabel('Now').check();
    await page.locator('input[name="campaign-rate"]').fill('3');
    await page.getByRole('button', { name: 'Check cost' }).click();

    // 4. Cost: a draft the server priced; nothing sent yet.
    const review = page.getByTestId('review');
    await review.waitFor();
    expect(await page.getByTestId('review-recipients').textContent()).toBe('30');
    expect(await page.getByTestId('review-cost').textContent()).toBe('60 credits');
    const drafts = (await t.call('GET', '/v1/campaigns', { auth: CARLA })).body.data;
    expect(drafts.map((c: { status: string }) => c.status)).toEqual(['draft']);
    const id = drafts[0].id as string;

    await page.getByRole('button', { name: 'Start: 30 recipients' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('Start “November promo” to 30 recipients?').waitFor();
    await shot(page, 'campaign-confirm');
    const body = await dialog.textContent();
    expect(body).toContain('30 messages, 30 segments in all.');
    expect(body).toContain('Estimated cost: 60 credits.');
    // Cancel in the dialog starts nothing.
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect((await campaignOf(id)).status).toBe('draft');
    await page.getByRole('button', { name: 'Start: 30 recipients' }).click();
    await dialog.getByRole('button', { name: 'Start: 30 recipients' }).click();

    // The campaign's page: live progress, then pause.
    await page.waitForURL(`**/#/campaigns/${id}`);
    await page.getByRole('heading', { name: /November promo/ }).waitFor();
    await page
      .getByTestId('campaign-status')
      .getByText(/Sending|Scheduled/)
      .waitFor();
    await page.getByRole('button', { name: /^Pause/ }).click();
    await page.getByTestId('campaign-status').getByText('Paused').waitFor();
    const paused = await campaignOf(id);
    expect(paused.status).toBe('paused');
    expect(paused.progress.done).toBeLessThan(30);
    // Paused: nothing more is handed over (a batch already claimed may still commit once).
    await new Promise((r) => setTimeout(r, 1500));
    const still = (await campaignOf(id)).progress.done;
    await new Promise((r) => setTimeout(r, 1500));
    expect((await campaignOf(id)).progress.done).toBe(still);
    expect(await page.getByTestId('count-done').textContent()).toBe(`${still} of 30 handed over`);

    await page.getByRole('button', { name: /^Resume/ }).click();
    await page.getByTestId('campaign-status').getByText('Completed').waitFor({ timeout: 60_000 });
    // Every recipient once; the two absent subscribers counted as failed, in red.
    const done = await eventually(async () => {
      const c = await campaignOf(id);
      const by = c.progress.by_status as Record<string, number>;
      return (by.delivered ?? 0) === 28 && (by.failed ?? 0) + (by.undelivered ?? 0) === 2 ? c : undefined;
    }, 30_000);
    expect(done.progress.done).toBe(30);
    const failed = page.getByTestId('count-failed');
    await failed.getByText('2 failed').waitFor({ timeout: 10_000 });
    expect(await failed.getAttribute('class')).toBe('bad');
    const red = await page
      .getByTestId('failed-bar')
      .first()
      .evaluate((e) => [
        (globalThis as any).getComputedStyle(e).backgroundColor,
        e.getBoundingClientRect().width,
      ]);
    expect(red[0]).toBe('rgb(207, 34, 46)');
    expect(Number(red[1])).toBeGreaterThan(0);
    const messages = await t.app.store.db.kysely
      .selectFrom('messages')
      .select(['to', 'text', 'from'])
      .where('batch_id', '=', id)
      .execute();
    expect(messages).toHaveLength(30);
    expect(new Set(messages.map((m) => m.to)).size).toBe(30);
    expect(messages.every((m) => m.from === 'Negozio' && m.text.endsWith('in Roma today'))).toBe(true);
    // The chart of its messages over time, with the same numbers as a table.
    await page.getByRole('img', { name: 'Messages over time' }).waitFor();
    const sums = () =>
      page
        .locator('figure.chart tbody tr')
        .evaluateAll((rows) =>
          rows
            .map((r) => [...r.querySelectorAll('td')].map((td) => Number(td.textContent)))
            .reduce((a, b) => a.map((x, i) => x + (b[i] ?? 0)), [0, 0, 0]),
        );
    await expect.poll(sums).toEqual([28, 2, 0]);
    const failures = page.getByRole('link', { name: 'Failed and skipped (CSV)' });
    expect(await failures.getAttribute('href')).toBe(`/v1/campaigns/${id}/results.csv?outcome=failure`);
    const csv = await (
      await page.request.get(`${t.url}/v1/campaigns/${id}/results.csv?outcome=failure`)
    ).text();
    expect(csv.trim().split('\r\n')).toHaveLength(3);

    // The list shows it completed, with the same counts.
    await page.getByRole('link', { name: 'Campaigns' }).first().click();
    const row = page.getByTestId(`campaign-${id}`);
    await row.getByText('Completed').waitFor();
    await row.getByText('28 delivered').waitFor();
    await shot(page, 'campaigns');
  });

  it('follows up the failed ones from the campaign page, and sends to an uploaded file', async () => {
    const first = (await t.call('GET', '/v1/campaigns', { auth: CARLA })).body.data.find(
      (c: { name: string }) => c.name === 'November promo',
    );
    const page = await open('en-GB', 'carla', 'carla-password');
    await page.goto(`${t.url}/#/campaigns/${first.id}`);
    const form = page.getByRole('form', { name: 'Follow-up campaign' });
    expect(await form.locator('select[name="follow-outcome"]').inputValue()).toBe('failed');
    await form.locator('textarea[name="follow-text"]').fill('We could not reach you: call us back');
    await form.getByRole('button', { name: 'Prepare the follow-up…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('Start “Follow-up: November promo” to 2 recipients?').waitFor();
    expect(await dialog.textContent()).toContain('Estimated cost: 4 credits.');
    await dialog.getByRole('button', { name: 'Start: 2 recipients' }).click();
    await page.getByRole('heading', { name: /Follow-up: November promo/ }).waitFor();
    await page.getByTestId('campaign-status').getByText('Completed').waitFor({ timeout: 60_000 });
    const follow = (await t.call('GET', '/v1/campaigns', { auth: CARLA })).body.data.find(
      (c: { name: string }) => c.name === 'Follow-up: November promo',
    );
    const to = await t.app.store.db.kysely
      .selectFrom('messages')
      .select('to')
      .where('batch_id', '=', follow.id)
      .execute();
    expect(to.map((m) => m.to).sort()).toEqual(BAD);

    // A campaign to an uploaded file: imported into a group of its name, refused rows named.
    await page.goto(`${t.url}/#/campaigns/new`);
    await page.getByLabel('An uploaded file').check();
    await page.locator('input[name="audience-file"]').setInputFiles({
      name: 'visitors.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from('number,name\n+15555550301,Ada\n+15555550302,Bo\n12,Cy\n+15555550303,Di\n'),
    });
    await page.getByTestId('import-report').getByText('3 imported, 1 refused of 4 rows.').waitFor();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.locator('textarea[name="campaign-text"]').fill('Welcome {name}');
    await page.getByTestId('campaign-preview').getByText('Welcome Ada', { exact: false }).waitFor();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('button', { name: 'Check cost' }).click();
    expect(await page.getByTestId('review-recipients').textContent()).toBe('3');
    // Back from the review drops its draft (canceled), and a new review makes a new one.
    await page.getByRole('button', { name: 'Back' }).click();
    await page.getByRole('button', { name: 'Check cost' }).click();
    await page.getByRole('button', { name: 'Start: 3 recipients' }).click();
    await dialog.getByRole('button', { name: 'Start: 3 recipients' }).click();
    await page.getByTestId('campaign-status').getByText('Completed').waitFor({ timeout: 60_000 });
    const groups = (await t.call('GET', '/v1/groups', { auth: CARLA })).body.data;
    expect(groups.find((g: { name: string }) => g.name === 'visitors')?.members).toBe(3);
    const all = (await t.call('GET', '/v1/campaigns', { auth: CARLA })).body.data as { status: string }[];
    expect(all.filter((c) => c.status === 'draft')).toEqual([]);
    expect(all.filter((c) => c.status === 'canceled')).toHaveLength(1);
  });

  it('imports a CSV into a group naming each refused row, and deletes a contact only when confirmed', async () => {
    const page = await open('en-GB', 'carla', 'carla-password');
    await page.getByRole('link', { name: 'Contacts' }).click();
    await page.locator('input[name="import-group"]').fill('Fiera');
    await page.locator('input[name="contacts-import"]').setInputFiles({
      name: 'fiera.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(
        'telefono;nome;città\n+393331234567;Anna;Milano\nnot-a-number;Bruno;Roma\n+393337654321;Carla;Torino\n',
      ),
    });
    const ask = page.getByRole('dialog');
    await ask.getByText('Import “fiera.csv” into your contacts?').waitFor();
    await ask.getByRole('button', { name: 'Import file…' }).click();
    const report = page.getByTestId('import-report');
    await report.getByText('2 imported, 1 refused of 3 rows.').waitFor();
    await report.locator('tr', { hasText: 'not-a-number' }).getByText('3', { exact: true }).waitFor();
    await shot(page, 'contacts-import');
    const href = await report.getByRole('link', { name: /refused row/ }).getAttribute('href');
    const errors = await (await page.request.get(`${t.url}${href}`)).text();
    expect(errors).toContain('not-a-number');

    // The group filter shows the two, with their group; search by name finds one.
    await page.locator('select[name="contact-group"]').selectOption({ label: 'Fiera' });
    const table = page.getByTestId('contacts-table');
    await expect.poll(() => table.locator('tbody tr').count()).toBe(2);
    await table.locator('tr', { hasText: '+393331234567' }).getByText('Fiera').waitFor();
    await page.locator('input[name="contact-search"]').fill('Carla');
    await table.locator('tr', { hasText: '+393331234567' }).waitFor({ state: 'detached' });

    const row = table.locator('tr', { hasText: '+393337654321' });
    // Edit replaces: a tag added, the imported custom field cleared.
    await row.getByRole('button', { name: /^Edit/ }).click();
    const form = page.getByRole('form', { name: 'Edit contact' });
    expect(await form.locator('textarea[name="contact-fields"]').inputValue()).toBe('città=Torino');
    await form.locator('input[name="contact-tags"]').fill('vip, fiera');
    await form.locator('textarea[name="contact-fields"]').fill('');
    await form.getByRole('button', { name: 'Save changes' }).click();
    await row.getByText('fiera, vip').waitFor();
    const edited = (await t.call('GET', '/v1/contacts/+393337654321', { auth: CARLA })).body;
    expect([edited.name, edited.tags, edited.fields]).toEqual(['Carla', ['fiera', 'vip'], {}]);

    await row.getByRole('button', { name: /^Delete/ }).click();
    await ask.getByText('Delete the contact +393337654321?').waitFor();
    await ask.getByRole('button', { name: 'Cancel' }).click();
    expect((await t.call('GET', '/v1/contacts/+393337654321', { auth: CARLA })).status).toBe(200);
    await row.getByRole('button', { name: /^Delete/ }).click();
    await ask.getByRole('button', { name: 'Delete' }).click();
    await row.waitFor({ state: 'detached' });
    expect((await t.call('GET', '/v1/contacts/+393337654321', { auth: CARLA })).status).toBe(404);

    // An opted-out number shows its STOP state.
    await t.call('POST', '/v1/opt-outs', { auth: CARLA, body: { number: GOOD[0] } });
    await page.locator('input[name="contact-search"]').fill(GOOD[0] as string);
    await page.locator('select[name="contact-group"]').selectOption({ label: 'Clienti' });
    await table
      .locator('tr', { hasText: GOOD[0] as string })
      .getByText('Opted out (STOP)')
      .waitFor();
    expect(groupId).toBeTruthy();
  });

  it('lists OTPs in the log without their codes', async () => {
    const sent = await t.call('POST', '/v1/otp', {
      auth: CARLA,
      body: { to: '+15555550150', template: 'Codice {code}' },
    });
    expect(sent.status).toBe(201);
    const text = (await t.call('GET', `/v1/messages/${sent.body.message_id}`, { auth: CARLA })).body
      .text as string;
    const code = text.replace('Codice ', '');
    const page = await open('en-GB', 'carla', 'carla-password');
    await page.getByRole('link', { name: 'OTP log' }).click();
    const row = page.getByTestId('otp-table').locator('tr', { hasText: '+15555550150' });
    await row.getByText('Waiting').waitFor();
    expect(await row.textContent()).toContain('0 / 5');
    expect(await page.locator('main').textContent()).not.toContain(code);
  });

  it('speaks Persian right to left and fits a 390 px phone on every bulk page, no action clipped', async () => {
    const id = await promoId();
    const page = await open('fa-IR', 'carla', 'carla-password', PHONE);
    const problems: string[] = [];
    const titles: Record<string, string> = {
      contacts: fa.contacts.title,
      campaigns: fa.campaigns.title,
      [`campaigns/${id}`]: 'November promo',
      'campaigns/new': fa.campaigns.new,
      otp: fa.otp.title,
    };
    for (const [hash, title] of Object.entries(titles)) {
      await page.goto(`${t.url}/#/${hash}`);
      await page.locator('main h1').filter({ hasText: title }).waitFor();
      await page.waitForLoadState('networkidle').catch(() => undefined);
      const [dir, width] = await page.evaluate(() => [
        (globalThis as any).document.documentElement.dir,
        (globalThis as any).document.documentElement.scrollWidth,
      ]);
      if (dir !== 'rtl') problems.push(`#/${hash}: dir=${dir}`);
      await shot(page, `phone-fa-${hash.replace('/', '-')}`);
      if (width > PHONE.width) problems.push(`#/${hash}: ${width}px wide`);
      for (const [label, left, right] of await page
        .locator('main button, main a.button, main label.button')
        .evaluateAll((els) =>
          els
            .filter((e) => e.getBoundingClientRect().width > 0)
            .map((e) => [
              e.textContent ?? '',
              e.getBoundingClientRect().left,
              e.getBoundingClientRect().right,
            ]),
        ))
        if ((left as number) < 0 || (right as number) > PHONE.width)
          problems.push(`#/${hash}: “${label}” at ${left}–${right}`);
    }
    // The wizard's steps in Persian, the zone echoed.
    await page.goto(`${t.url}/#/campaigns/new`);
    await page.getByText(fa.campaigns.step.review).waitFor();
    expect(problems).toEqual([]);
  });

  it('passes axe-core WCAG 2 A/AA checks on the bulk pages, in Persian and in dark mode', async () => {
    const id = await promoId();
    const pages = ['contacts', 'campaigns', `campaigns/${id}`, 'campaigns/new', 'otp'];
    expect(
      await axeAcross(
        browser,
        t.url,
        pages,
        [
          ['fa-IR', 'light'],
          ['de-DE', 'dark'],
        ],
        { login: 'carla', password: 'carla-password', timezoneId: 'UTC' },
      ),
    ).toEqual([]);
  });
});
