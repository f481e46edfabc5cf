/**
 * The AT modem channel: one serial port of a GSM modem, PDU mode. Initialises the modem,
 * sends with AT+CMGS (one command at a time), reads health (signal, registration, operator),
 * receives stored and new messages (+CMTI → AT+CMGR → AT+CMGD) and status reports (+CDS).
 * A modem that stops answering gets ESC, re-initialisation, then its port reopened with backoff.
 */
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { fromCmsError, fromTpStatus } from '../../core/error-map.js';
import type { ShiftLanguage } from '../../codec/gsm7.js';
import { parseShiftTables } from '../../codec/gsm7.js';
import { Reassembler } from '../../codec/reassembly.js';
import { encodeSubmitPdus, decodePdu } from '../../codec/tpdu.js';
import type {
  ChannelCapabilities,
  ChannelDriver,
  ChannelEvents,
  ChannelHealth,
  InboundSms,
  OutboundSms,
  SubmitResult,
} from '../port.js';
import { SubmitError, fullCapabilities } from '../port.js';
import type { AtError } from './at.js';
import { AtLine } from './at.js';

export interface ModemConfig {
  /** /dev/ttyUSB4, or tcp://host:port for a simulator. */
  port: string;
  baudRate: number;
  pin?: string | undefined;
  /** One message may take this long (networks answer AT+CMGS in 2–10 s; 60 s covers congestion). */
  sendTimeoutMs: number;
  healthEveryMs: number;
  /** National single shift tables the SIM's recipients' handsets support (opt-in). */
  shiftTables: ShiftLanguage[];
}

export function parseModemConfig(raw: Record<string, unknown>): ModemConfig {
  if (typeof raw.port !== 'string' || !/^(\/dev\/\S+|tcp:\/\/[\w.-]+:\d+)$/.test(raw.port)) {
    throw new Error('modem port must be a device path (/dev/ttyUSB0) or tcp://host:port');
  }
  if (raw.pin !== undefined && (typeof raw.pin !== 'string' || !/^\d{4,8}$/.test(raw.pin)))
    throw new Error('modem pin: 4 to 8 digits');
  return {
    port: raw.port,
    baudRate: typeof raw.baudRate === 'number' ? raw.baudRate : 115200,
    pin: raw.pin as string | undefined,
    sendTimeoutMs: typeof raw.sendTimeoutMs === 'number' ? raw.sendTimeoutMs : 60_000,
    healthEveryMs: typeof raw.healthEveryMs === 'number' ? raw.healthEveryMs : 60_000,
    shiftTables: parseShiftTables(raw.shiftTables, 'modem'),
  };
}

async function openPort(cfg: ModemConfig): Promise<Duplex> {
  const tcp = /^tcp:\/\/([\w.-]+):(\d+)$/.exec(cfg.port);
  if (tcp) {
    const socket = connect(Number(tcp[2]), tcp[1] as string);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return socket;
  }
  const { SerialPort } = await import('serialport');
  const port = new SerialPort({ path: cfg.port, baudRate: cfg.baudRate, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  return port;
}

/**
 * TP-MR references wrap at 256: a status report belongs to the newest part with its reference
 * sent within this window. At the seed's pace (one message per 10 s per SIM) a reference comes
 * back after 43 minutes at the earliest; reports come within minutes.
 */
const MR_WINDOW_MS = 30 * 60_000;

export class ModemDriver implements ChannelDriver {
  readonly capabilities: ChannelCapabilities;
  private io: Duplex | undefined;
  private at: AtLine | undefined;
  private events: ChannelEvents | undefined;
  private state: ChannelHealth = { status: 'stopped', inFlight: 0 };
  private stopped = false;
  private healthTimer: NodeJS.Timeout | undefined;
  private backoffMs = 1000;
  private concatRef = Math.floor(Math.random() * 256);
  /** Inbound parts until their message is complete, tagged with their SIM storage index. */
  private readonly parts = new Reassembler<number>();
  private reopenTimer: NodeJS.Timeout | undefined;

  constructor(readonly config: ModemConfig) {
    this.capabilities = fullCapabilities(config.shiftTables);
  }

  async start(events: ChannelEvents): Promise<void> {
    this.events = events;
    this.stopped = false;
    await this.open().catch(() => this.reopenLater());
  }

  private async open(): Promise<void> {
    this.state = { ...this.state, status: 'starting' };
    const io = await openPort(this.config);
    if (this.stopped) {
      // stop() came while the port was opening: release it at once.
      io.destroy();
      return;
    }
    io.on('close', () => {
      if (this.io === io) {
        this.io = undefined;
        this.reopenLater();
      }
    });
    io.on('error', () => undefined);
    this.io = io;
    this.at = new AtLine(io);
    this.at.onUrc = (urc, pdu) => void this.onUrc(urc, pdu).catch(() => undefined);
    await this.init();
    this.backoffMs = 1000;
    await this.readStored();
    this.healthTimer = setInterval(() => {
      void this.refreshHealth();
      for (const m of this.parts.expire(Date.now())) {
        void this.storeAndDelete(
          { from: m.from, text: m.text, receivedAt: new Date(m.firstAt), incomplete: true },
          m.tags,
        );
      }
    }, this.config.healthEveryMs);
    this.healthTimer.unref();
  }

  private async init(): Promise<void> {
    const at = this.at as AtLine;
    await at.command('AT', 3000).catch(() => at.command('AT', 3000));
    await at.command('ATE0');
    await at.command('AT+CMEE=1');
    const pin = await at.command('AT+CPIN?').catch(() => ['+CPIN: READY']);
    if (!pin.some((l) => l.includes('READY'))) {
      if (!this.config.pin) throw new Error('the SIM asks for a PIN and none is configured');
      await at.command(`AT+CPIN=${this.config.pin}`);
    }
    await at.command('AT+CMGF=0');
    // New messages as +CMTI (stored, then read), status reports as +CDS.
    await at.command('AT+CNMI=2,1,0,1,0').catch(() => undefined);
    await this.refreshHealth();
  }

  private reopenLater(): void {
    clearInterval(this.healthTimer);
    if (this.stopped) return;
    this.state = { ...this.state, status: 'down' };
    this.events?.state(this.state);
    // Backoff up to a minute: a modem that was unplugged comes back when it is plugged in.
    clearTimeout(this.reopenTimer);
    this.reopenTimer = setTimeout(() => void this.open().catch(() => this.reopenLater()), this.backoffMs);
    this.reopenTimer.unref();
    this.backoffMs = Math.min(60_000, this.backoffMs * 2);
  }

  private async refreshHealth(): Promise<void> {
    const at = this.at;
    if (!at) return;
    try {
      const csq = (await at.command('AT+CSQ')).find((l) => l.startsWith('+CSQ:'));
      const creg = (await at.command('AT+CREG?')).find((l) => l.startsWith('+CREG:'));
      const cops = (await at.command('AT+COPS?').catch(() => [] as string[])).find((l) =>
        l.startsWith('+COPS:'),
      );
      const signal = csq ? Number(/\+CSQ: ?(\d+)/.exec(csq)?.[1]) : undefined;
      const stat = creg ? Number(/\+CREG: ?\d+,(\d+)/.exec(creg)?.[1]) : undefined;
      const registered = stat === 1 || stat === 5;
      this.state = {
        status: registered ? 'up' : 'down',
        signal: signal === 99 ? undefined : signal,
        operator: cops ? /"([^"]*)"/.exec(cops)?.[1] : undefined,
        inFlight: this.state.inFlight,
        lastError: registered ? this.state.lastError : 'not registered on the network',
      };
      this.events?.state(this.state);
    } catch (err) {
      this.state = { ...this.state, status: 'down', lastError: (err as Error).message };
    }
  }

  async submit(sms: OutboundSms): Promise<SubmitResult> {
    const at = this.at;
    if (!at || this.state.status !== 'up') throw new SubmitError('channel_error', 'modem is not ready');
    const pdus = encodeSubmitPdus({
      to: sms.to,
      text: sms.text,
      encoding: sms.encoding === 'ucs2' ? 'ucs2' : 'gsm7',
      shiftTable: sms.shiftTable,
      flash: sms.flash,
      replaceId: sms.replaceId,
      validityMinutes: sms.validityMinutes,
      statusReport: sms.deliveryReport,
      concatReference: (this.concatRef = (this.concatRef + 1) % 256),
    });
    this.state.inFlight++;
    try {
      const ids: string[] = [];
      for (const [i, p] of pdus.entries()) {
        const lines = await at.command(`AT+CMGS=${p.length}`, this.config.sendTimeoutMs, p.pdu);
        // The part's id is its TP-MR, as the status report will name it (the store matches it
        // to the newest part with that reference: they wrap at 256). A modem that gives none
        // gets an id no report can match.
        const mr = /\+CMGS: ?(\d+)/.exec(lines.join('\n'))?.[1];
        ids.push(mr ?? `${sms.id}:${i}:no-mr`);
      }
      return { remoteIds: ids };
    } catch (err) {
      const e = err as AtError;
      if (e.timeout) {
        // A modem stuck half-way through a PDU: ESC, then initialise again.
        at.escape();
        void this.init().catch(() => this.io?.destroy());
        throw new SubmitError('channel_timeout', e.message);
      }
      if (e.cms !== undefined) {
        const f = fromCmsError(e.cms);
        throw new SubmitError(f.code, `+CMS ERROR: ${e.cms}`, f.permanent);
      }
      throw new SubmitError('channel_error', e.message);
    } finally {
      this.state.inFlight--;
    }
  }

  private async onUrc(urc: string, pdu?: string): Promise<void> {
    if (urc === '+CDS' && pdu) {
      const d = decodePdu(pdu);
      if (d.type !== 'status-report') return;
      const o = fromTpStatus(d.report.status);
      await this.events?.deliveryReport({
        remoteId: String(d.report.messageReference),
        idReuseWindowMs: MR_WINDOW_MS,
        state: o.state,
        errorCode: o.code,
        rawError: `TP-ST ${d.report.status}`,
        at: d.report.dischargeTime,
      });
      return;
    }
    const m = /^\+CMTI: ?"?\w*"?,(\d+)/.exec(urc);
    if (m) await this.readStored(Number(m[1]));
  }

  /** Reads and deletes stored messages: one index, or all (AT+CMGL=4) at start. */
  private async readStored(index?: number): Promise<void> {
    const at = this.at;
    if (!at) return;
    const items: { index: number; pdu: string }[] = [];
    if (index !== undefined) {
      const lines = await at.command(`AT+CMGR=${index}`);
      const pdu = lines.find((l) => /^[0-9A-Fa-f]+$/.test(l));
      if (pdu) items.push({ index, pdu });
    } else {
      const lines = await at.command('AT+CMGL=4').catch(() => [] as string[]);
      for (let i = 0; i < lines.length; i++) {
        const head = /^\+CMGL: ?(\d+)/.exec(lines[i] as string);
        const pdu = lines[i + 1];
        if (head && pdu && /^[0-9A-Fa-f]+$/.test(pdu)) items.push({ index: Number(head[1]), pdu });
      }
    }
    for (const item of items) {
      let d: ReturnType<typeof decodePdu> | undefined;
      try {
        d = decodePdu(item.pdu);
      } catch {
        d = undefined;
      }
      if (d?.type !== 'deliver') {
        // Not a message we can read (or a stored status report): it would fill the SIM.
        await at.command(`AT+CMGD=${item.index}`).catch(() => undefined);
        continue;
      }
      const c = d.deliver.concat ?? { ref: 0, total: 1, seq: 1 };
      const whole = this.parts.add(
        { from: d.deliver.from, ...c, text: d.deliver.text, tag: item.index },
        Date.now(),
      );
      if (whole) {
        await this.storeAndDelete(
          { from: whole.from, text: whole.text, receivedAt: d.deliver.timestamp },
          whole.tags,
        );
      }
    }
  }

  /**
   * Deletes a message from the SIM only once it is stored: a crash in between leaves it on the
   * SIM, and it is read again at the next start (AT+CMGL). Parts of a longer message stay on
   * the SIM until the whole message is stored.
   */
  private async storeAndDelete(sms: InboundSms, indexes: number[]): Promise<void> {
    try {
      await this.events?.inbound(sms);
    } catch {
      return; // not stored: left on the SIM, read again at the next start
    }
    const at = this.at;
    for (const index of new Set(indexes)) await at?.command(`AT+CMGD=${index}`).catch(() => undefined);
  }

  /** Closes the port (so Gammu or another program can open it), and every timer. Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.healthTimer);
    clearTimeout(this.reopenTimer);
    this.state = { ...this.state, status: 'stopped' };
    const io = this.io;
    this.io = undefined;
    this.at = undefined;
    if (io && !io.destroyed) {
      await new Promise<void>((resolve) => {
        io.once('close', () => resolve());
        io.destroy();
        setTimeout(resolve, 2000).unref();
      });
    }
  }

  health(): ChannelHealth {
    return { ...this.state };
  }
}

export function createModemDriver(raw: Record<string, unknown>): ModemDriver {
  return new ModemDriver(parseModemConfig(raw));
}
