/**
 * The AT modem channel against the modem simulator (TCP transport), and the simulator against
 * Gammu's own AT driver over a socat pty pair, which proves the simulator is faithful.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { ModemDriver, parseModemConfig } from '../../../src/channels/modem/driver.js';
import { probeModems } from '../../../src/channels/modem/probe.js';
import type { ChannelEvents, DeliveryReport, InboundSms } from '../../../src/channels/port.js';
import { SubmitError } from '../../../src/channels/port.js';
import {
  MODEM_SIM_DEFAULTS,
  ModemSimulator,
  ptyPair,
  serveModemTcp,
} from '../../../src/sim/modem/simulator.js';
import { eventually } from '../../support/app.js';
import { outbound } from '../../support/channel.js';

const sms = outbound;

describe('AT modem channel with the modem simulator', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function setup(extra: Record<string, unknown> = {}) {
    const sim = new ModemSimulator({ ...MODEM_SIM_DEFAULTS, sendDelayMs: 10, reportDelayMs: 20 });
    const tcp = await serveModemTcp(sim);
    const reports: DeliveryReport[] = [];
    const inbound: InboundSms[] = [];
    const events: ChannelEvents = {
      deliveryReport: async (r) => void reports.push(r),
      inbound: async (s) => void inbound.push(s),
      state: () => undefined,
    };
    const driver = new ModemDriver(
      parseModemConfig({ port: `tcp://127.0.0.1:${tcp.port}`, sendTimeoutMs: 2000, ...extra }),
    );
    await driver.start(events);
    cleanups.push(
      () => tcp.close(),
      () => driver.stop(),
    );
    return { sim, driver, reports, inbound };
  }

  it('initialises, reports health, and sends single and multipart messages in PDU mode', async () => {
    const { sim, driver } = await setup();
    expect(driver.health()).toMatchObject({ status: 'up', signal: 21, operator: 'smsgw sim' });
    const one = await driver.submit(sms('Hello €uro [1]', { flash: true, replaceId: 2 }));
    expect(one.remoteIds).toHaveLength(1);
    expect(sim.sent[0]).toMatchObject({
      to: '+79001234567',
      text: 'Hello €uro [1]',
      flash: true,
      replaceId: 2,
      statusReport: true,
    });
    const long = 'Привет! '.repeat(20);
    const two = await driver.submit(sms(long));
    expect(two.remoteIds).toHaveLength(sim.sent.length - 1);
    expect(
      sim.sent
        .slice(1)
        .map((s) => s.text)
        .join(''),
    ).toBe(long);
    expect(new Set(sim.sent.slice(1).map((s) => s.concat?.ref)).size).toBe(1);
  });

  it('sends Turkish text as GSM-7 with the shift table the dispatcher chose', async () => {
    const { sim, driver } = await setup({ shiftTables: ['turkish'] });
    await driver.submit(
      sms('Güzel şehir İstanbul', { encoding: 'gsm7', shiftTable: 'turkish', segments: 1 }),
    );
    expect(sim.sent.at(-1)).toMatchObject({
      text: 'Güzel şehir İstanbul',
      encoding: 'gsm7',
      shiftTable: 'turkish',
    });
  });

  it('maps +CMS ERROR through the error table', async () => {
    const { sim, driver } = await setup();
    sim.failNextSend(30);
    const err = await driver.submit(sms('x')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SubmitError);
    expect(err).toMatchObject({ code: 'unknown_subscriber', permanent: true });
    expect((await driver.submit(sms('after the error'))).remoteIds).toHaveLength(1);
  });

  it('turns +CDS status reports into delivery reports for the right message', async () => {
    const { driver, reports } = await setup();
    const r = await driver.submit(sms('report me'));
    const report = await eventually(async () => reports[0]);
    expect(report).toMatchObject({ remoteId: r.remoteIds[0], state: 'delivered' });
  });

  it('reads inbound messages on +CMTI and deletes them from the SIM', async () => {
    const { sim, inbound } = await setup();
    sim.injectInbound('+79005550000', 'Ответ с телефона');
    const m = await eventually(async () => inbound[0]);
    expect(m).toMatchObject({ from: '+79005550000', text: 'Ответ с телефона' });
  });

  it('reassembles concatenated inbound parts that arrive out of order', async () => {
    const { sim, inbound } = await setup();
    sim.injectInbound('+79005550001', 'world!', { ref: 77, total: 2, seq: 2 });
    sim.injectInbound('+79005550001', 'Hello, ', { ref: 77, total: 2, seq: 1 });
    const m = await eventually(async () => inbound[0]);
    expect(m).toMatchObject({ from: '+79005550001', text: 'Hello, world!' });
    expect(inbound).toHaveLength(1);
  });

  it('recovers from a modem that stops answering', async () => {
    const { sim, driver } = await setup();
    sim.fault = 'silent';
    const err = await driver.submit(sms('lost')).catch((e: unknown) => e);
    // The modem took the PDU and never answered: the SMS may have left (it is not refunded).
    expect(err).toMatchObject({ code: 'channel_timeout', outcomeUnknown: true });
    sim.fault = 'none';
    await eventually(async () => {
      try {
        return (await driver.submit(sms('back'))).remoteIds.length === 1 ? true : undefined;
      } catch {
        return undefined;
      }
    });
  });
});

/**
 * Records the timers created while it watches (through the public timer functions): `live()`
 * lists those neither fired nor cleared (intervals count until cleared), with where they were made.
 */
function watchTimers() {
  const g = globalThis as unknown as Record<string, (...a: unknown[]) => unknown>;
  const orig = {
    setTimeout: g.setTimeout,
    setInterval: g.setInterval,
    clearTimeout: g.clearTimeout,
    clearInterval: g.clearInterval,
  } as Record<string, (...a: unknown[]) => unknown>;
  const live = new Map<unknown, string>();
  g.setTimeout = (fn: unknown, ...rest: unknown[]) => {
    const t = orig.setTimeout!(
      (...a: unknown[]) => {
        live.delete(t);
        (fn as (...x: unknown[]) => void)(...a);
      },
      ...rest,
    );
    live.set(t, new Error().stack?.split('\n')[2]?.trim() ?? 'setTimeout');
    return t;
  };
  g.setInterval = (...args: unknown[]) => {
    const t = orig.setInterval!(...args);
    live.set(t, new Error().stack?.split('\n')[2]?.trim() ?? 'setInterval');
    return t;
  };
  for (const name of ['clearTimeout', 'clearInterval']) {
    g[name] = (t: unknown) => {
      live.delete(t);
      return orig[name]!(t);
    };
  }
  return {
    live: () => [...live.values()],
    restore: () => void Object.assign(g, orig),
  };
}

/** Channel events whose `inbound` is decided by the test: it resolves, rejects or waits. */
function gatedEvents() {
  const stored: InboundSms[] = [];
  const waiting: { sms: InboundSms; resolve: () => void; reject: (e: Error) => void }[] = [];
  let mode: 'store' | 'reject' | 'hold' = 'store';
  const events: ChannelEvents = {
    deliveryReport: async () => undefined,
    inbound: (s) => {
      if (mode === 'reject') return Promise.reject(new Error('database is down'));
      if (mode === 'hold')
        return new Promise<void>((resolve, reject) => waiting.push({ sms: s, resolve, reject }));
      stored.push(s);
      return Promise.resolve();
    },
    state: () => undefined,
  };
  return {
    events,
    stored,
    waiting,
    set: (m: typeof mode) => void (mode = m),
  };
}

describe('AT modem channel: the SIM is emptied only of what is stored, and stop releases everything', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function modem(extra: Record<string, unknown> = {}) {
    const sim = new ModemSimulator({ ...MODEM_SIM_DEFAULTS, sendDelayMs: 10, reportDelayMs: 20 });
    const tcp = await serveModemTcp(sim);
    cleanups.push(() => tcp.close());
    const driver = (over: Record<string, unknown> = {}) => {
      const d = new ModemDriver(
        parseModemConfig({ port: `tcp://127.0.0.1:${tcp.port}`, sendTimeoutMs: 5000, ...extra, ...over }),
      );
      cleanups.push(() => d.stop());
      return d;
    };
    return { sim, tcp, driver };
  }

  it('keeps a message whose storing failed on the SIM, and stores it at the next start', async () => {
    const { sim, driver } = await modem();
    const g = gatedEvents();
    g.set('reject');
    const first = driver();
    await first.start(g.events);
    const index = sim.injectInbound('+79005550002', 'do not lose me');
    // The driver read it (AT+CMGR) and the store refused it: it must stay on the SIM.
    await eventually(async () => ((await first.health()).status === 'up' ? true : undefined));
    await new Promise((r) => setTimeout(r, 300));
    expect(sim.simIndexes()).toEqual([index]);
    await first.stop();
    g.set('store');
    const second = driver();
    await second.start(g.events);
    // Read again by AT+CMGL at start, stored, then deleted.
    expect(g.stored).toMatchObject([{ from: '+79005550002', text: 'do not lose me' }]);
    await eventually(async () => (sim.simIndexes().length === 0 ? true : undefined));
  });

  it('reads a message again at the next health check when storing it failed', async () => {
    const { sim, driver } = await modem({ healthEveryMs: 100 });
    const g = gatedEvents();
    g.set('reject');
    const d = driver();
    await d.start(g.events);
    sim.injectInbound('+79005550003', 'try again');
    await new Promise((r) => setTimeout(r, 300));
    expect(sim.simIndexes()).toHaveLength(1);
    g.set('store');
    await eventually(async () => (sim.simIndexes().length === 0 ? true : undefined));
    expect(g.stored).toMatchObject([{ text: 'try again' }]);
  });

  it('keeps every part of a long message on the SIM until the whole message is stored', async () => {
    const { sim, driver } = await modem();
    const g = gatedEvents();
    g.set('hold');
    const d = driver();
    await d.start(g.events);
    const from = '+79005550004';
    const a = sim.injectInbound(from, 'one, ', { ref: 9, total: 3, seq: 1 });
    const c = sim.injectInbound(from, 'three', { ref: 9, total: 3, seq: 3 });
    // Two of three parts: nothing to store yet, nothing deleted.
    await new Promise((r) => setTimeout(r, 300));
    expect(g.waiting).toHaveLength(0);
    expect(sim.simIndexes()).toEqual([a, c]);
    const b = sim.injectInbound(from, 'two, ', { ref: 9, total: 3, seq: 2 });
    const pending = await eventually(async () => g.waiting[0]);
    expect(pending.sms).toMatchObject({ from, text: 'one, two, three' });
    // Being stored (not committed yet): all three parts are still on the SIM.
    await new Promise((r) => setTimeout(r, 200));
    expect(sim.simIndexes()).toEqual([a, c, b].sort((x, y) => x - y));
    pending.resolve();
    await eventually(async () => (sim.simIndexes().length === 0 ? true : undefined));
  });

  it('stores a long message whose parts are already on the SIM at start, once', async () => {
    const { sim, driver } = await modem();
    const from = '+79005550005';
    sim.injectInbound(from, 'world', { ref: 3, total: 2, seq: 2 });
    sim.injectInbound(from, 'hello ', { ref: 3, total: 2, seq: 1 });
    const g = gatedEvents();
    const d = driver();
    await d.start(g.events);
    expect(g.stored).toMatchObject([{ from, text: 'hello world' }]);
    await eventually(async () => (sim.simIndexes().length === 0 ? true : undefined));
  });

  it('stop() lets a submit in progress finish, closes the port, clears its timers, and may be called twice', async () => {
    const sim = new ModemSimulator({ ...MODEM_SIM_DEFAULTS, sendDelayMs: 300 });
    const tcp = await serveModemTcp(sim);
    cleanups.push(() => tcp.close());
    const timers = watchTimers();
    cleanups.push(() => timers.restore());
    const g = gatedEvents();
    const d = new ModemDriver(
      parseModemConfig({ port: `tcp://127.0.0.1:${tcp.port}`, sendTimeoutMs: 10_000, healthEveryMs: 50 }),
    );
    await d.start(g.events);
    expect(d.health().status).toBe('up');
    const sending = d.submit(sms('in flight while stopping'));
    await eventually(async () => (d.health().inFlight === 1 ? true : undefined));
    const stops = [d.stop(), d.stop()];
    // The submit completes (the modem answers after 300 ms): not cut off mid-PDU.
    expect((await sending).remoteIds).toHaveLength(1);
    await Promise.all(stops);
    await d.stop();
    expect(d.health()).toMatchObject({ status: 'stopped', inFlight: 0 });
    await expect(d.submit(sms('after stop'))).rejects.toMatchObject({ code: 'channel_error' });
    // The simulator's connection is closed from our side.
    const io = (sim as unknown as { io: { closed: boolean } }).io;
    await eventually(async () => (io.closed ? true : undefined));
    sim.stop();
    timers.restore();
    // No timer is left behind (health interval, command timeouts, reopen, drain).
    expect(timers.live()).toEqual([]);
    // And the same instance starts again.
    await d.start(g.events);
    expect(d.health().status).toBe('up');
    await d.stop();
  });

  it('a stop that lands while the port is opening leaves nothing open', async () => {
    const { sim, driver } = await modem();
    const d = driver();
    const g = gatedEvents();
    const starting = d.start(g.events);
    await d.stop();
    await starting;
    expect(d.health().status).toBe('stopped');
    const io = (sim as unknown as { io?: { closed: boolean } }).io;
    if (io) await eventually(async () => (io.closed ? true : undefined));
  });
});

const run = promisify(execFile);
const HAVE_PEERS = existsSync('/usr/bin/gammu') && existsSync('/usr/bin/socat');

describe.skipIf(!HAVE_PEERS)('the modem simulator is faithful enough for Gammu', () => {
  it('answers gammu identify and gammu sendsms over a pty', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smsgw-modem-'));
    const { modemSide, deviceSide, socat } = await ptyPair(dir);
    const { SerialPort } = await import('serialport');
    const port = new SerialPort({ path: modemSide, baudRate: 115200 });
    await new Promise<void>((resolve, reject) => port.once('open', resolve).once('error', reject));
    const sim = new ModemSimulator({ ...MODEM_SIM_DEFAULTS, sendDelayMs: 10 });
    sim.attach(port);
    const rc = join(dir, 'gammurc');
    writeFileSync(rc, `[gammu]\ndevice = ${deviceSide}\nconnection = at115200\nmodel = at\n`);
    try {
      const id = await run('gammu', ['-c', rc, 'identify'], { timeout: 30_000 });
      expect(id.stdout).toMatch(/Manufacturer\s*:\s*Smsgw/i);
      expect(id.stdout).toContain('356938035643809');
      const sent = await run(
        'gammu',
        ['-c', rc, 'sendsms', 'TEXT', '+70001234567', '-text', 'hello from gammu'],
        { timeout: 30_000 },
      );
      expect(sent.stdout + sent.stderr).toMatch(/OK, message reference=/);
      expect(sim.sent.at(-1)).toMatchObject({ to: '+70001234567', text: 'hello from gammu' });
    } finally {
      sim.stop();
      await new Promise((r) => port.close(r));
      socat.kill();
    }
  }, 60_000);

  it('is found by `smsgw modem probe` with its identity and signal', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smsgw-probe-'));
    const { modemSide, deviceSide, socat } = await ptyPair(dir);
    const { SerialPort } = await import('serialport');
    const port = new SerialPort({ path: modemSide, baudRate: 115200 });
    await new Promise<void>((resolve, reject) => port.once('open', resolve).once('error', reject));
    const sim = new ModemSimulator(MODEM_SIM_DEFAULTS);
    sim.attach(port);
    try {
      const found = await probeModems([deviceSide, join(dir, 'no-such-port')]);
      expect(found).toEqual([
        {
          path: deviceSide,
          manufacturer: 'smsgw',
          model: 'SIM-MODEM-1',
          revision: '1.0.0',
          imei: '356938035643809',
          imsi: '250011234567890',
          iccid: '8970101234567890123',
          signal: 21,
          registered: true,
          operator: 'smsgw sim',
        },
        { path: join(dir, 'no-such-port'), error: 'no such device' },
      ]);
    } finally {
      sim.stop();
      await new Promise((r) => port.close(r));
      socat.kill();
    }
  }, 30_000);
});
