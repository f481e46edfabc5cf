/**
 * The AT modem channel: one serial port of a GSM modem, PDU mode. Initialises the modem,
 * sends with AT+CMGS (one command at a time), reads health (signal, registration, operator),
 * receives stored and new messages (+CMTI → AT+CMGR → AT+CMGD) and status reports (+CDS).
 * A modem that stops answering gets ESC, re-initialisation, then its port reopened with backoff.
 */
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
import type { OpenPort } from './port.js';
import { openPort } from './port.js';

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

/**
 * TP-MR references wrap at 256: a status report belongs to the newest part with its reference
 * sent within this window. At the seed's pace (one message per 10 s per SIM) a reference comes
 * back after 43 minutes at the earliest; reports come within minutes.
 */
const MR_WINDOW_MS = 30 * 60_000;

/**
 * Waiting for work in progress when the channel stops: a submit is bounded by its own
 * sendTimeoutMs, and storing an inbound message by the database; this caps the sum.
 */
const STOP_DRAIN_MS = 90_000;

export class ModemDriver implements ChannelDriver {
  readonly capabilities: ChannelCapabilities;
  /** The open port and its command line, while there is one. */
  private link: { port: OpenPort; at: AtLine } | undefined;
  /** A port being opened: stop() waits for it, so nothing is left open behind it. */
  private opening: Promise<OpenPort> | undefined;
  private events: ChannelEvents | undefined;
  private state: Omit<ChannelHealth, 'inFlight'> = { status: 'stopped' };
  private inFlight = 0;
  private stopped = true;
  /**
   * Bumped by every start and stop: an open, reopen or health check of an earlier run sees it
   * changed and gives up, so a stop that lands mid-open leaves no port or timer behind.
   */
  private run = 0;
  private healthTimer: NodeJS.Timeout | undefined;
  private reopenTimer: NodeJS.Timeout | undefined;
  private backoffMs = 1000;
  private concatRef = Math.floor(Math.random() * 256);
  /** Inbound parts until their message is complete, tagged with their SIM storage index. */
  private readonly parts = new Reassembler<number>();
  /** Reading the SIM and storing what it holds, one pass at a time: nothing is stored twice. */
  private reading: Promise<void> = Promise.resolve();
  /** A message could not be stored: the SIM is read again in full at the next health check. */
  private rescan = false;
  /** Submits and inbound handling in progress: stop() lets them finish. */
  private readonly work = new Set<Promise<unknown>>();
  private stopping: Promise<void> | undefined;

  constructor(readonly config: ModemConfig) {
    this.capabilities = fullCapabilities(config.shiftTables);
  }

  async start(events: ChannelEvents): Promise<void> {
    // Synchronously: a stop() right after start() must see this run.
    const previous = this.stopping;
    this.events = events;
    this.stopped = false;
    this.backoffMs = 1000;
    const run = ++this.run;
    await previous;
    if (run !== this.run) return;
    await this.open(run).catch((err: unknown) => this.reopenLater(run, err));
  }

  private setState(s: Partial<Omit<ChannelHealth, 'inFlight'>>): void {
    this.state = { ...this.state, ...s };
    if (!this.stopped) this.events?.state(this.health());
  }

  private async open(run: number): Promise<void> {
    this.setState({ status: 'starting' });
    const opening = openPort(this.config.port, this.config.baudRate);
    this.opening = opening;
    const port = await opening.finally(() => {
      if (this.opening === opening) this.opening = undefined;
    });
    if (run !== this.run) {
      // stop() (or another start) came while the port was opening: release it at once.
      await port.close();
      return;
    }
    const at = new AtLine(port.io);
    this.link = { port, at };
    port.io.on('close', () => {
      if (this.link?.port !== port) return;
      this.link = undefined;
      this.reopenLater(run, new Error('port closed'));
    });
    at.onUrc = (urc, pdu) => void this.track(this.onUrc(urc, pdu)).catch(() => undefined);
    // Everything on the SIM is read again below: parts held from an earlier connection would
    // only be duplicates.
    this.parts.clear();
    await this.init(at);
    if (run !== this.run) return;
    this.backoffMs = 1000;
    await this.readSim();
    if (run !== this.run) return;
    clearInterval(this.healthTimer);
    this.healthTimer = setInterval(() => void this.tick(run), this.config.healthEveryMs);
    this.healthTimer.unref();
  }

  private async init(at: AtLine): Promise<void> {
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

  /** The port failed or closed: release it, and open it again after a backoff. */
  private reopenLater(run: number, err: unknown): void {
    if (run !== this.run || this.stopped) return;
    clearInterval(this.healthTimer);
    clearTimeout(this.reopenTimer);
    const link = this.link;
    this.link = undefined;
    link?.at.close('port reopened');
    void link?.port.close();
    this.setState({ status: 'down', lastError: err instanceof Error ? err.message : String(err) });
    // Backoff up to a minute: a modem that was unplugged comes back when it is plugged in.
    this.reopenTimer = setTimeout(
      () => void this.open(run).catch((e: unknown) => this.reopenLater(run, e)),
      this.backoffMs,
    );
    this.reopenTimer.unref();
    this.backoffMs = Math.min(60_000, this.backoffMs * 2);
  }

  private async tick(run: number): Promise<void> {
    await this.refreshHealth();
    if (run !== this.run) return;
    for (const m of this.parts.expire(Date.now())) {
      void this.track(
        this.serially(() =>
          this.storeAndDelete(
            { from: m.from, text: m.text, receivedAt: new Date(m.firstAt), incomplete: true },
            m.tags,
          ),
        ),
      ).catch(() => undefined);
    }
    if (this.rescan) {
      this.rescan = false;
      void this.track(this.readSim()).catch(() => undefined);
    }
  }

  private async refreshHealth(): Promise<void> {
    const at = this.link?.at;
    if (!at) return;
    try {
      const csq = (await at.command('AT+CSQ')).find((l) => l.startsWith('+CSQ:'));
      const creg = (await at.command('AT+CREG?')).find((l) => l.startsWith('+CREG:'));
      const cops = (await at.command('AT+COPS?').catch(() => [] as string[])).find((l) =>
        l.startsWith('+COPS:'),
      );
      if (this.stopped) return;
      const signal = csq ? Number(/\+CSQ: ?(\d+)/.exec(csq)?.[1]) : undefined;
      const stat = creg ? Number(/\+CREG: ?\d+,(\d+)/.exec(creg)?.[1]) : undefined;
      const registered = stat === 1 || stat === 5;
      this.setState({
        status: registered ? 'up' : 'down',
        signal: signal === 99 ? undefined : signal,
        operator: cops ? /"([^"]*)"/.exec(cops)?.[1] : undefined,
        lastError: registered ? undefined : 'not registered on the network',
      });
    } catch (err) {
      if (!this.stopped) this.setState({ status: 'down', lastError: (err as Error).message });
    }
  }

  submit(sms: OutboundSms): Promise<SubmitResult> {
    return this.track(this.send(sms));
  }

  private async send(sms: OutboundSms): Promise<SubmitResult> {
    const at = this.link?.at;
    const run = this.run;
    if (!at || this.stopped || this.state.status !== 'up')
      throw new SubmitError('channel_error', 'modem is not ready');
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
    this.inFlight++;
    const ids: string[] = [];
    try {
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
      // Earlier parts of this message were taken by the network: it has partly left.
      const someLeft = ids.length > 0;
      if (e.timeout) {
        // A modem stuck half-way through a PDU: ESC, then initialise again (or reopen the port).
        // The PDU was written and no answer came: the network may have taken it.
        at.escape();
        void this.init(at).catch((ie: unknown) => this.reopenLater(run, ie));
        throw new SubmitError('channel_timeout', e.message, false, true);
      }
      if (e.cms !== undefined) {
        const f = fromCmsError(e.cms);
        throw new SubmitError(f.code, `+CMS ERROR: ${e.cms}`, f.permanent, someLeft);
      }
      throw new SubmitError('channel_error', e.message, false, someLeft);
    } finally {
      this.inFlight--;
    }
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.work.add(p);
    void p.then(
      () => this.work.delete(p),
      () => this.work.delete(p),
    );
    return p;
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
    if (m) await this.readSim(Number(m[1]));
  }

  /** One pass of SIM reading at a time (a +CMTI can arrive during the full read at start). */
  private serially(fn: () => Promise<void>): Promise<void> {
    const next = this.reading.then(fn);
    this.reading = next.catch(() => undefined);
    return next;
  }

  /** Reads and stores messages on the SIM: one index (+CMTI), or all (AT+CMGL=4). */
  private readSim(index?: number): Promise<void> {
    return this.serially(() => this.readStored(index));
  }

  private async readStored(index?: number): Promise<void> {
    const at = this.link?.at;
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
   * the SIM until the whole message is stored. One that could not be stored is read again at
   * the next health check.
   */
  private async storeAndDelete(sms: InboundSms, indexes: number[]): Promise<void> {
    const events = this.events;
    if (!events) return;
    try {
      await events.inbound(sms);
    } catch {
      this.rescan = true;
      return;
    }
    const at = this.link?.at;
    for (const index of new Set(indexes)) await at?.command(`AT+CMGD=${index}`).catch(() => undefined);
  }

  /**
   * Lets submits and inbound storing in progress finish, then closes the port (so Gammu or
   * another program can open it, or this channel again) and clears every timer. Idempotent.
   */
  stop(): Promise<void> {
    if (this.stopped) return this.stopping ?? Promise.resolve();
    this.stopped = true;
    this.run++;
    clearInterval(this.healthTimer);
    clearTimeout(this.reopenTimer);
    this.state = { ...this.state, status: 'stopped' };
    this.stopping = (async () => {
      const opening = this.opening;
      let drainTimer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.work]),
        new Promise((r) => (drainTimer = setTimeout(r, STOP_DRAIN_MS))),
      ]);
      clearTimeout(drainTimer);
      const link = this.link;
      this.link = undefined;
      this.parts.clear();
      link?.at.close('channel stopped');
      await link?.port.close();
      // A port still opening is closed by open() itself when it sees the run changed.
      await opening?.then((p) => p.close()).catch(() => undefined);
    })().finally(() => {
      this.stopping = undefined;
    });
    return this.stopping;
  }

  health(): ChannelHealth {
    return { ...this.state, inFlight: this.inFlight };
  }
}

export function createModemDriver(raw: Record<string, unknown>): ModemDriver {
  return new ModemDriver(parseModemConfig(raw));
}
