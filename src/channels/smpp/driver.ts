/**
 * The SMPP client channel (smsgw as ESME towards an upstream SMSC). One bind (transceiver by
 * default); a window of outstanding submits; a per-second cap; enquire_link keep-alive;
 * reconnect with backoff; submits never acknowledged when a connection drops are sent again
 * on the next one. ESME_RTHROTTLED / ESME_RMSGQFUL slow the channel down instead of failing
 * messages. Receipts and inbound messages come back through the channel events.
 */
import { connect, isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { Socket } from 'node:net';
import { fromReceipt, fromSmppStatus } from '../../core/error-map.js';
import type { Reassembled } from '../../codec/reassembly.js';
import { Reassembler } from '../../codec/reassembly.js';
import type { ReceiptIdFormat } from '../../codec/smpp-frames.js';
import { RECEIPT_ID_FORMATS, parseReceiptText, receiptIdCandidates } from '../../codec/smpp-frames.js';
import { CMD, Reader, STATUS, TLV, Writer, decodeSubmit, messageBody } from '../../codec/smpp-pdu.js';
import { decodeText, shiftUdhElement, smppParts, splitUdh } from '../../codec/smpp-text.js';
import type { ShiftLanguage } from '../../codec/gsm7.js';
import { parseShiftTables } from '../../codec/gsm7.js';
import type {
  ChannelCapabilities,
  ChannelDriver,
  ChannelEvents,
  ChannelHealth,
  OutboundSms,
  SubmitResult,
} from '../port.js';
import { SubmitError, fullCapabilities } from '../port.js';
import { SmppConnection } from './connection.js';
import type { Pdu } from './connection.js';

export interface SmppClientConfig {
  host: string;
  port: number;
  systemId: string;
  password: string;
  systemType: string;
  /** transmitter+receiver: two binds, as SMSCs without transceiver support need. */
  bindMode: 'transceiver' | 'transmitter' | 'transmitter+receiver';
  tls: boolean;
  /** PEM of the CA that signed the SMSC's certificate, when it is not a public one (may be a file: reference). */
  tlsCa?: string | undefined;
  /**
   * Outstanding submits: 50 keeps a 20 ms-RTT link busy at 2,500 msg/s without flooding an SMSC
   * that queues per bind.
   */
  window: number;
  /** Submits per second; 0 = as fast as the window allows. */
  maxPerSecond: number;
  /** Keep-alive; SMSCs commonly drop binds idle for 60–90 s. */
  enquireLinkMs: number;
  responseTimeoutMs: number;
  /** How long a message waits for a bind before its submit fails (then it is retried later). */
  bindWaitMs: number;
  multipart: 'udh' | 'sar' | 'payload';
  /** National single shift tables the recipients' handsets are known to support (opt-in). */
  shiftTables: ShiftLanguage[];
  sourceTon: number;
  sourceNpi: number;
  defaultSource: string;
  /** How this SMSC's receipts write the ids its submit_sm_resp gave (see receiptIdCandidates). */
  receiptIds: ReceiptIdFormat;
}

const DEFAULTS: Omit<SmppClientConfig, 'host' | 'port' | 'systemId' | 'password'> = {
  systemType: '',
  bindMode: 'transceiver',
  tls: false,
  window: 50,
  maxPerSecond: 0,
  enquireLinkMs: 30_000,
  responseTimeoutMs: 30_000,
  bindWaitMs: 10_000,
  multipart: 'udh',
  shiftTables: [],
  sourceTon: 1,
  sourceNpi: 1,
  defaultSource: '',
  receiptIds: 'same',
};

export function parseSmppClientConfig(raw: Record<string, unknown>): SmppClientConfig {
  const cfg = { ...DEFAULTS, ...raw } as SmppClientConfig;
  if (typeof cfg.host !== 'string' || !cfg.host) throw new Error('smpp host is required');
  if (!Number.isInteger(cfg.port) || cfg.port < 1 || cfg.port > 65535)
    throw new Error('smpp port must be 1..65535');
  if (typeof cfg.systemId !== 'string' || !cfg.systemId || cfg.systemId.length > 15)
    throw new Error('smpp systemId: 1..15 characters');
  if (typeof cfg.password !== 'string' || cfg.password.length > 8)
    throw new Error('smpp password: at most 8 characters');
  if (!['transceiver', 'transmitter', 'transmitter+receiver'].includes(cfg.bindMode))
    throw new Error('smpp bindMode: transceiver, transmitter or transmitter+receiver');
  if (!['udh', 'sar', 'payload'].includes(cfg.multipart))
    throw new Error('smpp multipart: udh, sar or payload');
  if (!Number.isInteger(cfg.window) || cfg.window < 1 || cfg.window > 1000)
    throw new Error('smpp window: 1..1000');
  if (!RECEIPT_ID_FORMATS.includes(cfg.receiptIds))
    throw new Error(`smpp receiptIds: ${RECEIPT_ID_FORMATS.join(', ')}`);
  cfg.shiftTables = parseShiftTables(raw.shiftTables, 'smpp');
  return cfg;
}

interface PartJob {
  body: Writer;
  resolve: (id: string) => void;
  reject: (e: SubmitError) => void;
}

export class SmppClientDriver implements ChannelDriver {
  readonly capabilities: ChannelCapabilities;
  private conn: SmppConnection | undefined;
  private receiver: SmppConnection | undefined;
  private events: ChannelEvents | undefined;
  private stopped = false;
  private status: ChannelHealth['status'] = 'stopped';
  private lastError: string | undefined;
  private backoffMs = 500;
  private keepAlive: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private receiverTimer: NodeJS.Timeout | undefined;
  /**
   * Bumped by every start and stop: a connection, timer or bind of an earlier run sees a
   * different value and gives up, so a stop followed by a start never leaves two binds.
   */
  private epoch = 0;
  /** Every socket opened by this run and not closed yet (connecting, bound or unbinding). */
  private readonly live = new Set<SmppConnection>();
  private stopping: Promise<void> | undefined;
  /** Parts waiting for a window slot or a bind, oldest first. Unacknowledged ones return here on a drop. */
  private queue: PartJob[] = [];
  private inWindow = 0;
  private nextSendAt = 0;
  private throttledUntil = 0;
  private pumpTimer: NodeJS.Timeout | undefined;
  private ref = Math.floor(Math.random() * 256);
  /**
   * Concatenated inbound parts until complete (5 minutes at most), each with its held
   * deliver_sm_resp: a part is acknowledged only when the whole message is stored.
   */
  private readonly parts = new Reassembler<{ resolve: () => void; reject: (e: unknown) => void }>();

  constructor(readonly config: SmppClientConfig) {
    this.capabilities = fullCapabilities(config.shiftTables);
  }

  async start(events: ChannelEvents): Promise<void> {
    // Started again after a stop (the registry restarts a channel on edit, disable, enable).
    await this.stopping;
    if (!this.stopped && this.status !== 'stopped') return;
    this.stopping = undefined;
    this.events = events;
    this.stopped = false;
    this.epoch++;
    this.backoffMs = 500;
    this.throttledUntil = 0;
    this.nextSendAt = 0;
    this.inWindow = 0;
    this.connect();
  }

  private openSocket(): Socket {
    const c = this.config;
    return c.tls
      ? tlsConnect({
          host: c.host,
          port: c.port,
          // SNI takes host names only; an IP address is checked against the certificate's IP SANs.
          ...(isIP(c.host) ? {} : { servername: c.host }),
          ...(c.tlsCa ? { ca: c.tlsCa } : {}),
        })
      : connect(c.port, c.host);
  }

  private connect(): void {
    this.reconnectTimer = undefined;
    if (this.stopped) return;
    this.status = 'starting';
    const epoch = this.epoch;
    const socket = this.openSocket();
    const conn = new SmppConnection(socket);
    this.live.add(conn);
    conn.onRequest = (pdu) => this.onRequest(conn, pdu);
    conn.onClose = () => this.onDrop(conn, epoch);
    socket.once(this.config.tls ? 'secureConnect' : 'connect', () => void this.bind(conn, epoch));
    if (this.config.bindMode === 'transmitter+receiver' && !this.receiver && !this.receiverTimer)
      this.connectReceiver();
  }

  /** The second bind of transmitter+receiver mode: receipts and inbound messages only. */
  private connectReceiver(): void {
    this.receiverTimer = undefined;
    if (this.stopped) return;
    const epoch = this.epoch;
    const socket = this.openSocket();
    const conn = new SmppConnection(socket);
    this.receiver = conn;
    this.live.add(conn);
    conn.onRequest = (pdu) => this.onRequest(conn, pdu);
    conn.onClose = () => {
      this.live.delete(conn);
      if (this.receiver === conn) this.receiver = undefined;
      if (this.stopped || epoch !== this.epoch) return;
      this.receiverTimer = setTimeout(() => this.connectReceiver(), 2000);
      this.receiverTimer.unref();
    };
    socket.once(this.config.tls ? 'secureConnect' : 'connect', () => {
      conn
        .request(CMD.bind_receiver, this.bindBody(), this.config.responseTimeoutMs)
        .then((resp) => {
          if (resp.header.status !== 0) conn.socket.destroy();
        })
        .catch(() => conn.socket.destroy());
    });
  }

  private bindBody(): Writer {
    const c = this.config;
    return new Writer()
      .cstring(c.systemId)
      .cstring(c.password)
      .cstring(c.systemType)
      .u8(0x34)
      .u8(0)
      .u8(0)
      .cstring('');
  }

  private async bind(conn: SmppConnection, epoch: number): Promise<void> {
    const c = this.config;
    const id = c.bindMode === 'transceiver' ? CMD.bind_transceiver : CMD.bind_transmitter;
    try {
      const resp = await conn.request(id, this.bindBody(), c.responseTimeoutMs);
      if (resp.header.status !== 0)
        throw new Error(`bind refused: status 0x${resp.header.status.toString(16)}`);
      // Stopped (or stopped and started again) while the bind was under way.
      if (this.stopped || epoch !== this.epoch) throw new Error('channel stopped');
      this.conn = conn;
      this.status = 'up';
      this.lastError = undefined;
      this.backoffMs = 500;
      this.events?.state(this.health());
      this.keepAlive = setInterval(() => {
        conn.request(CMD.enquire_link, new Writer(), c.responseTimeoutMs).catch(() => conn.socket.destroy());
        // Parts whose message never completed are stored as they are (marked incomplete).
        const events = this.events;
        if (events) for (const m of this.parts.expire(Date.now())) this.storeWhole(events, m);
      }, c.enquireLinkMs);
      this.keepAlive.unref();
      this.pump();
    } catch (err) {
      this.lastError = (err as Error).message;
      conn.socket.destroy();
    }
  }

  private onDrop(conn: SmppConnection, epoch: number): void {
    this.live.delete(conn);
    const current = this.conn === conn;
    if (current) {
      this.conn = undefined;
      clearInterval(this.keepAlive);
      this.inWindow = 0;
    }
    // A socket of an earlier run, or one that never bound while another is up: nothing to redo.
    if (this.stopped || epoch !== this.epoch || (!current && this.conn)) return;
    this.status = 'down';
    this.events?.state(this.health());
    // Reconnect with exponential backoff up to 30 s: fast after a blip, gentle on a dead SMSC.
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => this.connect(), this.backoffMs);
    this.reconnectTimer.unref();
    this.backoffMs = Math.min(30_000, this.backoffMs * 2);
  }

  async submit(sms: OutboundSms): Promise<SubmitResult> {
    if (this.stopped) throw new SubmitError('channel_error', 'channel stopped');
    if (!this.conn) await this.waitForBind();
    const ids = this.encode(sms).map(
      (body) => new Promise<string>((resolve, reject) => this.queue.push({ body, resolve, reject })),
    );
    this.pump();
    // Every part's outcome, not just the first failure: a message some of whose parts the SMSC
    // took has (partly) left, whatever happened to the others.
    const settled = await Promise.allSettled(ids);
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (!failed) return { remoteIds: settled.map((r) => (r as PromiseFulfilledResult<string>).value) };
    const err = failed.reason as unknown;
    if (settled.some((r) => r.status === 'fulfilled') && err instanceof SubmitError && !err.outcomeUnknown)
      throw new SubmitError(err.code, `${err.message} (after other parts were taken)`, err.permanent, true);
    throw err;
  }

  /** A message for a channel that is reconnecting waits a little, then fails (and is retried later). */
  private async waitForBind(): Promise<void> {
    const until = Date.now() + this.config.bindWaitMs;
    while (!this.conn && Date.now() < until && !this.stopped) await new Promise((r) => setTimeout(r, 50));
    if (!this.conn)
      throw new SubmitError('channel_error', `not bound to ${this.config.host}:${this.config.port}`);
  }

  /** The submit_sm bodies for one message: one, or one per part (UDH or SAR), or one with message_payload. */
  private encode(sms: OutboundSms): Writer[] {
    const c = this.config;
    const shift = sms.shiftTable;
    const ucs2 = sms.encoding === 'ucs2';
    const dcs = (ucs2 ? 0x08 : 0x00) | (sms.flash ? (ucs2 ? 0x10 : 0xf0) : 0);
    const split = smppParts(sms.text, ucs2, shift);
    const parts = c.multipart === 'payload' ? [Buffer.concat(split)] : split;
    const ref = (this.ref = (this.ref + 1) % 256);
    const alpha = !!sms.from && !/^\+?\d+$/.test(sms.from);
    return parts.map((part, i) => {
      const multi = parts.length > 1;
      const elements = Buffer.concat([
        multi && c.multipart === 'udh'
          ? Buffer.from([0x00, 0x03, ref, parts.length, i + 1])
          : Buffer.alloc(0),
        shift ? shiftUdhElement(shift) : Buffer.alloc(0),
      ]);
      const udh = elements.length ? Buffer.concat([Buffer.from([elements.length]), elements]) : undefined;
      const tlvs: [number, Buffer][] = [];
      if (multi && c.multipart === 'sar') {
        const r = Buffer.alloc(2);
        r.writeUInt16BE(ref, 0);
        tlvs.push(
          [TLV.sar_msg_ref_num, r],
          [TLV.sar_total_segments, Buffer.from([parts.length])],
          [TLV.sar_segment_seqnum, Buffer.from([i + 1])],
        );
      }
      return messageBody({
        source: sms.from ?? c.defaultSource,
        // Alphanumeric sender ids are TON 5 (alphanumeric), NPI 0.
        sourceTon: alpha ? 5 : c.sourceTon,
        sourceNpi: alpha ? 0 : c.sourceNpi,
        destination: sms.to,
        esmClass: udh ? 0x40 : 0,
        protocolId: sms.replaceId ? 0x40 + sms.replaceId : 0,
        validityPeriod: sms.validityMinutes ? relativeValidity(sms.validityMinutes) : '',
        registeredDelivery: sms.deliveryReport ? 1 : 0,
        dataCoding: dcs,
        body: udh ? Buffer.concat([udh, part]) : part,
        tlvs,
      });
    });
  }

  /** Sends queued parts while the window, the rate cap and any throttling allow. */
  private pump(): void {
    clearTimeout(this.pumpTimer);
    const conn = this.conn;
    if (!conn || conn.closed || this.stopped) return;
    const now = Date.now();
    const wait = Math.max(this.throttledUntil, this.nextSendAt) - now;
    if (wait > 0) {
      this.pumpTimer = setTimeout(() => this.pump(), wait);
      return;
    }
    while (this.queue.length > 0 && this.inWindow < this.config.window) {
      if (this.config.maxPerSecond > 0) {
        if (this.nextSendAt > Date.now()) {
          this.pumpTimer = setTimeout(() => this.pump(), this.nextSendAt - Date.now());
          return;
        }
        this.nextSendAt = Math.max(Date.now(), this.nextSendAt) + 1000 / this.config.maxPerSecond;
      }
      const job = this.queue.shift() as PartJob;
      this.inWindow++;
      conn.request(CMD.submit_sm, job.body, this.config.responseTimeoutMs).then(
        (resp) => this.onSubmitResp(job, resp),
        () => {
          // No answer (drop or timeout): the part was never acknowledged, so it goes out again
          // (after a stop: the message is retried later, perhaps on another channel).
          this.inWindow = Math.max(0, this.inWindow - 1);
          // Stopped with the part unanswered: the SMSC may have taken it (outcome unknown).
          if (this.stopped) job.reject(new SubmitError('channel_error', 'channel stopped', false, true));
          else this.queue.unshift(job);
          if (this.conn === conn && !conn.closed) conn.socket.destroy();
        },
      );
    }
  }

  private onSubmitResp(job: PartJob, resp: Pdu): void {
    this.inWindow = Math.max(0, this.inWindow - 1);
    const status = resp.header.status;
    if (status === STATUS.ESME_ROK) {
      job.resolve(new Reader(resp.raw).cstring(65, 'message_id'));
    } else {
      const f = fromSmppStatus(status);
      if (f.throttle && this.stopped) {
        job.reject(new SubmitError('channel_error', 'channel stopped'));
      } else if (f.throttle) {
        // The SMSC asks us to slow down: pause the channel a second and send the part again.
        this.throttledUntil = Date.now() + 1000;
        this.queue.unshift(job);
      } else {
        job.reject(new SubmitError(f.code, `SMSC answered 0x${status.toString(16)}`, f.permanent));
      }
    }
    this.pump();
  }

  private onRequest(conn: SmppConnection, { header, raw }: Pdu): void {
    switch (header.id) {
      case CMD.enquire_link:
        return conn.respond(CMD.enquire_link_resp, 0, header.seq);
      case CMD.unbind:
        conn.respond(CMD.unbind_resp, 0, header.seq);
        return conn.close();
      // data_sm (a different layout) is not supported yet: it falls to generic_nack below.
      case CMD.deliver_sm: {
        const answer = (status: number) =>
          conn.respond(CMD.deliver_sm_resp, status, header.seq, new Writer().cstring(''));
        let stored: Promise<void>;
        try {
          stored = this.onDeliver(raw);
        } catch {
          return answer(STATUS.ESME_RINVCMDLEN);
        }
        // Acknowledged only once committed; if it could not be stored, a temporary error makes
        // the SMSC offer it again (SMPP 3.4 ESME_RX_T_APPN), and a crash before either leaves
        // it unacknowledged, so the SMSC resends it after the rebind.
        stored.then(
          () => answer(STATUS.ESME_ROK),
          () => answer(STATUS.ESME_RX_T_APPN),
        );
        return;
      }
      default:
        conn.respond(CMD.generic_nack, STATUS.ESME_RINVCMDID, header.seq);
    }
  }

  /** Decodes a deliver_sm (throws PduError on a malformed one); resolves when it is stored. */
  private onDeliver(raw: Buffer): Promise<void> {
    const events = this.events;
    if (!events) return Promise.reject(new Error('not started'));
    // deliver_sm has the same layout as submit_sm.
    const d = decodeSubmit(raw, false);
    const payload = d.tlvs.get(TLV.message_payload) ?? d.shortMessage;
    if (d.esmClass & 0x04) {
      const text = payload.toString('latin1');
      const parsed = parseReceiptText(text);
      const tlvId = d.tlvs.get(TLV.receipted_message_id)?.toString('latin1').replace(/\0.*$/, '');
      const rawId = tlvId || parsed.id;
      // A receipt that names no message cannot be matched: acknowledged, nothing to keep.
      if (!rawId) return Promise.resolve();
      const outcome = fromReceipt(parsed.stat ?? stateName(d.tlvs.get(TLV.message_state)?.[0]), parsed.err);
      const report = {
        remoteId: rawId,
        altIds: receiptIdCandidates(rawId, this.config.receiptIds),
        state: outcome.state,
        errorCode: outcome.code,
        rawError: parsed.err ? `stat:${parsed.stat} err:${parsed.err}` : undefined,
        at: new Date(),
      };
      // Handed on in the next turn of the event loop: a receipt read together with its
      // submit_sm_resp (many SMSCs write both at once) then reaches the group commit after
      // the submit's outcome and matches its part directly, instead of waiting in
      // pending_reports (an insert, a select and a delete more per message; measured with
      // 5,000 such receipts: all 5,000 went pending before, none after).
      return new Promise<void>((resolve, reject) =>
        setImmediate(() => events.deliveryReport(report).then(resolve, reject)),
      );
    }
    let body = payload;
    let concat: { ref: number; total: number; seq: number } | undefined;
    if (d.esmClass & 0x40) ({ payload: body, concat } = splitUdh(payload));
    const text = decodeText(d.dataCoding, body);
    const from = /^\d+$/.test(d.source) ? `+${d.source}` : d.source;
    const to = d.destinations[0]
      ? /^\d+$/.test(d.destinations[0])
        ? `+${d.destinations[0]}`
        : d.destinations[0]
      : undefined;
    if (!concat || concat.total <= 1) return events.inbound({ from, to, text, receivedAt: new Date() });
    // A part is answered only when the whole message is stored: if the gateway stops first,
    // the SMSC offers the unanswered parts again.
    return new Promise<void>((resolve, reject) => {
      const whole = this.parts.add({ from, ...concat, text, tag: { resolve, reject } }, Date.now());
      if (whole) this.storeWhole(events, { ...whole, to });
    });
  }

  /** Stores a reassembled message, then answers every part it was made of. */
  private storeWhole(
    events: ChannelEvents,
    m: Reassembled<{ resolve: () => void; reject: (e: unknown) => void }> & { to?: string | undefined },
  ): void {
    events
      .inbound({
        from: m.from,
        to: m.to,
        text: m.text,
        receivedAt: new Date(m.firstAt),
        incomplete: m.incomplete,
      })
      .then(
        () => m.tags.forEach((t) => t.resolve()),
        (err: unknown) => m.tags.forEach((t) => t.reject(err)),
      );
  }

  /**
   * Releases everything: timers (keep-alive, pump, reconnects of both binds), the queue (its
   * messages fail as channel_error and are retried later), the binds (unbound after the window
   * drains, for at most 5 s) and any socket still connecting. Idempotent; start() may follow.
   */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    this.stopped = true;
    this.epoch++;
    this.status = 'stopped';
    clearInterval(this.keepAlive);
    clearTimeout(this.pumpTimer);
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.receiverTimer);
    this.reconnectTimer = this.receiverTimer = undefined;
    for (const job of this.queue.splice(0)) job.reject(new SubmitError('channel_error', 'channel stopped'));
    // Parts held for reassembly are not answered: the SMSC offers them again after the next bind.
    this.parts.clear();
    const conn = this.conn;
    const until = Date.now() + Math.min(5000, this.config.responseTimeoutMs);
    while (conn && !conn.closed && conn.outstanding > 0 && Date.now() < until)
      await new Promise((r) => setTimeout(r, 20));
    const binds = [conn, this.receiver].filter((c): c is SmppConnection => !!c && !c.closed);
    await Promise.all(binds.map((c) => c.request(CMD.unbind, new Writer(), 2000).catch(() => undefined)));
    for (const c of [...this.live]) c.socket.destroy();
    this.live.clear();
    this.conn = undefined;
    this.receiver = undefined;
    this.inWindow = 0;
  }

  health(): ChannelHealth {
    return { status: this.status, inFlight: this.inWindow + this.queue.length, lastError: this.lastError };
  }
}

/** SMPP relative validity: YYMMDDhhmmss000R. */
function relativeValidity(minutes: number): string {
  const d = Math.floor(minutes / 1440);
  const h = Math.floor((minutes % 1440) / 60);
  const m = minutes % 60;
  const p = (n: number) => String(n).padStart(2, '0');
  return `0000${p(d)}${p(h)}${p(m)}00000R`;
}

function stateName(state: number | undefined): string {
  return (
    (
      {
        2: 'DELIVRD',
        3: 'EXPIRED',
        4: 'DELETED',
        5: 'UNDELIV',
        6: 'ACCEPTD',
        8: 'REJECTD',
        1: 'ENROUTE',
      } as Record<number, string>
    )[state ?? 7] ?? 'UNKNOWN'
  );
}

export function createSmppClientDriver(raw: Record<string, unknown>): SmppClientDriver {
  return new SmppClientDriver(parseSmppClientConfig(raw));
}
