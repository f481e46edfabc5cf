/**
 * Chromium for the dashboard tests: one launcher, a browser whose contexts each hold one
 * logged-in user, screenshots, and the axe check. The dashboard build (web/dist) is made once
 * for the whole run by the global setup (global-setup.ts).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Skipped only on a developer machine without Chromium; CI installs it and must run these. */
export const NO_CHROMIUM = !existsSync(CHROMIUM) && !process.env.CI;

/** The viewports the dashboard is checked at: a phone (the narrowest it must fit) and a desktop. */
export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 860 };

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
  });
}

/**
 * One Chromium for a test file: every context it opens (one a user, with its own cookies,
 * language and viewport) is closed with it.
 */
export class DashboardBrowser {
  private readonly contexts: BrowserContext[] = [];
  private constructor(readonly browser: Browser) {}

  static async launch(): Promise<DashboardBrowser> {
    return new DashboardBrowser(await launchChromium());
  }

  async context(options: BrowserContextOptions = {}): Promise<BrowserContext> {
    const context = await this.browser.newContext(options);
    this.contexts.push(context);
    return context;
  }

  /** A new context with `user` logged in through the login form at `url`, once the header names them. */
  async logIn(
    url: string,
    user: string,
    password: string,
    options: BrowserContextOptions = {},
    timeoutMs = 10_000,
  ): Promise<Page> {
    const page = await (await this.context(options)).newPage();
    page.setDefaultTimeout(timeoutMs);
    await page.goto(url);
    await page.locator('input[name="login"]').fill(user);
    await page.locator('input[name="password"]').fill(password);
    await page.locator('button[type="submit"]').click();
    await page.getByTestId('who').filter({ hasText: user }).waitFor();
    return page;
  }

  async close(): Promise<void> {
    for (const c of this.contexts) await c.close().catch(() => undefined);
    await this.browser.close();
  }
}

let shots: string | undefined;

/** A full-page screenshot: into docs/screenshots/ with UPDATE_SCREENSHOTS=1, otherwise a temp folder. */
export async function shot(page: Page, name: string): Promise<void> {
  if (!shots) {
    shots = process.env.UPDATE_SCREENSHOTS
      ? join(process.cwd(), 'docs', 'screenshots')
      : mkdtempSync(join(tmpdir(), 'smsgw-shots-'));
    mkdirSync(shots, { recursive: true });
  }
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

let axeSource: string | undefined;

/**
 * axe-core's WCAG 2 A/AA violations on the page as it is, each prefixed with `where`. The page's
 * context must bypass CSP (axe is injected as a script, which the CSP rightly refuses).
 */
export async function axeViolations(page: Page, where: string): Promise<string[]> {
  axeSource ??= readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  await page.addScriptTag({ content: axeSource });
  const found: string[] = await page.evaluate(async () => {
    const w = globalThis as any;
    const r = await w.axe.run(w.document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa'] } });
    return r.violations.map((v: any) => `${v.id}: ${v.nodes.map((n: any) => n.target.join(' ')).join(', ')}`);
  });
  return found.map((v) => `${where}: ${v}`);
}

/**
 * axe's violations on each of the dashboard's pages `#/hash` at `url`, opened in turn in `page`
 * (whose context bypasses CSP) once its heading is there and its requests have settled; each is
 * prefixed with `label` and the hash.
 */
export async function axePages(page: Page, url: string, hashes: string[], label = ''): Promise<string[]> {
  const found: string[] = [];
  for (const hash of hashes) {
    await page.goto(`${url}/#/${hash}`);
    await page.locator('main h1').waitFor();
    await page.waitForLoadState('networkidle').catch(() => undefined);
    found.push(...(await axeViolations(page, `${label}#/${hash}`)));
  }
  return found;
}
