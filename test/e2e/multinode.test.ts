/** Two gateway nodes on one PostgreSQL database share the queue without sending anything twice. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimulatorDriver } from '../../src/channels/simulator/driver.js';
import type { TestApp } from '../support/app.js';
import { eventually, startTestApp } from '../support/app.js';
import { PG_URL, pgSchemaUrl } from '../support/db.js';

describe.skipIf(!PG_URL)('several nodes on PostgreSQL', () => {
  let a: TestApp;
  let b: TestApp;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const schema = await pgSchemaUrl();
    drop = schema.drop;
    a = await startTestApp({ DATABASE_URL: schema.url, SMSGW_CHANNEL_LEASE_MS: '3000' });
    b = await startTestApp({ DATABASE_URL: schema.url, SMSGW_CHANNEL_LEASE_MS: '3000' });
    const channels = await a.call('GET', '/v1/channels');
    const config = { latencyMs: 2, deliveryDelayMs: 20, successRate: 1 };
    await a.call('PATCH', `/v1/channels/${channels.body.data[0].id}`, { body: { config } });
    // A channel runs on one node at a time (issue 17): a second one lets both nodes send.
    const second = await a.call('POST', '/v1/channels', {
      body: { name: 'simulator-2', type: 'simulator', config, max_in_flight: 200 },
    });
    expect(second.status).toBe(201);
    // Fair share: one channel each, within a few lease rounds.
    await eventually(async () => {
      await a.app.registry.sync();
      await b.app.registry.sync();
      return a.app.registry.all().length === 1 && b.app.registry.all().length === 1 ? true : undefined;
    }, 20_000);
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await drop?.();
  });

  it('one channel per node: every message sent exactly once across both nodes', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const node = i % 2 === 0 ? a : b;
      const r = await node.call('POST', '/v1/messages', {
        body: {
          to: Array.from(
            { length: 50 },
            (_, k) => `+1555${String(i).padStart(3, '0')}${String(k).padStart(4, '0')}`,
          ),
          text: `wave ${i}`,
        },
      });
      expect(r.status).toBe(202);
      ids.push(...r.body.messages.map((m: { id: string }) => m.id));
    }
    await eventually(async () => {
      const page = await a.call('GET', '/v1/messages?status=delivered&limit=500');
      return page.body.data.length === ids.length ? true : undefined;
    }, 60_000);
    const simA = a.app.registry.all()[0]!.driver as SimulatorDriver;
    const simB = b.app.registry.all()[0]!.driver as SimulatorDriver;
    const sentIds = [...simA.sent, ...simB.sent].map((s) => s.id);
    expect(sentIds.length).toBe(ids.length);
    expect(new Set(sentIds).size).toBe(ids.length);
    // Both nodes did part of the work.
    expect(simA.sent.length).toBeGreaterThan(0);
    expect(simB.sent.length).toBeGreaterThan(0);
  });
});
