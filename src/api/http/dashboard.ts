/**
 * The web dashboard: the files of the front-end build (web/dist) served at /, with headers that
 * keep the page from running anything but its own scripts. The page uses only the public API.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { PACKAGE_ROOT } from '../../package-root.js';

export const DEFAULT_WEB_DIR = join(PACKAGE_ROOT, 'web', 'dist');

const SECURITY_HEADERS: Record<string, string> = {
  // Chart.js and Preact set styles through the CSSOM; no inline script, no third-party origin.
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

export async function registerDashboard(app: FastifyInstance, webDir = DEFAULT_WEB_DIR): Promise<void> {
  if (!existsSync(`${webDir}/index.html`)) {
    app.get('/', { schema: { hide: true } }, async (_req, reply) =>
      reply
        .type('text/plain; charset=utf-8')
        .send('The dashboard is not built. Run `npm run build:web` (npm start does it for you).\n'),
    );
    return;
  }
  await app.register(fastifyStatic, {
    root: webDir,
    prefix: '/',
    // Routes for the files that exist at start; everything else falls through to the API's 404.
    wildcard: false,
    cacheControl: false, // ours, below
    index: ['index.html'],
    setHeaders(res, path) {
      for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
      // Hashed asset names never change content; index.html must be revalidated to pick up a new build.
      res.setHeader(
        'cache-control',
        path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
      );
    },
  });
}
