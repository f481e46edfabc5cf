/**
 * A backup taken while the gateway is under load restores to a gateway that serves every
 * message acknowledged before the backup started: `smsgw backup` and `smsgw restore`, each a
 * separate process, as an operator runs them.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../support/cli.js';
import { exited, freePort, spawnGateway, waitReady } from '../support/net.js';

const KEY = 'backup-test-admin-key-0123456789';

const smsgw = (dataDir: string, ...args: string[]) =>
  cli(['--json', ...args], { env: { ...process.env, SMSGW_DATA_DIR: dataDir, SMSGW_LOG_LEVEL: 'warn' } });

const api = (url: string, method: string, path: string, body?: unknown) =>
  fetch(url + path, {
    method,
    headers: { authorization: `Bearer ${KEY}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });

describe('backup and restore', () => {
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) c.kill('SIGKILL');
  });

  it('restores a backup taken under load with every message acknowledged before it', async () => {
    const live = mkdtempSync(join(tmpdir(), 'smsgw-live-'));
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const gw = spawnGateway(
      { SMSGW_PORT: String(port), SMSGW_DATA_DIR: live, SMSGW_ADMIN_API_KEY: KEY },
      'test-build',
    );
    children.push(gw);
    await waitReady(url);

    const acknowledged: string[] = [];
    let stop = false;
    const worker = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const r = await api(url, 'POST', '/v1/messages', {
          to: Array.from(
            { length: 20 },
            (_, k) => `+4477009${w}${String(i % 100).padStart(2, '0')}${String(k).padStart(2, '0')}`,
          ),
          text: `backup load ${w}-${i}`,
        });
        expect(r.status).toBe(202);
        acknowledged.push(...((await r.json()) as { messages: { id: string }[] }).messages.map((m) => m.id));
      }
    };
    const workers = Array.from({ length: 4 }, (_, w) => worker(w));
    await new Promise((r) => setTimeout(r, 1500));
    const before = [...acknowledged];
    const file = join(mkdtempSync(join(tmpdir(), 'smsgw-bak-')), 'smsgw-backup.db');
    const backup = JSON.parse((await smsgw(live, 'backup', file)).stdout) as { pages: number };
    stop = true;
    await Promise.all(workers);
    expect(backup.pages).toBeGreaterThan(0);
    expect(before.length).toBeGreaterThan(100);
    gw.kill('SIGTERM');
    await exited(gw);

    const restoredDir = mkdtempSync(join(tmpdir(), 'smsgw-restored-'));
    await smsgw(restoredDir, 'restore', file);
    const port2 = await freePort();
    const url2 = `http://127.0.0.1:${port2}`;
    const gw2 = spawnGateway(
      { SMSGW_PORT: String(port2), SMSGW_DATA_DIR: restoredDir, SMSGW_ADMIN_API_KEY: KEY },
      'test-build',
    );
    children.push(gw2);
    await waitReady(url2);
    const missing: string[] = [];
    for (const id of before)
      if ((await api(url2, 'GET', `/v1/messages/${id}`)).status !== 200) missing.push(id);
    expect(missing).toEqual([]);
    gw2.kill('SIGTERM');
    await exited(gw2);
  }, 120_000);
});
