/** The simulator as a test instrument: it keeps the receipts it owes across a restart, as an SMSC does. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChannelEvents, DeliveryReport } from '../../src/channels/port.js';
import { SIMULATOR_DEFAULTS, SimulatorDriver } from '../../src/channels/simulator/driver.js';
import { eventually } from '../support/app.js';
import { outbound, recorder } from '../support/channel.js';

const drivers: SimulatorDriver[] = [];
afterEach(async () => {
  await Promise.all(drivers.splice(0).map((d) => d.stop()));
});

function sim(dir: string | undefined, over: Partial<typeof SIMULATOR_DEFAULTS> = {}): SimulatorDriver {
  const d = new SimulatorDriver(
    { ...SIMULATOR_DEFAULTS, latencyMs: 0, successRate: 1, ...over },
    Math.random,
    dir,
  );
  drivers.push(d);
  return d;
}

const journalLines = (dir: string) =>
  readFileSync(join(dir, 'receipts.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l !== '');

describe('simulator receipts', () => {
  it('reports after a restart what it owed when stopped, and at once when overdue', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smsgw-sim-'));
    const first = sim(dir, { deliveryDelayMs: 150 });
    const before = recorder();
    await first.start(before.events);
    const ids = [];
    for (const text of ['one', 'two', 'x'.repeat(200)])
      ids.push(...(await first.submit(outbound(text))).remoteIds);
    expect(ids).toHaveLength(4); // the long text has two parts
    await first.stop();
    expect(before.reports).toEqual([]);
    expect(journalLines(dir)).toHaveLength(3);

    // Down for longer than the delivery delay: everything is overdue when it starts again.
    await new Promise((r) => setTimeout(r, 300));
    const second = sim(dir, { deliveryDelayMs: 60_000 });
    const after = recorder();
    await second.start(after.events);
    await eventually(async () => (after.reports.length >= 4 ? true : undefined), 10_000);
    expect(after.reports.map((r) => r.remoteId).sort()).toEqual([...ids].sort());
    expect(after.reports.every((r) => r.state === 'delivered')).toBe(true);
    await eventually(async () => (second.pendingReceipts === 0 ? true : undefined), 10_000);
    await second.stop();

    // Committed receipts are not reported again, and the file no longer holds them.
    const third = sim(dir);
    const again = recorder();
    await third.start(again.events);
    expect(third.pendingReceipts).toBe(0);
    expect(journalLines(dir)).toEqual([]);
    await new Promise((r) => setTimeout(r, 100));
    expect(again.reports).toEqual([]);
  });

  it('keeps receipts that are not yet due for their time', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smsgw-sim-'));
    const first = sim(dir, { deliveryDelayMs: 1500 });
    await first.start(recorder().events);
    const before = Date.now();
    const [id] = (await first.submit(outbound('later'))).remoteIds;
    await first.stop();
    const second = sim(dir, { deliveryDelayMs: 0 });
    const rec = recorder();
    await second.start(rec.events);
    await new Promise((r) => setTimeout(r, 200));
    expect(rec.reports).toEqual([]); // not due yet, and the new delay does not apply to it
    await eventually(async () => (rec.reports.length === 1 ? true : undefined), 10_000);
    expect(rec.reports[0]!.remoteId).toBe(id);
    // Due 1.5 s after the submit (timers and Date.now may differ by a millisecond).
    expect(Date.now()).toBeGreaterThanOrEqual(before + 1490);
  });

  it('offers a report again when the gateway could not commit it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smsgw-sim-'));
    const d = sim(dir, { deliveryDelayMs: 0 });
    const committed: DeliveryReport[] = [];
    let refusals = 0;
    const events: ChannelEvents = {
      deliveryReport: async (r) => {
        if (refusals++ < 1) throw new Error('database is locked');
        committed.push(r);
      },
      inbound: async () => undefined,
      state: () => undefined,
    };
    await d.start(events);
    const [id] = (await d.submit(outbound('retry me'))).remoteIds;
    await eventually(async () => (committed.length === 1 ? true : undefined), 20_000);
    expect(committed[0]!.remoteId).toBe(id);
    expect(refusals).toBe(2);
    await eventually(async () => (d.pendingReceipts === 0 ? true : undefined), 10_000);
  }, 30_000);

  it('keeps the file about as large as what is pending', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smsgw-sim-'));
    const d = sim(dir, { deliveryDelayMs: 0 });
    const rec = recorder();
    await d.start(rec.events);
    for (let i = 0; i < 2500; i++) await d.submit(outbound(`m${i}`));
    await eventually(async () => (d.pendingReceipts === 0 ? true : undefined), 20_000);
    expect(rec.reports).toHaveLength(2500);
    // 2,500 adds and 2,500 done lines were written; compaction dropped the finished ones.
    expect(journalLines(dir).length).toBeLessThan(2100);
  }, 30_000);

  it('skips a torn line and reads the rest', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smsgw-sim-'));
    const due = Date.now() - 1;
    writeFileSync(
      join(dir, 'receipts.jsonl'),
      `${JSON.stringify({ n: 1, due, ids: ['aa'], o: 'delivered' })}\n` +
        `${JSON.stringify({ n: 2, due, ids: ['bb'], o: 'unknown_subscriber' })}\n{"n":3,"du`,
    );
    const d = sim(dir);
    const rec = recorder();
    await d.start(rec.events);
    await eventually(async () => (rec.reports.length === 2 ? true : undefined), 10_000);
    const bb = rec.reports.find((r) => r.remoteId === 'bb');
    expect(bb).toMatchObject({ state: 'undelivered', errorCode: 'unknown_subscriber' });
  });

  it('throttles submits beyond the receipts it may hold', async () => {
    const d = sim(undefined, { deliveryDelayMs: 60_000, maxPendingReceipts: 2 });
    await d.start(recorder().events);
    await d.submit(outbound('a'));
    await d.submit(outbound('b'));
    await expect(d.submit(outbound('c'))).rejects.toMatchObject({ code: 'throttled', permanent: false });
    // Without a report requested, nothing is owed.
    await expect(d.submit(outbound('d', { deliveryReport: false }))).resolves.toBeDefined();
  });
});
