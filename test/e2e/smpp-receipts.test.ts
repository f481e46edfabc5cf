/**
 * Receipts at the SMPP client channel's edges, through the whole gateway (HTTP API → queue →
 * SMPP channel → SMSC simulator → receipts → database): receipts in the same TCP write as the
 * submit_sm_resp, before it and shortly after it; sequential numeric ids with receipts 1,000
 * submits late. Every message must end in exactly the state its own receipt gave, and the
 * simulator must see every receipt acknowledged once committed (none left unanswered).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SmscSim, SmscSimOptions } from '../../src/sim/smsc/simulator.js';
import { startSmscSimulator } from '../../src/sim/smsc/simulator.js';
import type { TestApp } from '../support/app.js';
import { eventually, startTestApp } from '../support/app.js';

const PER_REQUEST = 1000;

describe('SMPP channel receipts racing the submit', () => {
  let sim: SmscSim | undefined;
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.stop();
    await sim?.stop();
    t = undefined;
    sim = undefined;
  });

  async function setup(simOpts: Partial<SmscSimOptions>): Promise<{ sim: SmscSim; t: TestApp }> {
    sim = await startSmscSimulator(simOpts);
    t = await startTestApp({ SMSGW_SIMULATOR: 'false' });
    const ch = await t.call('POST', '/v1/channels', {
      body: {
        name: 'upstream',
        type: 'smpp',
        max_in_flight: 400,
        config: { host: '127.0.0.1', port: sim.port, systemId: 'gw', password: 'pw', window: 200 },
      },
    });
    expect(ch.status).toBe(201);
    const app = t;
    await eventually(async () =>
      app.app.registry.get(ch.body.id)?.driver.health().status === 'up' ? true : undefined,
    );
    return { sim, t };
  }

  async function send(app: TestApp, total: number, tag: string): Promise<void> {
    for (let i = 0; i < total / PER_REQUEST; i++) {
      const r = await app.call('POST', '/v1/messages', {
        body: {
          to: Array.from(
            { length: PER_REQUEST },
            (_, k) => `+4477${String(i).padStart(3, '0')}${String(k).padStart(5, '0')}`,
          ),
          text: `${tag} ${i}`,
        },
      });
      expect(r.status).toBe(202);
      expect(r.body.accepted).toBe(PER_REQUEST);
    }
  }

  async function statusCounts(app: TestApp): Promise<Record<string, number>> {
    const rows = await app.app.store.db.kysely
      .selectFrom('messages')
      .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('status')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
  }

  /** Waits until the simulator has every receipt acknowledged, then checks every message. */
  async function expectAllDelivered(s: SmscSim, app: TestApp, total: number): Promise<void> {
    await eventually(async () => (s.stats.receiptsAcked >= total ? true : undefined), 120_000);
    // Acknowledged means committed: nothing may be left waiting for its receipt.
    expect(await statusCounts(app)).toEqual({ delivered: total });
    expect(s.stats).toMatchObject({ submits: total, receipts: total, receiptsNacked: 0, receiptsUnacked: 0 });
    const pending = await app.app.store.db.kysely
      .selectFrom('pending_reports')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(pending.n)).toBe(0);
  }

  it('10,000 messages with each receipt in the same socket write as its submit_sm_resp: all delivered', async () => {
    const { sim: s, t: app } = await setup({ receiptTiming: 'with-resp' });
    await send(app, 10_000, 'same write');
    await expectAllDelivered(s, app, 10_000);
  }, 180_000);

  it('2,000 messages with each receipt written before its submit_sm_resp: all delivered', async () => {
    const { sim: s, t: app } = await setup({ receiptTiming: 'before-resp' });
    await send(app, 2000, 'before');
    await expectAllDelivered(s, app, 2000);
  }, 120_000);

  it('2,000 messages with receipts 5 ms after the submit_sm_resp: all delivered', async () => {
    const { sim: s, t: app } = await setup({ receiptTiming: 'delay', receiptDelayMs: 5 });
    await send(app, 2000, 'shortly after');
    await expectAllDelivered(s, app, 2000);
  }, 120_000);

  it('sequential ids 1, 2, 3 … with receipts 1,000 submits late: every receipt on its own message', async () => {
    const total = 3000;
    const { sim: s, t: app } = await setup({
      respIdFormat: 'sequential',
      receiptIdFormat: 'sequential',
      receiptLagSubmits: 1000,
      // Deterministic per id: every 7th id UNDELIV, so a receipt on the wrong message shows.
      undelivEvery: 7,
    });
    await send(app, total, 'sequential');
    await eventually(async () => (s.stats.submits >= total ? true : undefined), 120_000);
    // 2,000 receipts went out 1,000 submits late; the last 1,000 have no later submits to wait for.
    expect(s.stats.receipts).toBe(total - 1000);
    s.releaseReceipts();
    await eventually(async () => (s.stats.receiptsAcked >= total ? true : undefined), 120_000);
    const rows = await app.app.store.db.kysely
      .selectFrom('messages as m')
      .innerJoin('message_parts as p', 'p.message_id', 'm.id')
      .select(['m.status as status', 'p.remote_id as remoteId', 'p.status as partStatus'])
      .execute();
    expect(rows).toHaveLength(total);
    const ids = new Set(rows.map((r) => r.remoteId));
    expect(ids.size).toBe(total);
    const wrong = rows.filter(
      (r) => r.status !== (Number(r.remoteId) % 7 === 0 ? 'undelivered' : 'delivered'),
    );
    expect(wrong).toEqual([]);
    expect(await statusCounts(app)).toEqual({
      delivered: total - Math.floor(total / 7),
      undelivered: Math.floor(total / 7),
    });
    expect(s.stats).toMatchObject({ receiptsNacked: 0, receiptsUnacked: 0 });
  }, 180_000);
});
