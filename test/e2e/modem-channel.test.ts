/**
 * The AT modem channel end to end: the gateway (real HTTP, real SQLite) sends through a `modem`
 * channel to the modem simulator, over TCP for the message lifecycle (multipart status reports
 * matched by TP-MR in the database, across the TP-MR wrap and a restart of the gateway), and
 * over a real pty pair (socat) for the channel's lifecycle: disabled, the port is free for
 * Gammu's own AT driver; enabled or edited, the channel opens it again without a restart.
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readlinkSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { SerialPort } from 'serialport';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODEM_SIM_DEFAULTS, ModemSimulator, ptyPair, serveModemTcp } from '../../src/sim/modem/simulator.js';
import type { TestApp } from '../support/app.js';
import { eventually, startTestApp } from '../support/app.js';
import { exited } from '../support/net.js';

const LONG = 60_000;
const FINAL = ['delivered', 'partially_delivered', 'undelivered', 'expired', 'failed'];

/** Three GSM-7 segments (153 + 153 + 10 characters); the second one is recognisable. */
const THREE_PARTS = 'A'.repeat(153) + 'B'.repeat(153) + 'C'.repeat(10);

async function waitUp(t: TestApp, channelId: string): Promise<void> {
  await eventually(async () => {
    const c = await t.call('GET', `/v1/channels/${channelId}`);
    return c.body.health?.status === 'up' ? true : undefined;
  }, LONG);
}

async function send(t: TestApp, body: Record<string, unknown>): Promise<string[]> {
  const r = await t.call('POST', '/v1/messages', { body });
  expect(r.status).toBe(202);
  return (r.body.messages as { id: string }[]).map((m) => m.id);
}

async function message(t: TestApp, id: string) {
  return (await t.call('GET', `/v1/messages/${id}`)).body as {
    status: string;
    final: boolean;
    error: { code: string } | null;
    parts: { seq: number; remote_id: string; status: string; error_code: string | null }[];
  };
}

async function finalOf(t: TestApp, id: string, timeoutMs = LONG) {
  return eventually(async () => {
    const m = await message(t, id);
    return FINAL.includes(m.status) ? m : undefined;
  }, timeoutMs);
}

describe('modem channel through the gateway: multipart status reports', () => {
  // TP-MR starts at 254: the first long message's parts are 254, 255 and 0.
  const sim = new ModemSimulator({
    ...MODEM_SIM_DEFAULTS,
    sendDelayMs: 2,
    reportDelayMs: 20,
    firstReference: 254,
  });
  let tcp: Awaited<ReturnType<typeof serveModemTcp>>;
  let t: TestApp;
  let channelId: string;

  beforeAll(async () => {
    tcp = await serveModemTcp(sim);
    t = await startTestApp({ SMSGW_SIMULATOR: 'false' });
    const c = await t.call('POST', '/v1/channels', {
      body: {
        name: 'sim-card-1',
        type: 'modem',
        config: { port: `tcp://127.0.0.1:${tcp.port}`, sendTimeoutMs: 10_000 },
        min_interval_ms: 0,
      },
    });
    expect(c.status).toBe(201);
    channelId = c.body.id;
    await waitUp(t, channelId);
  });
  afterAll(async () => {
    await t?.stop();
    await tcp?.close();
  });

  it('a 3-part message is delivered once each part has its +CDS, across the TP-MR wrap', async () => {
    const [id] = await send(t, { to: '+79001230001', text: THREE_PARTS });
    const m = await finalOf(t, id as string);
    expect(m).toMatchObject({ status: 'delivered', final: true, error: null });
    expect(m.parts.map((p) => [p.remote_id, p.status])).toEqual([
      ['254', 'delivered'],
      ['255', 'delivered'],
      ['0', 'delivered'],
    ]);
  });

  it('a part reported failed makes the message partially delivered, with that part’s error', async () => {
    sim.reportStatus = (submit) => (submit.text.startsWith('BBB') ? 0x41 : 0);
    try {
      const [id] = await send(t, { to: '+79001230002', text: THREE_PARTS });
      const m = await finalOf(t, id as string);
      expect(m.status).toBe('partially_delivered');
      expect(m.error?.code).toBe('unknown_subscriber');
      expect(m.parts.map((p) => p.status)).toEqual(['delivered', 'undelivered', 'delivered']);
      expect(m.parts[1]?.error_code).toBe('unknown_subscriber');
    } finally {
      sim.reportStatus = () => 0;
    }
  });

  it('after the references come round again, each report still goes to its own (newest) part', async () => {
    // So far TP-MR 254..255, 0..3 were used. Single-part messages without reports take the
    // references up to 253, so the next long message gets 254, 255 and 0 again.
    const used = sim.sent.length;
    const fill = 256 - used;
    const to = Array.from({ length: fill }, (_, i) => `+7900124${String(i).padStart(4, '0')}`);
    const ids = await send(t, { to, text: 'filler', delivery_report: false });
    await eventually(async () => {
      const l = await t.call('GET', `/v1/messages?status=sent&channel_id=${channelId}&limit=500`);
      return l.body.data.filter((x: { final: boolean }) => x.final).length >= ids.length ? true : undefined;
    }, LONG * 2);
    const [first] = (await t.call('GET', '/v1/messages?to=%2B79001230001')).body.data as { id: string }[];
    const [again] = await send(t, { to: '+79001230003', text: THREE_PARTS });
    const m = await finalOf(t, again as string);
    expect(m.parts.map((p) => [p.remote_id, p.status])).toEqual([
      ['254', 'delivered'],
      ['255', 'delivered'],
      ['0', 'delivered'],
    ]);
    expect(m.status).toBe('delivered');
    // The first message with these references was not touched (no duplicate applied to it).
    const old = await message(t, (first as { id: string }).id);
    expect(old.status).toBe('delivered');
    expect(old.parts.map((p) => p.remote_id)).toEqual(['254', '255', '0']);
  }, 180_000);

  it('100 messages with reports sent back to back all reach delivered (reports meet the next prompt)', async () => {
    const to = Array.from({ length: 100 }, (_, i) => `+7900126${String(i).padStart(4, '0')}`);
    const ids = await send(t, { to, text: 'with a report' });
    await eventually(async () => {
      const l = await t.call('GET', `/v1/messages?q=with%20a%20report&status=delivered&limit=500`);
      return l.body.data.length === ids.length ? true : undefined;
    }, LONG * 2);
  }, 180_000);

  it('status reports that arrive after a restart of the gateway are matched', async () => {
    sim.holdReports = true;
    const [id] = await send(t, { to: '+79001230004', text: THREE_PARTS });
    await eventually(async () => {
      const m = await message(t, id as string);
      return m.status === 'sent' && m.parts.length === 3 && sim.heldReports === 3 ? true : undefined;
    }, LONG);
    const dataDir = t.app.config.dataDir;
    await t.stop();
    t = await startTestApp({ SMSGW_SIMULATOR: 'false', SMSGW_DATA_DIR: dataDir });
    await waitUp(t, channelId);
    sim.holdReports = false;
    expect(sim.releaseReports()).toBe(3);
    const m = await finalOf(t, id as string);
    expect(m.status).toBe('delivered');
    expect(m.parts.every((p) => p.status === 'delivered')).toBe(true);
  }, 120_000);

  it('a report on a reference whose parts all have theirs waits for a new part, and the sweep does not hand it to an old one', async () => {
    // Every part with TP-MR 255 so far is final: a report on 255 now is about a part whose
    // outcome is still on its way (it raced its submit), not a duplicate for an old part.
    const pendingBefore = await t.app.store.outcomes.pendingCount();
    await t.app.dispatcher.report(channelId, {
      remoteId: '255',
      idReuseWindowMs: 30 * 60_000,
      state: 'undelivered',
      errorCode: 'absent_subscriber',
      at: new Date(),
    });
    expect(await t.app.store.outcomes.pendingCount()).toBe(pendingBefore + 1);
    expect(await t.app.store.outcomes.sweepPending(Date.now())).toMatchObject({ applied: 0 });
    expect(await t.app.store.outcomes.pendingCount()).toBe(pendingBefore + 1);
    const l = await t.call('GET', '/v1/messages?status=undelivered,partially_delivered&limit=500');
    expect(l.body.data.map((m: { to: string }) => m.to)).toEqual(['+79001230002']);
  });
});

const run = promisify(execFile);
const HAVE_PEERS = existsSync('/usr/bin/gammu') && existsSync('/usr/bin/socat');

/** File descriptors of this process open on `device` (a pty). */
function fdsOn(device: string): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === device) n++;
    } catch {
      // closed while we looked
    }
  }
  return n;
}

describe.skipIf(!HAVE_PEERS)('modem channel lifecycle on a real pty', () => {
  const dir = mkdtempSync(join(tmpdir(), 'smsgw-modem-e2e-'));
  const sim = new ModemSimulator({ ...MODEM_SIM_DEFAULTS, sendDelayMs: 10, reportDelayMs: 20 });
  let socat: ChildProcess;
  let port: SerialPort;
  let device: string;
  let t: TestApp;
  let channelId: string;
  const rc = join(dir, 'gammurc');

  beforeAll(async () => {
    const pair = await ptyPair(dir);
    socat = pair.socat;
    // The channel opens the pty itself (/dev/pts/N), as it would /dev/ttyUSB0.
    device = realpathSync(pair.deviceSide);
    const { SerialPort } = await import('serialport');
    port = new SerialPort({ path: pair.modemSide, baudRate: 115200 });
    await new Promise<void>((resolve, reject) => port.once('open', resolve).once('error', reject));
    sim.attach(port);
    writeFileSync(rc, `[gammu]\ndevice = ${device}\nconnection = at115200\nmodel = at\n`);
    t = await startTestApp({ SMSGW_SIMULATOR: 'false' });
    const c = await t.call('POST', '/v1/channels', {
      body: {
        name: 'usb-modem',
        type: 'modem',
        config: { port: device, sendTimeoutMs: 10_000 },
        min_interval_ms: 0,
      },
    });
    expect(c.status).toBe(201);
    channelId = c.body.id;
    await waitUp(t, channelId);
  });
  afterAll(async () => {
    await t?.stop();
    sim.stop();
    if (port?.isOpen) await new Promise((r) => port.close(r));
    socat?.kill();
  });

  async function sendsAndDelivers(text: string): Promise<void> {
    const [id] = await send(t, { to: '+79001239999', text });
    expect((await finalOf(t, id as string)).status).toBe('delivered');
  }

  it('releases the port when disabled (Gammu can open it), and opens it again when enabled', async () => {
    await sendsAndDelivers('before disable');
    expect(fdsOn(device)).toBe(1);
    const off = await t.call('POST', `/v1/channels/${channelId}/disable`);
    expect(off.status).toBe(200);
    expect(off.body.health).toBeNull();
    // Released at once: the disable answers after the driver stopped.
    expect(fdsOn(device)).toBe(0);
    const id = await run('gammu', ['-c', rc, 'identify'], { timeout: 45_000 });
    expect(id.stdout).toContain('356938035643809');
    const on = await t.call('POST', `/v1/channels/${channelId}/enable`);
    expect(on.status).toBe(200);
    await waitUp(t, channelId);
    expect(fdsOn(device)).toBe(1);
    await sendsAndDelivers('after enable');
  }, 120_000);

  it('restarts cleanly when its config is edited', async () => {
    const edited = await t.call('PATCH', `/v1/channels/${channelId}`, {
      body: { config: { port: device, sendTimeoutMs: 15_000, healthEveryMs: 30_000 } },
    });
    expect(edited.status).toBe(200);
    await waitUp(t, channelId);
    // The old driver closed its port before the new one opened it: one descriptor, not two.
    expect(fdsOn(device)).toBe(1);
    await sendsAndDelivers('after edit');
  }, 60_000);

  it('an edit that meets the periodic channel sync leaves one driver on the port', async () => {
    // The API's sync and the dispatcher's minutely one, both after the row changed.
    await t.app.store.channels.update(channelId, {
      config: JSON.stringify({ port: device, sendTimeoutMs: 20_000 }),
    });
    await Promise.all([t.app.registry.sync(), t.app.registry.sync(), t.app.registry.sync()]);
    await waitUp(t, channelId);
    expect(fdsOn(device)).toBe(1);
    await sendsAndDelivers('after concurrent syncs');
  }, 60_000);
});

describe.skipIf(!HAVE_PEERS)('smsgw sim modem --pty', () => {
  it('serves Gammu with the TP-MR it was told to start at, and removes its pty pair on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smsgw-sim-cli-'));
    const proc = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/cli/main.ts',
        'sim',
        'modem',
        '--pty',
        dir,
        '--reference',
        '250',
        '--send-ms',
        '10',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      let out = '';
      proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
      await eventually(async () => (out.includes('modem simulator on') ? true : undefined), LONG);
      const device = join(dir, 'ttyModem');
      expect(out).toContain(device);
      const rc = join(dir, 'gammurc');
      writeFileSync(rc, `[gammu]\ndevice = ${device}\nconnection = at115200\nmodel = at\n`);
      const sent = await run('gammu', ['-c', rc, 'sendsms', 'TEXT', '+70001234567', '-text', 'hi'], {
        timeout: 45_000,
      });
      expect(sent.stdout + sent.stderr).toContain('message reference=250');
      proc.kill('SIGTERM');
      await exited(proc);
      expect(proc.exitCode).toBe(0);
      // socat went with it: its pty links are gone.
      await eventually(async () => (existsSync(device) ? undefined : true), 10_000);
    } finally {
      proc.kill('SIGKILL');
    }
  }, 120_000);
});
