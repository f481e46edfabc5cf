/** Chromium for the dashboard tests: one launcher, the dashboard build, and the axe check. */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Browser, Page } from 'playwright-core';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Skipped only on a developer machine without Chromium; CI installs it and must run these. */
export const NO_CHROMIUM = !existsSync(CHROMIUM) && !process.env.CI;

/** Builds web/dist when its sources changed (scripts/build-web.mjs skips an up-to-date build). */
export function buildDashboard(): void {
  execFileSync(process.execPath, ['scripts/build-web.mjs'], { stdio: 'inherit' });
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
  });
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
