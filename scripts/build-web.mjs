// Builds the dashboard (web/ → web/dist) when its sources are newer than the last build, so
// `npm start` always serves the current page without rebuilding on every start.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { newest } from './newest.mjs';

const web = fileURLToPath(new URL('../web', import.meta.url));
const built = join(web, 'dist', 'index.html');

const sources = Math.max(
  newest(join(web, 'src')),
  newest(join(web, 'index.html')),
  newest(join(web, 'vite.config.ts')),
);
const force = process.argv.includes('--force');
if (!force && existsSync(built) && statSync(built).mtimeMs >= sources) process.exit(0);

let vite;
try {
  vite = await import('vite');
} catch {
  // A production install without dev dependencies: serve the build that shipped, if any.
  console.warn(
    existsSync(built)
      ? 'smsgw: vite is not installed; serving the existing dashboard build.'
      : 'smsgw: vite is not installed; the dashboard will not be served (install dev dependencies and run npm run build:web).',
  );
  process.exit(0);
}
await vite.build({ configFile: join(web, 'vite.config.ts'), logLevel: 'warn' });
console.log('smsgw: dashboard built into web/dist');
