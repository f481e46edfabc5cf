/**
 * kill -9 of the gateway (a child process) in the middle of a campaign: restarted on the same
 * data, it takes the campaign up again when the dead claim's lease runs out and sends each
 * recipient exactly once (counted in the messages table through the API).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/app.js';
import { exited, freePort, spawnGateway, waitReady } from '../support/net.js';

const KEY = 'campaign-crash-admin-key-0123456789';
const RECIPIENTS = 3_000;

const api = async (url: string, method: string, path: string, body?: unknown) => {
  const res = await fetch(url + path, {
    method,
    headers: { authorization: `Bearer ${KEY}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: (await res.json()) as any };
};

/** Every message of the campaign (its batch), walking the history 500 at a time. */
async function campaignMessages(url: string, id: string): Promise<{ id: string; to: string }[]> {
  const out: { id: string; to: string }[] = [];
  let cursor: string | null = null;
  do {
    const page = await api(
      url,
      'GET',
      `/v1/messages?batch_id=${id}&limit=500${cursor ? `&cursor=${cursor}` : ''}`,
    );
    out.push(...(page.body.data as { id: string; to: string }[]));
    cursor = page.body.next_cursor;
  } while (cursor);
  return out;
}

describe('campaign crash safety', () => {
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) c.kill('SIGKILL');
  });

  it('resumes after kill -9 and sends each recipient exactly once', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'smsgw-campaign-crash-'));
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env = {
      SMSGW_PORT: String(port),
      SMSGW_DATA_DIR: dataDir,
      SMSGW_ADMIN_API_KEY: KEY,
      SMSGW_CAMPAIGN_LEASE_MS: '2000',
    };
    let server = spawnGateway(env, 'test-build');
    children.push(server);
    await waitReady(url);
    const recipients = Array.from({ length: RECIPIENTS }, (_, i) => ({
      number: `+3936${String(i).padStart(8, '0')}`,
      n: String(i),
    }));
    const c = await api(url, 'POST', '/v1/campaigns', {
      text: 'Crash {n}',
      audience: { recipients },
      rate: 150,
    });
    expect(c.status).toBe(201);
    const id = c.body.id as string;

    // Killed twice in the middle (some sent, most not), each time restarted on the same data.
    for (const at of [500, 1500]) {
      const x = await eventually(async () => {
        const v = (await api(url, 'GET', `/v1/campaigns/${id}`)).body;
        return v.progress.done >= at ? v : undefined;
      });
      expect(x.status).toBe('running');
      expect(x.progress.done).toBeLessThan(RECIPIENTS);
      server.kill('SIGKILL');
      await exited(server);
      server = spawnGateway(env, 'test-build');
      children.push(server);
      await waitReady(url);
    }
    const v = await eventually(async () => {
      const x = (await api(url, 'GET', `/v1/campaigns/${id}`)).body;
      return x.status === 'completed' ? x : undefined;
    }, 60_000);
    expect(v.progress).toMatchObject({ total: RECIPIENTS, done: RECIPIENTS, pending: 0 });
    const msgs = await campaignMessages(url, id);
    expect(msgs).toHaveLength(RECIPIENTS);
    expect(new Set(msgs.map((m) => m.to)).size).toBe(RECIPIENTS);
    server.kill('SIGTERM');
    await exited(server);
  }, 180_000);
});
