/**
 * The SMPP server face: client applications (ESMEs such as Kannel) bind to smsgw with their
 * login and password as system_id/password. submit_sm goes into the same queue with the same
 * policies as the HTTP API; receipts and inbound messages go back as deliver_sm to the user's
 * receiver/transceiver binds from the durable outbox (see outbox.ts). A submit is acknowledged
 * only after its message is committed.
 */
import { createServer } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { Server, Socket } from 'node:net';
import type { Logger } from 'pino';
import { preview } from '../../codec/index.js';
import { ApiError } from '../../core/errors.js';
import { RateLimiter } from '../../core/rate-limit.js';
import type { AuthService, Principal } from '../../services/auth.js';
import type { MessageService } from '../../services/messages.js';
import type { Store } from '../../store/index.js';
import type { Bind, Header, Submit } from '../../codec/smpp-pdu.js';
import {
  CMD,
  PduError,
  readHeader,
  Reader,
  STATUS,
  TLV,
  Writer,
  decodeBind,
  decodeMessageRef,
  decodeReplace,
  decodeSubmit,
} from '../../codec/smpp-pdu.js';
import { PduReader } from '../../codec/smpp-frames.js';
import type { OutboxSink } from './outbox.js';
import { OutboxPump, SMPP_STATE } from './outbox.js';
import { decodeText, isFlash, splitUdh } from '../../codec/smpp-text.js';

export interface SmppServerOptions {
  /** Binds one user may hold at once. */
  maxBindsPerUser: number;
  /** submit_sm per second per user (0 = unlimited); over it: ESME_RTHROTTLED. */
  submitRate: number;
  /** A session that sends nothing (not even enquire_link) this long is closed. */
  idleTimeoutMs: number;
  /** Parts of a concatenated message that do not all arrive within this are refused. */
  partsTimeoutMs: number;
}

export const SMPP_DEFAULTS: SmppServerOptions = {
  maxBindsPerUser: 10,
  submitRate: 0,
  // Clients send enquire_link every 30–60 s; three missed ones mean the peer is gone.
  idleTimeoutMs: 180_000,
  partsTimeoutMs: 60_000,
};

type Mode = 'tx' | 'rx' | 'trx';

interface HeldPart {
  seq: number;
  session: Session;
  partSeq: number;
  text: string;
}

export class SmppServer {
  private server: Server | undefined;
  private readonly servers: Server[] = [];
  private readonly sessions = new Set<Session>();
  /** Sends what the outbox holds for users bound here (receipts, inbound messages). */
  readonly outbox: OutboxPump;
  private readonly held = new Map<string, { parts: HeldPart[]; total: number; timer: NodeJS.Timeout }>();
  readonly limiter: RateLimiter | undefined;

  constructor(
    readonly deps: { auth: AuthService; messages: MessageService; store: Store; logger: Logger },
    readonly opts: SmppServerOptions = SMPP_DEFAULTS,
  ) {
    this.limiter = opts.submitRate > 0 ? new RateLimiter(opts.submitRate, opts.submitRate) : undefined;
    this.outbox = new OutboxPump(deps.store, () => this.receivers(), deps.logger.child({ face: 'smpp' }));
  }

  /** Receiving binds on this node, by user. */
  private receivers(): Map<string, Session[]> {
    const out = new Map<string, Session[]>();
    for (const s of this.sessions) {
      const id = s.principal?.user.id;
      if (!id || (s.mode !== 'rx' && s.mode !== 'trx')) continue;
      const list = out.get(id);
      if (list) list.push(s);
      else out.set(id, [s]);
    }
    return out;
  }

  /** Plain TCP, or TLS when a certificate and key (PEM) are given. */
  async listen(port: number, host: string, tls?: { cert: string; key: string }): Promise<number> {
    this.server = tls
      ? createTlsServer({ cert: tls.cert, key: tls.key }, (socket) => this.accept(socket))
      : createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      this.server?.once('error', reject);
      this.server?.listen(port, host, () => resolve());
    });
    this.servers.push(this.server);
    this.outbox.start();
    return (this.server.address() as { port: number }).port;
  }

  async close(): Promise<void> {
    for (const h of this.held.values()) clearTimeout(h.timer);
    for (const s of this.sessions) s.unbindAndClose();
    await this.outbox.stop();
    await Promise.all(this.servers.map((srv) => new Promise<void>((resolve) => srv.close(() => resolve()))));
  }

  private accept(socket: Socket): void {
    const session = new Session(this, socket);
    this.sessions.add(session);
    socket.once('close', () => this.sessions.delete(session));
  }

  bindsOf(userId: string): Session[] {
    return [...this.sessions].filter((s) => s.principal?.user.id === userId);
  }

  /** A receiver bound: hand it what waited for one, and queue inbound messages for it from now on. */
  async receiverBound(session: Session): Promise<void> {
    const userId = session.principal?.user.id;
    if (!userId) return;
    await this.deps.store.users.markSmppBound(userId, Date.now());
    this.outbox.poke();
  }

  /** Holds one part of a concatenated submit; returns all parts once the last arrives. */
  holdPart(
    key: string,
    total: number,
    part: HeldPart,
    onTimeout: (parts: HeldPart[]) => void,
  ): HeldPart[] | undefined {
    let entry = this.held.get(key);
    if (!entry) {
      const timer = setTimeout(() => {
        const e = this.held.get(key);
        this.held.delete(key);
        if (e) onTimeout(e.parts);
      }, this.opts.partsTimeoutMs);
      timer.unref();
      entry = { parts: [], total, timer };
      this.held.set(key, entry);
    }
    if (!entry.parts.some((p) => p.partSeq === part.partSeq)) entry.parts.push(part);
    else part.session.respond(CMD.submit_sm_resp, STATUS.ESME_ROK, part.seq, new Writer().cstring(''));
    if (entry.parts.length < entry.total) return undefined;
    clearTimeout(entry.timer);
    this.held.delete(key);
    return entry.parts.sort((a, b) => a.partSeq - b.partSeq);
  }
}

class Session implements OutboxSink {
  principal: Principal | undefined;
  mode: Mode | undefined;
  /** deliver_sm sent and waiting for deliver_sm_resp, by sequence number. */
  private readonly awaiting = new Map<number, (status: number) => void>();
  private readonly reader = new PduReader();
  private seq = 0;
  private idle: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly log: Logger;

  constructor(
    private readonly server: SmppServer,
    private readonly socket: Socket,
  ) {
    this.log = server.deps.logger.child({
      face: 'smpp',
      peer: `${socket.remoteAddress}:${socket.remotePort}`,
    });
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', (err) => this.log.debug({ err }, 'socket error'));
    socket.on('close', () => {
      this.closed = true;
      clearTimeout(this.idle);
      for (const answered of this.awaiting.values()) answered(-1);
      this.awaiting.clear();
    });
    this.touch();
  }

  nextSeq(): number {
    this.seq = (this.seq % 0x7fffffff) + 1;
    return this.seq;
  }

  send(pdu: Buffer): void {
    if (!this.closed) this.socket.write(pdu);
  }

  get outstanding(): number {
    return this.awaiting.size;
  }

  sendTracked(build: (seq: number) => Buffer, answered: (status: number) => void): void {
    if (this.closed) return answered(-1);
    const seq = this.nextSeq();
    this.awaiting.set(seq, answered);
    this.send(build(seq));
  }

  respond(id: number, status: number, seq: number, body: Writer = new Writer()): void {
    this.send(body.pdu(id, status, seq));
  }

  unbindAndClose(): void {
    if (this.closed) return;
    if (this.mode) this.send(new Writer().pdu(CMD.unbind, 0, this.nextSeq()));
    this.socket.end();
  }

  private touch(): void {
    clearTimeout(this.idle);
    this.idle = setTimeout(() => {
      this.log.info('idle session closed');
      this.unbindAndClose();
      setTimeout(() => this.socket.destroy(), 1000).unref();
    }, this.server.opts.idleTimeoutMs);
    this.idle.unref();
  }

  private onData(chunk: Buffer): void {
    this.touch();
    const pdus = this.reader.push(chunk);
    if (pdus === 'invalid') {
      // The stream cannot be re-synchronised: say why and hang up.
      this.respond(CMD.generic_nack, STATUS.ESME_RINVCMDLEN, 0);
      this.socket.end();
      this.closed = true;
      return;
    }
    for (const pdu of pdus) {
      if (this.closed) return;
      const header = readHeader(pdu);
      void this.handle(header, pdu).catch((err: unknown) => {
        const status = err instanceof PduError ? err.status : STATUS.ESME_RSYSERR;
        if (!(err instanceof PduError)) this.log.error({ err }, 'SMPP handler failed');
        const respId = header.id & 0x80000000 ? CMD.generic_nack : (header.id | 0x80000000) >>> 0;
        this.respond(respId, status, header.seq);
      });
    }
  }

  private async handle(h: Header, pdu: Buffer): Promise<void> {
    switch (h.id) {
      case CMD.bind_transmitter:
        return this.bind(h, decodeBind(pdu), 'tx', CMD.bind_transmitter_resp);
      case CMD.bind_receiver:
        return this.bind(h, decodeBind(pdu), 'rx', CMD.bind_receiver_resp);
      case CMD.bind_transceiver:
        return this.bind(h, decodeBind(pdu), 'trx', CMD.bind_transceiver_resp);
      case CMD.enquire_link:
        return this.respond(CMD.enquire_link_resp, STATUS.ESME_ROK, h.seq);
      case CMD.unbind:
        this.respond(CMD.unbind_resp, STATUS.ESME_ROK, h.seq);
        this.mode = undefined;
        this.socket.end();
        return;
      case CMD.deliver_sm_resp:
      case CMD.generic_nack: {
        const answered = this.awaiting.get(h.seq);
        this.awaiting.delete(h.seq);
        // generic_nack for a deliver_sm is a refusal too.
        answered?.(h.id === CMD.generic_nack ? h.status || STATUS.ESME_RSYSERR : h.status);
        return;
      }
      case CMD.unbind_resp:
      case CMD.enquire_link_resp:
        return;
    }
    const principal = this.principal;
    if (!principal || !this.mode) throw new PduError(STATUS.ESME_RINVBNDSTS, 'not bound');
    switch (h.id) {
      case CMD.submit_sm:
      case CMD.submit_multi: {
        if (this.mode === 'rx') throw new PduError(STATUS.ESME_RINVBNDSTS, 'a receiver cannot submit');
        if ((this.server.limiter?.take(principal.user.id, Date.now()) ?? 0) > 0) {
          throw new PduError(STATUS.ESME_RTHROTTLED, 'throughput limit');
        }
        return this.submit(
          h,
          decodeSubmit(pdu, h.id === CMD.submit_multi),
          principal,
          h.id === CMD.submit_multi,
        );
      }
      case CMD.query_sm: {
        const { messageId } = decodeMessageRef(pdu);
        const m = await this.server.deps.store.messages.byId(baseId(messageId), principal.user.id);
        if (!m) throw new PduError(STATUS.ESME_RQUERYFAIL, 'no such message');
        const finalDate = m.final_at ? smppTime(m.final_at) : '';
        return this.respond(
          CMD.query_sm_resp,
          STATUS.ESME_ROK,
          h.seq,
          new Writer()
            .cstring(messageId)
            .cstring(finalDate)
            .u8(SMPP_STATE[m.status] ?? 7)
            .u8(0),
        );
      }
      case CMD.cancel_sm: {
        const r = new Reader(pdu);
        r.cstring(6, 'service_type');
        const messageId = r.cstring(65, 'message_id');
        const m = await this.server.deps.store.messages.cancel(
          baseId(messageId),
          principal.user.id,
          'cancel_sm',
        );
        if (!m?.changed) throw new PduError(STATUS.ESME_RCANCELFAIL, 'not cancelable');
        return this.respond(CMD.cancel_sm_resp, STATUS.ESME_ROK, h.seq);
      }
      case CMD.replace_sm: {
        const rep = decodeReplace(pdu);
        const text = decodeText(rep.dataCoding, rep.shortMessage);
        const p = preview(text);
        const ok = await this.server.deps.store.messages.replaceText(
          baseId(rep.messageId),
          principal.user.id,
          {
            text,
            encoding: p.encoding,
            segments: p.segments,
          },
        );
        if (!ok) throw new PduError(STATUS.ESME_RREPLACEFAIL, 'not replaceable');
        return this.respond(CMD.replace_sm_resp, STATUS.ESME_ROK, h.seq);
      }
      default:
        this.respond(CMD.generic_nack, STATUS.ESME_RINVCMDID, h.seq);
    }
  }

  private async bind(h: Header, b: Bind, mode: Mode, respId: number): Promise<void> {
    if (this.mode) throw new PduError(STATUS.ESME_RALYBND, 'already bound');
    const user = await this.server.deps.auth.bySmpp(b.systemId, b.password);
    if (!user || user.status !== 'active') {
      this.log.info({ systemId: b.systemId }, 'bind refused');
      throw new PduError(STATUS.ESME_RBINDFAIL, 'bind failed');
    }
    if (this.server.bindsOf(user.id).length >= this.server.opts.maxBindsPerUser) {
      throw new PduError(STATUS.ESME_RBINDFAIL, 'too many binds');
    }
    this.principal = { user, apiKeyId: null };
    this.mode = mode;
    this.respond(respId, STATUS.ESME_ROK, h.seq, new Writer().cstring('smsgw'));
    this.log.info({ user: user.login, mode }, 'bound');
    if (mode !== 'tx') await this.server.receiverBound(this);
  }

  private async submit(h: Header, s: Submit, principal: Principal, multi: boolean): Promise<void> {
    const respId = multi ? CMD.submit_multi_resp : CMD.submit_sm_resp;
    const payload = s.tlvs.get(TLV.message_payload) ?? s.shortMessage;
    let body = payload;
    let concat: { ref: number; total: number; seq: number } | undefined;
    if (s.esmClass & 0x40) ({ payload: body, concat } = splitUdh(payload));
    const sarRef = s.tlvs.get(TLV.sar_msg_ref_num);
    const sarTotal = s.tlvs.get(TLV.sar_total_segments);
    const sarSeq = s.tlvs.get(TLV.sar_segment_seqnum);
    if (sarRef && sarTotal && sarSeq && sarRef.length === 2) {
      concat = { ref: sarRef.readUInt16BE(0), total: sarTotal[0] ?? 1, seq: sarSeq[0] ?? 1 };
    }
    const text = decodeText(s.dataCoding, body);
    const flash = isFlash(s.dataCoding);
    if (concat && concat.total > 1 && !multi) {
      const key = `${principal.user.id}|${s.source}|${s.destinations[0]}|${concat.ref}|${concat.total}`;
      const parts = this.server.holdPart(
        key,
        concat.total,
        { seq: h.seq, session: this, partSeq: concat.seq, text },
        (timedOut) => {
          for (const p of timedOut) p.session.respond(respId, STATUS.ESME_RSUBMITFAIL, p.seq);
        },
      );
      if (!parts) return; // answered when the whole message is in
      return this.accept(s, principal, parts.map((p) => p.text).join(''), flash, parts, respId);
    }
    return this.accept(
      s,
      principal,
      text,
      flash,
      [{ seq: h.seq, session: this, partSeq: 1, text }],
      respId,
      multi,
    );
  }

  /** Queues the message, then answers every part: nothing is acknowledged before it is committed. */
  private async accept(
    s: Submit,
    principal: Principal,
    text: string,
    flash: boolean,
    parts: HeldPart[],
    respId: number,
    multi = false,
  ): Promise<void> {
    try {
      const result = await this.server.deps.messages.send(principal, {
        to: s.destinations,
        text,
        flash,
        from: s.source || undefined,
        validityMinutes: relativeValidityMinutes(s.validityPeriod),
        smppReceiptMask: s.registeredDelivery & 0x03,
      });
      const ok = result.messages.filter((m) => 'id' in m && !m.error);
      const first = ok[0] as { id: string } | undefined;
      if (!first) {
        for (const p of parts) p.session.respond(respId, STATUS.ESME_RINVDSTADR, p.seq);
        return;
      }
      const w = new Writer().cstring(first.id);
      if (multi) {
        const failed = result.messages.filter((m) => !('id' in m) || m.error);
        w.u8(failed.length);
        for (const f of failed)
          w.u8(1)
            .u8(1)
            .cstring(f.input.slice(0, 20))
            .bytes(Buffer.from([0, 0, 0, STATUS.ESME_RINVDSTADR]));
      }
      for (const p of parts) p.session.respond(respId, STATUS.ESME_ROK, p.seq, w);
    } catch (err) {
      const status = err instanceof ApiError ? smppStatusFor(err) : STATUS.ESME_RSUBMITFAIL;
      if (!(err instanceof ApiError)) this.log.warn({ err }, 'submit failed');
      for (const p of parts) p.session.respond(respId, status, p.seq);
    }
  }
}

/** The same refusal the HTTP API gives, in SMPP's words. */
function smppStatusFor(err: ApiError): number {
  switch (err.code) {
    case 'no_valid_recipients':
    case 'invalid_number':
      return STATUS.ESME_RINVDSTADR;
    case 'text_too_long':
    case 'missing_parameter':
      return STATUS.ESME_RINVMSGLEN;
    case 'validation_failed':
      return err.field === 'from' ? STATUS.ESME_RINVSRCADR : STATUS.ESME_RSUBMITFAIL;
    case 'rate_limited':
      return STATUS.ESME_RTHROTTLED;
    default:
      return STATUS.ESME_RSUBMITFAIL;
  }
}

/** A client may quote an id with a part suffix; ours are plain message ids. */
function baseId(id: string): string {
  return id.trim();
}

/** SMPP absolute time format (YYMMDDhhmmss000+). */
function smppTime(ms: number): string {
  return `${new Date(ms).toISOString().replace(/[-T:]/g, '').slice(2, 14)}000+`;
}

/** validity_period in relative form ("YYMMDDhhmmss000R") → minutes; absolute forms are ignored. */
export function relativeValidityMinutes(v: string): number | undefined {
  const m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})\d{3}R$/.exec(v);
  if (!m) return undefined;
  const [, yy, mo, dd, hh, mi, ss] = m.map(Number) as number[];
  const minutes =
    (((yy as number) * 365 + (mo as number) * 30 + (dd as number)) * 24 + (hh as number)) * 60 +
    (mi as number) +
    Math.ceil((ss as number) / 60);
  return minutes > 0 ? Math.min(minutes, 40_320) : undefined;
}
