/**
 * kill -9 of the gateway between receiving SMPP receipts and storing them: the gateway (its own
 * process) has sent 2,000 messages through its SMPP channel; the SMSC simulator (in this
 * process) writes all 2,000 receipts while the gateway is frozen (SIGSTOP), the gateway is let
 * run until the first deliver_sm_resp comes back, then killed with SIGKILL. A receipt is
 * acknowledged only once committed, so every unacknowledged one must be offered again by the
 * simulator after the restarted gateway rebinds, and every message must end `delivered`.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { SmscSim } from '../../src/sim/smsc/simulator.js';
import { startSmscSimulator } from '../../src/sim/smsc/simulator.js';
import { eventually } from '../support/app.js';
import { exited, freePort, spawnGateway, waitReady } from '../support/net.js';

const KEY = 'smpp-crash-admin-key-0123456789';
const TOTAL = 2000;

const api = async (url: string, method: string, path: string, body?: unknown) => {
  const res = await fetch(url + path, {
    method,
    headers: { authorization: `Bearer ${KEY}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: (await res.json()) as any };
};

/** Messages in these statuses, counted page by page (the list API has no total). */
async function count(url: string, statuses: string): Promise<number> {
  let n = 0;
  let cursor = '';
  for (;;) {
    const page = await api(url, 'GET', `/v1/messages?status=${statuses}&limit=500${cursor}`);
    n += page.body.data.length;
    if (!page.body.next_cursor) return n;
    cursor = `&cursor=${page.body.next_cursor}`;
  }
}

describe('SMPP receipts across kill -9', () => {
  const children: ChildProcess[] = [];
  let sim: SmscSim | undefined;
  afterAll(async () => {
    for (const c of children) {
      c.kill('SIGCONT');
      c.kill('SIGKILL');
    }
    await sim?.stop();
  });

  it('offers unacknowledged receipts again after the rebind, and every message ends delivered', async () => {
    const s = (sim = await startSmscSimulator({ receiptTiming: 'delay', receiptDelayMs: 0 }));
    s.holdReceipts(true);
    const dataDir = mkdtempSync(join(tmpdir(), 'smsgw-smpp-crash-'));
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env = {
      SMSGW_PORT: String(port),
      SMSGW_DATA_DIR: dataDir,
      SMSGW_ADMIN_API_KEY: KEY,
      SMSGW_SIMULATOR: 'false',
    };
    const first = spawnGateway(env, 'test-build');
    children.push(first);
    await waitReady(url);
    const ch = await api(url, 'POST', '/v1/channels', {
      name: 'upstream',
      type: 'smpp',
      max_in_flight: 400,
      config: { host: '127.0.0.1', port: s.port, systemId: 'gw', password: 'pw', window: 200 },
    });
    expect(ch.status).toBe(201);
    for (let i = 0; i < TOTAL / 1000; i++) {
      const r = await api(url, 'POST', '/v1/messages', {
        to: Array.from(
          { length: 1000 },
          (_, k) => `+4477${String(i).padStart(3, '0')}${String(k).padStart(5, '0')}`,
        ),
        text: `crash ${i}`,
      });
      expect(r.body.accepted).toBe(1000);
    }
    // Every submit's outcome stored: each message is `sent` and waits for its receipt.
    await eventually(async () => ((await count(url, 'sent')) === TOTAL ? true : undefined), 60_000);
    expect(s.stats.submits).toBe(TOTAL);

    // Frozen, the gateway cannot read: all receipts sit unread in its socket when it resumes.
    first.kill('SIGSTOP');
    s.holdReceipts(false);
    expect(s.stats.receipts).toBe(TOTAL);
    first.kill('SIGCONT');
    // Killed as soon as the first receipt is acknowledged (committed): the rest are between
    // being received and being stored.
    await new Promise<void>((resolve) => {
      const poll = () => (s.stats.receiptsAcked > 0 ? resolve() : setImmediate(poll));
      poll();
    });
    first.kill('SIGKILL');
    await exited(first);
    await eventually(async () => (s.connections() === 0 ? true : undefined));
    const ackedBeforeKill = s.stats.receiptsAcked;
    expect(ackedBeforeKill).toBeGreaterThan(0);
    expect(ackedBeforeKill).toBeLessThan(TOTAL);
    expect(s.stats.receiptsResent).toBe(0);

    const second = spawnGateway(env, 'test-build');
    children.push(second);
    await waitReady(url);
    await eventually(async () => (s.stats.receiptsUnacked === 0 ? true : undefined), 60_000);
    // Everything not acknowledged before the kill was offered again after the rebind.
    expect(s.stats.receiptsResent).toBe(TOTAL - ackedBeforeKill);
    expect(s.stats.receiptsAcked).toBe(TOTAL);
    expect(s.stats.binds).toBe(2);
    expect(await count(url, 'delivered')).toBe(TOTAL);
    expect(await count(url, 'queued,sending,sent')).toBe(0);
    second.kill('SIGTERM');
    await exited(second);
  }, 120_000);
});
