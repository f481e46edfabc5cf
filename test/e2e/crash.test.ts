/**
 * Nothing accepted is ever lost: the real server (a separate process) is killed with SIGKILL
 * under load, restarted on the same data, and every acknowledged message is found and delivered.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exited, freePort, spawnGateway, waitReady } from '../support/net.js';

const KEY = 'crash-test-admin-key-0123456789';

function startServer(dataDir: string, port: number): ChildProcess {
  return spawnGateway({ SMSGW_PORT: String(port), SMSGW_DATA_DIR: dataDir, SMSGW_ADMIN_API_KEY: KEY });
}

const api = (url: string, method: string, path: string, body?: unknown) =>
  fetch(url + path, {
    method,
    headers: { authorization: `Bearer ${KEY}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });

describe('crash safety', () => {
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) c.kill('SIGKILL');
  });

  it('loses no acknowledged message across kill -9 under load', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'smsgw-crash-'));
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const first = startServer(dataDir, port);
    children.push(first);
    await waitReady(url);
    const channels = (await (await api(url, 'GET', '/v1/channels')).json()) as { data: { id: string }[] };
    // Slow deliveries so that messages are in every state when the process dies.
    await api(url, 'PATCH', `/v1/channels/${channels.data[0]!.id}`, {
      config: { latencyMs: 5, deliveryDelayMs: 300, successRate: 1 },
    });

    const acknowledged: string[] = [];
    let stop = false;
    const worker = async (w: number) => {
      for (let i = 0; !stop; i++) {
        try {
          const res = await api(url, 'POST', '/v1/messages', {
            to: [
              `+1555${String(w).padStart(3, '0')}${String(i % 10000).padStart(4, '0')}`,
              `+4477009${String(i % 100000).padStart(5, '0')}`,
            ],
            text: `load ${w}-${i}`,
          });
          if (res.status === 202) {
            const body = (await res.json()) as { messages: { id: string }[] };
            acknowledged.push(...body.messages.map((m) => m.id));
          }
        } catch {
          return; // the server is gone: whatever was not acknowledged does not count
        }
      }
    };
    const workers = Array.from({ length: 16 }, (_, w) => worker(w));
    await new Promise((r) => setTimeout(r, 2000));
    first.kill('SIGKILL');
    stop = true;
    await Promise.all(workers);
    await exited(first);
    expect(acknowledged.length).toBeGreaterThan(100);

    const second = startServer(dataDir, port);
    children.push(second);
    await waitReady(url);
    const missing: string[] = [];
    const notDelivered = new Set<string>();
    for (const id of acknowledged) {
      const res = await api(url, 'GET', `/v1/messages/${id}`);
      if (res.status === 404) missing.push(id);
      else notDelivered.add(id);
    }
    expect(missing).toEqual([]);
    // Every one of them, including those in flight at the kill, is handed to the channel again
    // and sent. (Reports for messages sent just before the kill died with the simulator's
    // in-process "network", so "sent" counts as reaching the channel.)
    const until = Date.now() + 60_000;
    while (notDelivered.size > 0 && Date.now() < until) {
      for (const id of [...notDelivered]) {
        const m = (await (await api(url, 'GET', `/v1/messages/${id}`)).json()) as { status: string };
        if (m.status === 'delivered' || m.status === 'sent') notDelivered.delete(id);
      }
      if (notDelivered.size > 0) await new Promise((r) => setTimeout(r, 200));
    }
    expect([...notDelivered]).toEqual([]);
    second.kill('SIGTERM');
    await exited(second);
  }, 120_000);
});
