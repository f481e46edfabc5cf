/**
 * Run once by vitest before any test file (vitest.config.ts `globalSetup`), so files running side
 * by side never build the same thing at once:
 * - the dashboard (web/ → web/dist, scripts/build-web.mjs, skipped when up to date), which the
 *   dashboard tests serve: two of them building it at once emptied web/dist under each other;
 * - the sources under test bundled as `npm start` bundles them (src/ → dist-test/, build.ts;
 *   scripts/build-server.mjs --outdir), which the CLI tests run as the `smsgw` command: they
 *   test what ships. Under the tsx loader each command paid for loading the whole gateway through it:
 *   4.5 s a command against 1.2 s compiled (`time node --import tsx src/cli/main.ts --version`
 *   vs `time node dist/cli/main.js --version`, load 7), and the CLI tests run ~90 commands.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT, TEST_BUILD } from './build.js';

const run = promisify(execFile);

/** Every file under `paths` with its size and mtime, hashed: a file added, changed or deleted changes it. */
function signature(paths: string[]): string {
  const hash = createHash('sha256');
  const walk = (path: string): void => {
    const s = statSync(path);
    if (s.isDirectory()) for (const name of readdirSync(path).sort()) walk(join(path, name));
    else hash.update(`${path}\0${s.size}\0${s.mtimeMs}\n`);
  };
  for (const p of paths) walk(join(ROOT, p));
  return hash.digest('hex');
}

/** src/ compiled into TEST_BUILD unless it already holds the build of these very sources. */
async function buildSources(): Promise<void> {
  const stamp = join(TEST_BUILD, '.sources');
  const sources = signature(['src', 'scripts/build-server.mjs', 'package.json']);
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === sources) return;
  // Built beside it and swapped in, so another vitest run in this checkout never runs half a build.
  const fresh = mkdtempSync(`${TEST_BUILD}.tmp-`);
  const old = `${fresh}-old`;
  try {
    await run(process.execPath, [join(ROOT, 'scripts/build-server.mjs'), '--force', '--outdir', fresh]);
    writeFileSync(join(fresh, '.sources'), sources);
    if (existsSync(TEST_BUILD)) renameSync(TEST_BUILD, old);
    renameSync(fresh, TEST_BUILD);
  } finally {
    rmSync(fresh, { recursive: true, force: true });
    rmSync(old, { recursive: true, force: true });
  }
}

export async function setup(): Promise<void> {
  await Promise.all([
    run(process.execPath, [join(ROOT, 'scripts/build-web.mjs')], { cwd: ROOT }),
    buildSources(),
  ]);
}
