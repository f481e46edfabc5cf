/**
 * The server as `npm start` runs it is one esbuild bundle (scripts/build-server.mjs), so every
 * file a module finds beside itself must be found from dist/ too: package.json (the version), the
 * dashboard's web/dist, swagger-ui's own static files (left in node_modules), and the modules
 * loaded only when used (split into chunks). And the bundle's text is kept by V8 for as long as
 * the process runs: one byte a character only if no character is above U+00FF.
 * The bundle checked is the global setup's (dist-test/: scripts/build-server.mjs --outdir, the
 * same build as dist/): rebuilding dist/ here removed it under a file beside this one that runs
 * `bin/smsgw.js start` (which runs dist/ when it is there).
 */
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, TEST_BUILD, compiledCli } from '../support/build.js';
import { exited, freePort, spawnGateway, waitReady } from '../support/net.js';

const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

describe('the server bundle (dist/)', () => {
  it('is built, reads its version, and keeps the SMTP face and the PostgreSQL notifier out of the entry, and undici out of the server', () => {
    const out = execFileSync(process.execPath, [compiledCli(), '--version'], { encoding: 'utf8' });
    expect(out.trim()).toBe(VERSION);
    const entry = readFileSync(compiledCli(), 'utf8');
    expect(entry).not.toMatch(/class SmtpFace\b/);
    const chunks = readdirSync(TEST_BUILD);
    expect(chunks.some((f) => /^server-.*\.js$/.test(f))).toBe(true);
    // Webhooks go out through node's own HTTP client (delivery/http-exchange.ts), not undici.
    expect(chunks.some((f) => /^undici-.*\.js$/.test(f))).toBe(false);
    expect(entry).toMatch(/import\(["']pg["']\)/);
  });

  it('is one byte a character: nothing above U+00FF, so V8 keeps the source at its file size', () => {
    for (const file of readdirSync(TEST_BUILD, { recursive: true }).map(String)) {
      if (!file.endsWith('.js')) continue;
      const text = readFileSync(join(TEST_BUILD, file), 'utf8');
      const at = text.search(/[\u0100-\u{10ffff}]/u);
      expect(at === -1 ? '' : `${file}: ${text.slice(Math.max(0, at - 40), at + 20)}`).toBe('');
    }
  });

  it('serves the dashboard, the API docs with their static files, the node version, and calls a webhook', async () => {
    // The webhook receiver: the bundled gateway must reach it (delivery/http-exchange.ts).
    const calls: unknown[] = [];
    const hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        calls.push(JSON.parse(body));
        res.end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const port = await freePort();
    const key = 'bundle-test-admin-key-0123456789abcdef';
    // npm start's node flags, on the global setup's build of the same sources.
    const proc = spawnGateway(
      {
        SMSGW_PORT: String(port),
        SMSGW_ADMIN_API_KEY: key,
        SMSGW_WEBHOOK_ALLOW_PRIVATE: 'true',
        SMSGW_DATA_DIR: mkdtempSync(join(tmpdir(), 'smsgw-bundle-')),
      },
      'test-build',
    );
    try {
      const url = `http://127.0.0.1:${port}`;
      await waitReady(url, 120_000);
      const page = await (await fetch(`${url}/`)).text();
      if (existsSync(join(ROOT, 'web', 'dist', 'index.html'))) expect(page).toMatch(/<html/i);
      else expect(page).toMatch(/dashboard is not built/);
      expect((await fetch(`${url}/docs/static/logo.svg`)).status).toBe(200);
      expect((await fetch(`${url}/docs/static/swagger-ui.css`)).status).toBe(200);
      expect((await fetch(`${url}/docs/json`)).status).toBe(200);
      const nodes = (await (
        await fetch(`${url}/v1/nodes`, { headers: { authorization: `Bearer ${key}` } })
      ).json()) as {
        data: { version: string }[];
      };
      expect(nodes.data[0]?.version).toBe(VERSION);

      const auth = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
      const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
      const set = await fetch(`${url}/v1/settings`, {
        method: 'PATCH',
        headers: auth,
        body: JSON.stringify({ webhook_url: hookUrl }),
      });
      expect(set.status).toBe(200);
      const sent = await fetch(`${url}/v1/messages`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ to: '+15555550100', text: 'bundle' }),
      });
      expect(sent.status).toBe(202);
      const until = Date.now() + 60_000;
      while (calls.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      expect(calls.length).toBeGreaterThan(0);
    } finally {
      proc.kill('SIGTERM');
      await exited(proc);
      hook.closeAllConnections();
      hook.close();
    }
  }, 180_000);
});
