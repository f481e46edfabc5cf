/** The SMPP client channel against our SMSC simulator and against a server built on the npm `smpp` package. */
import { afterEach, describe, expect, it } from 'vitest';
import { SmppClientDriver, parseSmppClientConfig } from '../../../src/channels/smpp/driver.js';
import { splitUdh } from '../../../src/codec/smpp-text.js';
import { TLV } from '../../../src/codec/smpp-pdu.js';
import type { SmscSim } from '../../../src/sim/smsc/simulator.js';
import { startSmscSimulator } from '../../../src/sim/smsc/simulator.js';
import { eventually } from '../../support/app.js';
import { outbound, recorder } from '../../support/channel.js';

const sms = outbound;

describe('SMPP client channel', () => {
  let sim: SmscSim | undefined;
  let driver: SmppClientDriver | undefined;
  afterEach(async () => {
    await driver?.stop();
    await sim?.stop();
    driver = undefined;
    sim = undefined;
  });

  async function setup(
    simOpts: Parameters<typeof startSmscSimulator>[0] = {},
    cfg: Record<string, unknown> = {},
  ) {
    sim = await startSmscSimulator({ receiptDelayMs: 20, ...simOpts });
    driver = new SmppClientDriver(
      parseSmppClientConfig({ host: '127.0.0.1', port: sim.port, systemId: 'gw', password: 'pw', ...cfg }),
    );
    const rec = recorder();
    await driver.start(rec.events);
    return rec;
  }

  it('submits, and offers the hex form of a decimal receipt id when configured so', async () => {
    const rec = await setup({ respIdFormat: 'hex', receiptIdFormat: 'decimal' }, { receiptIds: 'decimal' });
    const r = await driver!.submit(sms('hello'));
    expect(r.remoteIds).toHaveLength(1);
    expect(r.remoteIds[0]).toMatch(/^[0-9A-F]+$/);
    const report = await eventually(async () => rec.reports[0]);
    // The id as the receipt gave it, and the submit's form as the one conversion configured.
    expect(report).toMatchObject({ remoteId: String(parseInt(r.remoteIds[0]!, 16)), state: 'delivered' });
    expect(report.altIds).toContain(r.remoteIds[0]);
    expect(sim!.received[0]).toMatchObject({ to: '79001234567', dataCoding: 0 });
  });

  it('maps failed receipts through the error table', async () => {
    const rec = await setup({ successRate: 0 });
    await driver!.submit(sms('will fail'));
    const report = await eventually(async () => rec.reports[0]);
    expect(report.state).not.toBe('delivered');
    expect(report.errorCode).toEqual(expect.any(String));
  });

  it('sends a long message as UDH parts through the same bind, UCS-2 and flash included', async () => {
    await setup();
    const text = 'Привет мир! '.repeat(10);
    const r = await driver!.submit(sms(text, { flash: true }));
    expect(r.remoteIds).toHaveLength(2);
    const [a, b] = sim!.received.slice(-2);
    expect(a!.esmClass & 0x40).toBe(0x40);
    expect(a!.dataCoding).toBe(0x18);
    const pa = splitUdh(a!.body);
    const pb = splitUdh(b!.body);
    expect(pa.concat).toMatchObject({ total: 2, seq: 1 });
    expect(pb.concat).toMatchObject({ total: 2, seq: 2, ref: pa.concat!.ref });
    const joined = Buffer.concat([pa.payload, pb.payload]).swap16().toString('utf16le');
    expect(joined).toBe(text);
  });

  it('can carry parts as SAR TLVs or the whole text as message_payload', async () => {
    await setup({}, { multipart: 'sar' });
    await driver!.submit(sms('x'.repeat(200)));
    const parts = sim!.received.slice(-2);
    expect(parts.map((p) => p.tlvs.get(TLV.sar_segment_seqnum)?.[0])).toEqual([1, 2]);
    await driver!.stop();
    driver = new SmppClientDriver(
      parseSmppClientConfig({
        host: '127.0.0.1',
        port: sim!.port,
        systemId: 'gw',
        password: 'pw',
        multipart: 'payload',
      }),
    );
    await driver.start(recorder().events);
    const r = await driver.submit(sms('y'.repeat(300)));
    expect(r.remoteIds).toHaveLength(1);
    expect(sim!.received.at(-1)!.tlvs.get(TLV.message_payload)?.length).toBe(300);
  });

  it('resubmits what was never acknowledged when the connection drops', async () => {
    await setup();
    await driver!.submit(sms('warm-up'));
    sim!.pauseAcks(true);
    const pending = Array.from({ length: 20 }, (_, i) => driver!.submit(sms(`m${i}`, { id: `m${i}` })));
    await new Promise((r) => setTimeout(r, 100));
    sim!.pauseAcks(false);
    sim!.dropConnections();
    const results = await Promise.all(pending);
    expect(results.every((r) => r.remoteIds.length === 1)).toBe(true);
    const texts = sim!.received.map((m) => m.body.toString('latin1'));
    for (let i = 0; i < 20; i++) expect(texts.filter((t) => t === `m${i}`)).toHaveLength(1);
  });

  it('gets a receipt again after a drop when it did not acknowledge it', async () => {
    sim = await startSmscSimulator({ receiptDelayMs: 20 });
    driver = new SmppClientDriver(
      parseSmppClientConfig({ host: '127.0.0.1', port: sim.port, systemId: 'gw', password: 'pw' }),
    );
    const rec = recorder();
    let refused = 0;
    await driver.start({
      ...rec.events,
      // The first report fails to commit: no deliver_sm_resp; then the connection drops.
      deliveryReport: async (r) => {
        if (refused++ === 0) {
          setTimeout(() => sim!.dropConnections(), 10);
          throw new Error('not committed');
        }
        return rec.events.deliveryReport(r);
      },
    });
    const r = await driver.submit(sms('held receipt'));
    await eventually(async () => (rec.reports.length > 0 ? true : undefined), 30_000);
    expect(refused).toBe(2);
    expect(rec.reports.map((x) => x.remoteId)).toEqual(r.remoteIds);
    expect(sim.stats.receiptsAcked).toBe(1);
  });

  it('slows down on ESME_RTHROTTLED instead of failing', async () => {
    await setup({ throttleEvery: 3 });
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => driver!.submit(sms(`t${i}`))));
    expect(results).toHaveLength(10);
    expect(sim!.stats.throttled).toBeGreaterThan(0);
  }, 60_000);

  it('turns deliver_sm from the SMSC into inbound messages', async () => {
    const rec = await setup();
    await eventually(async () => (driver!.health().status === 'up' ? true : undefined));
    expect(sim!.injectMo('79005550000', '1234', 'Hi there')).toBe(true);
    const mo = await eventually(async () => rec.inbound[0]);
    expect(mo).toMatchObject({ from: '+79005550000', text: 'Hi there' });
  });
});

describe('SMPP client channel against a third-party server (npm smpp)', () => {
  it('binds, submits and receives a receipt', async () => {
    const smpp = (await import('smpp')).default as any;
    let receiptSent = false;
    const server = smpp.createServer((session: any) => {
      session.on('error', () => undefined);
      session.on('bind_transceiver', (pdu: any) => {
        session.send(pdu.response());
      });
      session.on('enquire_link', (pdu: any) => session.send(pdu.response()));
      session.on('unbind', (pdu: any) => {
        session.send(pdu.response());
        session.close();
      });
      session.on('submit_sm', (pdu: any) => {
        session.send(pdu.response({ message_id: 'AB12' }));
        if (!receiptSent) {
          receiptSent = true;
          setTimeout(() => {
            session.deliver_sm({
              source_addr: pdu.destination_addr,
              destination_addr: pdu.source_addr,
              esm_class: 4,
              short_message:
                'id:ab12 sub:001 dlvrd:001 submit date:2611241200 done date:2611241201 stat:DELIVRD err:000 text:',
            });
          }, 20);
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = server.address().port as number;
    const rec = recorder();
    const driver = new SmppClientDriver(
      parseSmppClientConfig({
        host: '127.0.0.1',
        port,
        systemId: 'gw',
        password: 'pw',
        receiptIds: 'ignore-case',
      }),
    );
    await driver.start(rec.events);
    try {
      const r = await driver.submit(sms('to a foreign server'));
      expect(r.remoteIds).toEqual(['AB12']);
      const report = await eventually(async () => rec.reports[0]);
      expect(report).toMatchObject({ remoteId: 'ab12', state: 'delivered' });
      expect(report.altIds).toContain('AB12');
    } finally {
      await driver.stop();
      server.close();
    }
  });
});

describe('SMPP client channel with separate transmitter and receiver binds', () => {
  it('submits on the transmitter and gets receipts on the receiver', async () => {
    const sim = await startSmscSimulator({ receiptDelayMs: 20 });
    const rec = recorder();
    const driver = new SmppClientDriver(
      parseSmppClientConfig({
        host: '127.0.0.1',
        port: sim.port,
        systemId: 'gw',
        password: 'pw',
        bindMode: 'transmitter+receiver',
      }),
    );
    await driver.start(rec.events);
    try {
      const r = await driver.submit(sms('two binds'));
      const report = await eventually(async () => rec.reports[0]);
      expect(report).toMatchObject({ remoteId: r.remoteIds[0], state: 'delivered' });
      expect(sim.stats.binds).toBe(2);
    } finally {
      await driver.stop();
      await sim.stop();
    }
  });
});

describe('SMPP client channel lifecycle', () => {
  const cfg = (port: number, extra: Record<string, unknown> = {}) =>
    parseSmppClientConfig({ host: '127.0.0.1', port, systemId: 'gw', password: 'pw', ...extra });
  const up = (d: SmppClientDriver) =>
    eventually(async () => (d.health().status === 'up' ? true : undefined), 20_000);
  // Absence can only be shown by waiting: longer than the receiver's 2 s reconnect and the first
  // 0.5 s backoff. Under load this can only make the test more lenient, never fail it falsely.
  const longerThanReconnects = () => new Promise((r) => setTimeout(r, 2500));

  it('stop releases both binds and their reconnects, can be called twice, and start works again at once', async () => {
    const sim = await startSmscSimulator({ receiptDelayMs: 10 });
    const driver = new SmppClientDriver(cfg(sim.port, { bindMode: 'transmitter+receiver' }));
    try {
      const rec = recorder();
      await driver.start(rec.events);
      await up(driver);
      await eventually(async () => (sim.connections() === 2 ? true : undefined));
      await Promise.all([driver.stop(), driver.stop()]);
      await driver.stop();
      expect(driver.health().status).toBe('stopped');
      await expect(driver.submit(sms('after stop'))).rejects.toMatchObject({ code: 'channel_error' });

      // Started again at once, as the registry does after an edit: the old binds' closing must
      // not start reconnects of their own, so there is one transmitter and one receiver.
      await driver.start(rec.events);
      await up(driver);
      await longerThanReconnects();
      expect(sim.connections()).toBe(2);
      expect(sim.stats.binds).toBe(4);
      const r = await driver.submit(sms('again'));
      const report = await eventually(async () => rec.reports.find((x) => x.remoteId === r.remoteIds[0]));
      expect(report.state).toBe('delivered');

      await driver.stop();
      await eventually(async () => (sim.connections() === 0 ? true : undefined));
      await longerThanReconnects();
      expect(sim.connections()).toBe(0);
      expect(sim.stats.binds).toBe(4);
    } finally {
      await driver.stop();
      await sim.stop();
    }
  }, 60_000);

  it('stop cancels the reconnect to an SMSC that is down; a start right after makes one bind', async () => {
    const first = await startSmscSimulator();
    const port = first.port;
    const driver = new SmppClientDriver(cfg(port));
    await driver.start(recorder().events);
    await up(driver);
    await first.stop();
    await eventually(async () => (driver.health().status === 'down' ? true : undefined));
    // The reconnect timer is pending now; stop and start while it is.
    await driver.stop();
    await driver.start(recorder().events);
    const second = await startSmscSimulator({ port });
    try {
      await up(driver);
      await longerThanReconnects();
      expect(second.connections()).toBe(1);
      expect(second.stats.binds).toBe(1);
      await driver.stop();
      await eventually(async () => (second.connections() === 0 ? true : undefined));
      await longerThanReconnects();
      expect(second.connections()).toBe(0);
    } finally {
      await driver.stop();
      await second.stop();
    }
  }, 60_000);

  it('stop lets the window drain, then fails what the SMSC never answered as channel_error', async () => {
    const sim = await startSmscSimulator();
    const driver = new SmppClientDriver(cfg(sim.port, { responseTimeoutMs: 1000 }));
    try {
      await driver.start(recorder().events);
      await up(driver);
      sim.pauseAcks(true);
      const pending = [1, 2, 3].map((i) => driver.submit(sms(`w${i}`)).catch((e: unknown) => e));
      await eventually(async () =>
        sim.received.length === 0 && driver.health().inFlight === 3 ? true : undefined,
      );
      await driver.stop();
      for (const e of await Promise.all(pending)) expect(e).toMatchObject({ code: 'channel_error' });
      expect(driver.health()).toMatchObject({ status: 'stopped', inFlight: 0 });
    } finally {
      await driver.stop();
      await sim.stop();
    }
  }, 60_000);
});
