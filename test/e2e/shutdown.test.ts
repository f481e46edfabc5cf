/** Graceful shutdown finishes in-flight submits and records them before closing the database. */
import { connect } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDb } from '../../src/store/db.js';
import { ADMIN_KEY, eventually, startTestApp } from '../support/app.js';

describe('graceful shutdown', () => {
  it('lets in-flight submits finish and writes their outcome', async () => {
    const t = await startTestApp();
    const dataDir = t.app.config.dataDir;
    const ch = (await t.call('GET', '/v1/channels')).body.data[0];
    await t.call('PATCH', `/v1/channels/${ch.id}`, {
      body: { config: { latencyMs: 400, deliveryDelayMs: 60_000 } },
    });
    const r = await t.call('POST', '/v1/messages', {
      body: { to: Array.from({ length: 5 }, (_, i) => `+1555555060${i}`), text: 'in flight' },
    });
    const ids: string[] = r.body.messages.map((m: { id: string }) => m.id);
    // Wait until the submits are under way (the simulator takes 400 ms each), then stop.
    await eventually(async () => (t.app.registry.get(ch.id)!.inFlight > 0 ? true : undefined));
    await t.stop();
    const db = await openDb({ sqlitePath: join(dataDir, 'smsgw.db') });
    const rows = await db.kysely
      .selectFrom('messages')
      .select(['id', 'status'])
      .where('id', 'in', ids)
      .execute();
    await db.close();
    expect(rows).toHaveLength(5);
    for (const row of rows) expect(row.status).toBe('sent');
  });

  it('cuts connections still busy after the grace period (a long-poll, a client that stopped reading)', async () => {
    const t = await startTestApp({ SMSGW_SHUTDOWN_GRACE_MS: '500' });
    // A change-feed long-poll that would hold its request open for a minute.
    const socket = connect(Number(new URL(t.url).port), '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    socket.write(`GET /v1/events?wait=60 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_KEY}\r\n\r\n`);
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    await t.stop();
    expect(Date.now() - started).toBeLessThan(5_000);
    socket.destroy();
  });
});
