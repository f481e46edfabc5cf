/** End to end: HTTP API → queue → SMPP client channel → SMSC simulator → receipts → message status and webhook. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SmscSim } from '../../src/sim/smsc/simulator.js';
import { startSmscSimulator } from '../../src/sim/smsc/simulator.js';
import type { TestApp } from '../support/app.js';
import { eventually, startTestApp } from '../support/app.js';

describe('through an upstream SMSC over SMPP', () => {
  let sim: SmscSim;
  let t: TestApp;
  let channelId: string;

  beforeAll(async () => {
    sim = await startSmscSimulator({ receiptDelayMs: 30, respIdFormat: 'decimal', receiptIdFormat: 'hex' });
    t = await startTestApp({ SMSGW_SIMULATOR: 'false' });
    const ch = await t.call('POST', '/v1/channels', {
      body: {
        name: 'upstream',
        type: 'smpp',
        config: { host: '127.0.0.1', port: sim.port, systemId: 'gw', password: 'pw' },
      },
    });
    expect(ch.status).toBe(201);
    channelId = ch.body.id;
    await eventually(async () =>
      t.app.registry.get(channelId)?.driver.health().status === 'up' ? true : undefined,
    );
  });
  afterAll(async () => {
    await t.stop();
    await sim.stop();
  });

  it('delivers single and multipart messages and correlates every receipt', async () => {
    const r = await t.call('POST', '/v1/messages', {
      body: { to: ['+79001234567', '+79001234568'], text: 'z'.repeat(170) },
    });
    for (const m of r.body.messages) {
      const done = await eventually(async () => {
        const got = await t.call('GET', `/v1/messages/${m.id}`);
        return got.body.status === 'delivered' ? got.body : undefined;
      });
      expect(done.parts).toHaveLength(2);
      expect(done.channel_id).toBe(channelId);
    }
    expect(sim.stats.submits).toBe(4);
  });

  it('hands inbound messages from the SMSC to the inbox', async () => {
    expect(sim.injectMo('79005551234', '1234', 'reply via smpp')).toBe(true);
    const inbox = await eventually(async () => {
      const list = await t.call('GET', '/v1/inbound');
      return list.body.data.find((m: { text: string }) => m.text === 'reply via smpp');
    });
    expect(inbox).toMatchObject({ from: '+79005551234', channel_id: channelId });
  });
});
