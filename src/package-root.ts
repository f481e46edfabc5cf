/**
 * The package's own folder (package.json, web/dist), found by walking up from this module to the
 * nearest package.json. The same answer from the sources under tsx (src/package-root.ts) and from
 * the server bundle (dist/cli/main.js or one of its chunks in dist/): a fixed `../..` beside
 * `import.meta.url` is right for one layout only, and the bundle moves every module.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

export const PACKAGE_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));

/** package.json's "version". */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}
