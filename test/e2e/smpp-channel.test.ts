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
        // This SMSC answers submits in decimal and names them in hex in its receipts.
        config: { host: '127.0.0.1', port: sim.port, systemId: 'gw', password: 'pw', receiptIds: 'hex' },
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

  it('sends a Turkish text as GSM-7 with the single shift table when the channel opts in, counting fewer segments', async () => {
    const tr = await t.call('POST', '/v1/channels', {
      body: {
        name: 'upstream-tr',
        type: 'smpp',
        owner_id: null,
        monthly_limit: 100,
        config: {
          host: '127.0.0.1',
          port: sim.port,
          systemId: 'gw',
          password: 'pw',
          receiptIds: 'hex',
          shiftTables: ['turkish'],
        },
      },
    });
    expect(tr.status).toBe(201);
    await eventually(async () =>
      t.app.registry.get(tr.body.id)?.driver.health().status === 'up' ? true : undefined,
    );
    // 100 characters with ş, ğ, ı: UCS-2 needs 2 segments, GSM-7 with the Turkish shift needs 1.
    const text = 'Şişli’de ğüzel bir gün: ışık '.replace('’', "'").repeat(4).slice(0, 100);
    const sent = await t.call('POST', '/v1/messages', {
      body: { to: '+905321234567', text, channel_id: tr.body.id },
    });
    expect(sent.body.messages[0]).toMatchObject({ encoding: 'ucs2', segments: 2 });
    const done = await eventually(async () => {
      const got = await t.call('GET', `/v1/messages/${sent.body.messages[0].id}`);
      return got.body.status === 'delivered' ? got.body : undefined;
    });
    expect(done).toMatchObject({ encoding: 'gsm7', segments: 1, channel_id: tr.body.id });
    const submit = sim.received.find((r) => r.to === '905321234567' || r.to === '+905321234567');
    expect(submit).toBeDefined();
    expect(submit!.dataCoding).toBe(0);
    expect(submit!.esmClass & 0x40).toBe(0x40);
    // UDH: length 3, IE 0x24 (single shift), language 1 (Turkish); then one septet per octet.
    expect([...submit!.body.subarray(0, 4)]).toEqual([0x03, 0x24, 0x01, 0x01]);
    // Turkish letters outside the default alphabet take an escape septet each.
    const shifted = [...text].filter((c) => 'ŞşĞğİıç'.includes(c)).length;
    expect(shifted).toBeGreaterThan(10);
    expect(submit!.body.length).toBe(4 + 100 + shifted);
    const ch = await t.call('GET', `/v1/channels/${tr.body.id}`);
    expect(ch.body.used_this_month).toBe(1);
    await t.call('POST', `/v1/channels/${tr.body.id}/disable`);
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
