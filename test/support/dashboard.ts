/**
 * The gateway the dashboard tests drive in Chromium: started with the dashboard built and one
 * browser, its users made, the simulator's outcomes fixed, and the axe check of a set of pages
 * in several languages and colour schemes.
 */
import type { TestApp } from './app.js';
import { ADMIN_PASSWORD, startTestApp } from './app.js';
import { DESKTOP, DashboardBrowser, axePages } from './browser.js';

/** Numbers starting so are a phone switched off (absent subscriber) for the simulator below. */
export const PHONE_OFF_RULES = [{ prefix: '+1555555099', outcome: 'absent_subscriber' }];

/** A gateway (`env` added) serving the dashboard the global setup built, and one Chromium. */
export async function startDashboard(
  env: Record<string, string> = {},
): Promise<{ t: TestApp; browser: DashboardBrowser }> {
  const t = await startTestApp(env);
  return { t, browser: await DashboardBrowser.launch() };
}

/** A user whose password is `<login>-password`; its id. */
export async function addUser(t: TestApp, login: string): Promise<string> {
  const r = await t.call('POST', '/v1/users', { body: { login, password: `${login}-password` } });
  if (r.status !== 201) throw new Error(`user ${login} not made: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.id;
}

/**
 * The built-in simulator made deterministic: everything delivered (after `config`'s delays),
 * except numbers of PHONE_OFF_RULES. The default mix fails 5 % at random.
 */
export async function fixSimulator(t: TestApp, config: Record<string, unknown>): Promise<void> {
  const sim = (await t.call('GET', '/v1/channels')).body.data.find(
    (c: { name: string }) => c.name === 'simulator',
  );
  const r = await t.call('PATCH', `/v1/channels/${sim.id}`, {
    body: { config: { ...config, successRate: 1, rules: PHONE_OFF_RULES } },
  });
  if (r.status !== 200) throw new Error(`simulator not set: ${r.status} ${JSON.stringify(r.body)}`);
}

/**
 * axe's violations on each of `hashes`, logged in as `user` (the admin by default) once per
 * [locale, colour scheme], each prefixed with them. The contexts bypass CSP: axe is injected as
 * a script, which the page's CSP rightly refuses. 30 s a step, Playwright's own default: axe on
 * every page is slow on a busy machine.
 */
export async function axeAcross(
  browser: DashboardBrowser,
  url: string,
  hashes: string[],
  variants: readonly (readonly [locale: string, colorScheme: 'light' | 'dark'])[],
  user: { login: string; password: string; timezoneId?: string } = {
    login: 'admin',
    password: ADMIN_PASSWORD,
  },
): Promise<string[]> {
  const problems: string[] = [];
  for (const [locale, colorScheme] of variants) {
    const page = await browser.logIn(
      url,
      user.login,
      user.password,
      {
        viewport: DESKTOP,
        locale,
        colorScheme,
        bypassCSP: true,
        ...(user.timezoneId ? { timezoneId: user.timezoneId } : {}),
      },
      30_000,
    );
    problems.push(...(await axePages(page, url, hashes, `${locale} ${colorScheme} `)));
  }
  return problems;
}
