/**
 * The sources under test compiled to plain JavaScript by the global setup (global-setup.ts), for
 * tests that run smsgw as its own process. It sits one folder below the checkout, as dist/ does,
 * so what the code finds beside itself (../../package.json, ../../../web/dist) is the same.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const TEST_BUILD = join(ROOT, 'dist-test');

/** The compiled `smsgw` entry point (src/cli/main.ts), after checking the global setup made it. */
export function compiledCli(): string {
  const main = join(TEST_BUILD, 'cli', 'main.js');
  if (!existsSync(main))
    throw new Error(`${main} is missing: vitest's globalSetup (test/support/global-setup.ts) builds it`);
  return main;
}
