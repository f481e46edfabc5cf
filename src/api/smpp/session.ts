/**
 * One SMPP connection of the server face: framing, the bind state, and the requests of a bound
 * client. Until it binds a connection gets nothing but bind (every other request is refused
 * with ESME_RINVBNDSTS) and is closed after the bind timeout; a refused bind closes it at once.
 * A bound session may have `window` requests unanswered (submits waiting for their commit,
 * held parts); beyond that it is throttled. When the client stops reading what we write, we
 * stop reading what it sends until the socket drains.
 */
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { preview } from '../../codec/index.js';
import { ApiError } from '../../core/errors.js';
import { normalizeNumber, validateSender } from '../../core/phone.js';
import { refusalToSmppStatus } from '../../core/error-map.js';
import type { Principal } from '../../services/auth.js';
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
  decodeDataSm,
  decodeMessageRef,
  decodeReplace,
  decodeSubmit,
} from '../../codec/smpp-pdu.js';
import { PduReader } from '../../codec/smpp-frames.js';
import { decodeText, isFlash, splitUdh } from '../../codec/smpp-text.js';
import { formatSmppTime, parseSmppTime } from '../../codec/smpp-time.js';
import type { OutboxSink } from './outbox.js';
import { SMPP_STATE } from './outbox.js';
import type { SmppServer } from './server.js';

export type Mode = 'tx' | 'rx' | 'trx';

/** A request the client is owed an answer to; answered exactly once. */
export interface Request {
  id: number;
  seq: number;
  answered: boolean;
}

const BINDS: Record<number, { mode: Mode; resp: number }> = {
  [CMD.bind_transmitter]: { mode: 'tx', resp: CMD.bind_transmitter_resp },
  [CMD.bind_receiver]: { mode: 'rx', resp: CMD.bind_receiver_resp },
  [CMD.bind_transceiver]: { mode: 'trx', resp: CMD.bind_transceiver_resp },
};

/** Requests answered after a database round trip: they count against the window. */
const ASYNC_REQUESTS = new Set<number>([
  CMD.submit_sm,
  CMD.submit_multi,
  CMD.query_sm,
  CMD.cancel_sm,
  CMD.replace_sm,
  CMD.data_sm,
]);

/** Requests a client may send once bound (everything else gets generic_nack). */
const KNOWN_REQUESTS = new Set<number>([...ASYNC_REQUESTS, CMD.enquire_link, CMD.unbind]);

/** After we end a connection, how long the peer has to close its side before we destroy it. */
const HANG_UP_GRACE_MS = 1_000;
/**
 * A session that ends (unbind, refused bind, broken framing, timeouts) first answers the
 * requests it already took: a submit committed but never acknowledged would be sent twice.
 * Commits take milliseconds; this only bounds a stuck database.
 */
const FINISH_ANSWERS_MS = 5_000;

export class Session implements OutboxSink {
  principal: Principal | undefined;
  mode: Mode | undefined;
  /** deliver_sm sent and waiting for deliver_sm_resp, by sequence number. */
  private readonly awaiting = new Map<number, (status: number) => void>();
  private readonly reader = new PduReader();
  private seq = 0;
  private idle: NodeJS.Timeout | undefined;
  private bindTimer: NodeJS.Timeout | undefined;
  private binding = false;
  private unanswered = 0;
  private congested = false;
  /** Ending: nothing more is read, what was taken is still answered. */
  private closing = false;
  /** Nothing more is written. */
  private closed = false;
  private finish: (() => void) | undefined;
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
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.log.debug({ err }, 'socket error'));
    socket.on('close', () => {
      this.closed = true;
      clearTimeout(this.idle);
      clearTimeout(this.bindTimer);
      for (const answered of this.awaiting.values()) answered(-1);
      this.awaiting.clear();
    });
    this.bindTimer = setTimeout(() => {
      if (this.mode) return;
      this.log.info('no bind in time: connection closed');
      this.hangUp();
    }, server.opts.bindTimeoutMs);
    this.bindTimer.unref();
  }

  nextSeq(): number {
    this.seq = (this.seq % 0x7fffffff) + 1;
    return this.seq;
  }

  /**
   * Writes a PDU. When the socket's buffer is full (the client does not read), reading stops
   * until it drains: a client cannot make us queue answers it never collects.
   */
  send(pdu: Buffer): void {
    if (this.closed) return;
    if (this.socket.write(pdu) || this.congested) return;
    this.congested = true;
    this.socket.pause();
    this.socket.once('drain', () => {
      this.congested = false;
      if (!this.closing && !this.closed) this.socket.resume();
      this.server.outbox.poke();
    });
  }

  /** Whether reading is paused because the client does not read what we write. */
  get isCongested(): boolean {
    return this.congested;
  }

  /** deliver_sm unanswered on this bind; a congested or ending session counts as full, so the outbox skips it. */
  get outstanding(): number {
    return this.congested || this.closing ? Number.MAX_SAFE_INTEGER : this.awaiting.size;
  }

  sendTracked(build: (seq: number) => Buffer, answered: (status: number) => void): void {
    if (this.closing || this.closed) return answered(-1);
    const seq = this.nextSeq();
    this.awaiting.set(seq, answered);
    this.send(build(seq));
  }

  private respond(id: number, status: number, seq: number, body: Writer = new Writer()): void {
    this.send(body.pdu(id, status, seq));
  }

  /** Answers a request once, with its response id, and frees its place in the window. */
  answer(req: Request, status: number, body: Writer = new Writer()): void {
    if (req.answered) return;
    req.answered = true;
    this.unanswered--;
    this.respond((req.id | 0x80000000) >>> 0, status, req.seq, body);
    if (this.unanswered === 0) this.finish?.();
  }

  unbindAndClose(): void {
    if (this.closing || this.closed) return;
    if (this.mode) this.send(new Writer().pdu(CMD.unbind, 0, this.nextSeq()));
    this.hangUp();
  }

  /**
   * Ends the connection: stops reading, answers what is still being committed, then closes; a
   * peer that does not close its side is cut.
   */
  private hangUp(): void {
    if (this.closing || this.closed) return;
    this.closing = true;
    this.socket.pause();
    const end = () => {
      clearTimeout(wait);
      this.finish = undefined;
      if (this.closed) return;
      this.closed = true;
      this.socket.end();
      setTimeout(() => this.socket.destroy(), HANG_UP_GRACE_MS).unref();
    };
    const wait = setTimeout(end, FINISH_ANSWERS_MS);
    wait.unref();
    if (this.unanswered === 0) end();
    else this.finish = end;
  }

  private touch(): void {
    clearTimeout(this.idle);
    this.idle = setTimeout(() => {
      this.log.info('idle session closed');
      this.unbindAndClose();
    }, this.server.opts.idleTimeoutMs);
    this.idle.unref();
  }

  private onData(chunk: Buffer): void {
    if (this.closing) return;
    if (this.mode) this.touch();
    const { pdus, broken } = this.reader.read(chunk);
    for (const pdu of pdus) {
      if (this.closing) return;
      this.dispatch(readHeader(pdu), pdu);
    }
    if (broken && !this.closing) {
      // The stream cannot be re-synchronised: say why, answer what came before, hang up.
      this.respond(CMD.generic_nack, STATUS.ESME_RINVCMDLEN, 0);
      this.hangUp();
    }
  }

  private dispatch(h: Header, pdu: Buffer): void {
    if (h.id & 0x80000000) return this.onResponse(h);
    const bind = BINDS[h.id];
    if (bind) return this.onBind(h, pdu, bind);
    if (!KNOWN_REQUESTS.has(h.id)) return this.respond(CMD.generic_nack, STATUS.ESME_RINVCMDID, h.seq);
    if (!this.mode) {
      // Nothing but bind before bind: not even enquire_link keeps an unbound socket open.
      this.respond((h.id | 0x80000000) >>> 0, STATUS.ESME_RINVBNDSTS, h.seq);
      if (h.id === CMD.unbind) this.hangUp();
      return;
    }
    if (h.id === CMD.enquire_link) return this.respond(CMD.enquire_link_resp, STATUS.ESME_ROK, h.seq);
    if (h.id === CMD.unbind) {
      this.respond(CMD.unbind_resp, STATUS.ESME_ROK, h.seq);
      this.mode = undefined;
      this.hangUp();
      return;
    }
    if (this.unanswered >= this.server.opts.window) {
      return this.respond((h.id | 0x80000000) >>> 0, STATUS.ESME_RTHROTTLED, h.seq);
    }
    const req = this.open(h);
    void this.handle(req, pdu).catch((err: unknown) => this.fail(req, err));
  }

  private open(h: Header): Request {
    this.unanswered++;
    return { id: h.id, seq: h.seq, answered: false };
  }

  private fail(req: Request, err: unknown): void {
    const status = err instanceof PduError ? err.status : STATUS.ESME_RSYSERR;
    if (!(err instanceof PduError)) this.log.error({ err }, 'SMPP handler failed');
    this.answer(req, status);
  }

  private onResponse(h: Header): void {
    if (h.id !== CMD.deliver_sm_resp && h.id !== CMD.generic_nack) return;
    const answered = this.awaiting.get(h.seq);
    this.awaiting.delete(h.seq);
    // generic_nack for a deliver_sm is a refusal too.
    answered?.(h.id === CMD.generic_nack ? h.status || STATUS.ESME_RSYSERR : h.status);
  }

  private onBind(h: Header, pdu: Buffer, bind: { mode: Mode; resp: number }): void {
    if (this.mode) return this.respond(bind.resp, STATUS.ESME_RALYBND, h.seq);
    // One bind at a time: a client cannot make us run many password hashes at once.
    if (this.binding) return this.respond(bind.resp, STATUS.ESME_RINVBNDSTS, h.seq);
    this.binding = true;
    const req = this.open(h);
    void this.bind(req, pdu, bind.mode)
      .catch((err: unknown) => {
        this.fail(req, err);
        // A refused bind ends the connection: one password guess per connection.
        if (!this.mode) this.hangUp();
      })
      .finally(() => (this.binding = false));
  }

  private async bind(req: Request, pdu: Buffer, mode: Mode): Promise<void> {
    const b: Bind = decodeBind(pdu);
    // The refusal takes as long whether the system_id exists or not, and a system_id or
    // address that keeps guessing is throttled before any hash (AuthService.bySmpp).
    const r = await this.server.deps.auth.smppBind(b.systemId, b.password, {
      ip: this.socket.remoteAddress,
    });
    if ('refused' in r) {
      this.log.info({ systemId: b.systemId, reason: r.refused }, 'bind refused');
      // SMPP 3.4 §5.1.3: an unknown system_id and a wrong password have their own codes.
      throw new PduError(
        r.refused === 'system_id'
          ? STATUS.ESME_RINVSYSID
          : r.refused === 'password'
            ? STATUS.ESME_RINVPASWD
            : STATUS.ESME_RBINDFAIL,
        'bind failed',
      );
    }
    const user = r.user;
    if (user.status !== 'active') {
      this.log.info({ systemId: b.systemId }, 'bind refused: account blocked');
      throw new PduError(STATUS.ESME_RBINDFAIL, 'bind failed');
    }
    if (this.closing || this.closed) throw new PduError(STATUS.ESME_RBINDFAIL, 'connection ending');
    if (this.server.bindsOf(user.id).length >= this.server.opts.maxBindsPerSystemId) {
      this.log.warn({ user: user.login }, 'bind refused: too many binds for this system_id');
      throw new PduError(STATUS.ESME_RBINDFAIL, 'too many binds');
    }
    this.principal = { user, apiKeyId: null };
    this.mode = mode;
    clearTimeout(this.bindTimer);
    this.touch();
    this.answer(req, STATUS.ESME_ROK, new Writer().cstring('smsgw'));
    this.log.info({ user: user.login, mode }, 'bound');
    if (mode !== 'tx') await this.server.receiverBound(this);
  }

  private async handle(req: Request, pdu: Buffer): Promise<void> {
    const principal = this.principal as Principal;
    switch (req.id) {
      case CMD.submit_sm:
      case CMD.submit_multi: {
        if (this.mode === 'rx') throw new PduError(STATUS.ESME_RINVBNDSTS, 'a receiver cannot submit');
        if ((this.server.limiter?.take(principal.user.id, Date.now()) ?? 0) > 0) {
          throw new PduError(STATUS.ESME_RTHROTTLED, 'throughput limit');
        }
        const multi = req.id === CMD.submit_multi;
        return this.submit(req, decodeSubmit(pdu, multi), principal, multi);
      }
      case CMD.data_sm: {
        // The same pipeline as submit_sm, answered with data_sm_resp (answer() derives the id).
        if (this.mode === 'rx') throw new PduError(STATUS.ESME_RINVBNDSTS, 'a receiver cannot submit');
        if ((this.server.limiter?.take(principal.user.id, Date.now()) ?? 0) > 0) {
          throw new PduError(STATUS.ESME_RTHROTTLED, 'throughput limit');
        }
        return this.submit(req, decodeDataSm(pdu), principal, false);
      }
      case CMD.query_sm: {
        const { messageId } = decodeMessageRef(pdu);
        const ref = await this.resolve(messageId, principal.user.id);
        if (ref.open) {
          // A part whose message is still waiting for its other parts.
          return this.answer(req, STATUS.ESME_ROK, new Writer().cstring(messageId).cstring('').u8(1).u8(0));
        }
        const m = await this.server.deps.store.messages.byId(ref.id, principal.user.id);
        if (!m) throw new PduError(STATUS.ESME_RQUERYFAIL, 'no such message');
        const finalDate = m.final_at ? formatSmppTime(m.final_at) : '';
        return this.answer(
          req,
          STATUS.ESME_ROK,
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
        const ref = await this.resolve(messageId, principal.user.id);
        if (ref.open) throw new PduError(STATUS.ESME_RCANCELFAIL, 'message still incomplete');
        const m = await this.server.deps.store.messages.cancel(ref.id, principal.user.id, 'cancel_sm');
        if (!m?.changed) throw new PduError(STATUS.ESME_RCANCELFAIL, 'not cancelable');
        return this.answer(req, STATUS.ESME_ROK);
      }
      case CMD.replace_sm: {
        const rep = decodeReplace(pdu);
        // A part of a concatenated submit: its short_message could only replace one part of
        // the text, so replace_sm addresses whole messages only.
        const id = baseId(rep.messageId);
        if ((await this.server.deps.store.smppParts.byId(id, principal.user.id)) !== undefined)
          throw new PduError(STATUS.ESME_RREPLACEFAIL, 'a part of a concatenated message');
        const m = await this.server.deps.store.messages.byId(id, principal.user.id);
        if (!m) throw new PduError(STATUS.ESME_RINVMSGID, 'no such message');
        // SMPP 3.4 §4.10: the source address must be the original's, when given.
        if (rep.source !== '' && rep.source !== (m.from ?? '').replace(/^\+/, ''))
          throw new PduError(STATUS.ESME_RREPLACEFAIL, 'source_addr differs from the original');
        // No data_coding in replace_sm: the new text is in the original's alphabet.
        const text = decodeText(m.encoding === 'ucs2' ? 8 : 0, rep.shortMessage);
        const p = preview(text);
        const now = Date.now();
        const times = submitTimes(rep, now);
        const start = times.sendAt ?? (rep.scheduleDeliveryTime === '' ? m.next_attempt_at : now);
        const replaced = await this.server.deps.store.messages.replaceText(id, principal.user.id, {
          text,
          encoding: p.encoding,
          segments: p.segments,
          // Schedule and validity change only when given ("" keeps the original's).
          ...(rep.scheduleDeliveryTime !== ''
            ? { send_at: times.sendAt ?? null, next_attempt_at: start }
            : {}),
          ...(times.validityMinutes !== undefined
            ? { validity_minutes: times.validityMinutes, expires_at: start + times.validityMinutes * 60_000 }
            : {}),
          ...(rep.registeredDelivery & 0x03 ? { smpp_receipt_mask: rep.registeredDelivery & 0x03 } : {}),
        });
        // More segments than the prepaid balance covers: SMPP 3.4 has no status for credit, and
        // ESME_RREPLACEFAIL is the replace_sm refusal (as ESME_RSUBMITFAIL is submit_sm's).
        if (replaced === 'insufficient_balance')
          throw new PduError(STATUS.ESME_RREPLACEFAIL, 'the balance does not cover the longer text');
        if (replaced !== 'replaced') throw new PduError(STATUS.ESME_RREPLACEFAIL, 'not replaceable');
        return this.answer(req, STATUS.ESME_ROK);
      }
    }
  }

  /** A message id the client quotes: ours, or a part's of a concatenated submit (open while its message waits). */
  private async resolve(quoted: string, ownerId: string): Promise<{ id: string; open: boolean }> {
    const id = baseId(quoted);
    const part = await this.server.deps.store.smppParts.byId(id, ownerId);
    if (!part) return { id, open: false };
    return part.message_id ? { id: part.message_id, open: false } : { id, open: true };
  }

  private async submit(req: Request, s: Submit, principal: Principal, multi: boolean): Promise<void> {
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
    const ttl = s.tlvs.get(TLV.qos_time_to_live);
    const times = submitTimes(s, Date.now(), ttl?.length === 4 ? ttl.readUInt32BE(0) : undefined);
    // TP-PID "Replace Short Message Type 1..7" (3GPP TS 23.040 §9.2.3.9): the handset replaces
    // an earlier message of the same type and sender.
    const replaceId = s.protocolId >= 0x41 && s.protocolId <= 0x47 ? s.protocolId - 0x40 : undefined;
    const flash = isFlash(s.dataCoding);
    if (concat && concat.total > 1 && !multi) {
      if (concat.seq < 1 || concat.seq > concat.total) {
        throw new PduError(STATUS.ESME_RSUBMITFAIL, 'part number outside 1..total');
      }
      // Refused now what would refuse the whole message later: the part is acknowledged when stored.
      const to = s.destinations[0] ?? '';
      if (!normalizeNumber(to, this.server.deps.region).ok)
        throw new PduError(STATUS.ESME_RINVDSTADR, 'bad destination');
      if (s.source !== '' && validateSender(s.source) !== undefined)
        throw new PduError(STATUS.ESME_RINVSRCADR, 'bad source');
      const id = await this.server.assembler.add(principal, {
        groupKey: `${principal.user.id}|${s.source}|${to}|${concat.ref}|${concat.total}`,
        seq: concat.seq,
        total: concat.total,
        dataCoding: s.dataCoding,
        payload: body,
        registered: s.registeredDelivery,
        params: {
          to,
          from: s.source,
          serviceType: s.serviceType,
          flash,
          sendAt: times.sendAt,
          validityMinutes: times.validityMinutes,
          replaceId,
          replaceIfPresent: (s.replaceIfPresent & 0x01) === 1,
        },
      });
      if (id === undefined)
        throw new PduError(STATUS.ESME_RTHROTTLED, 'too many parts waiting for their message');
      // Stored (committed): acknowledged now with the part's own id; the message is built when complete.
      return this.answer(req, STATUS.ESME_ROK, new Writer().cstring(id));
    }
    const text = decodeText(s.dataCoding, body);
    return this.accept(req, s, principal, text, { flash, replaceId, ...times }, multi);
  }

  /** Queues the message, then answers: nothing is acknowledged before it is committed. */
  private async accept(
    req: Request,
    s: Submit,
    principal: Principal,
    text: string,
    opts: {
      flash: boolean;
      replaceId?: number | undefined;
      sendAt?: number | undefined;
      validityMinutes?: number | undefined;
    },
    multi: boolean,
  ): Promise<void> {
    try {
      const result = await this.server.deps.messages.send(
        principal,
        {
          to: s.destinations,
          text,
          flash: opts.flash,
          from: s.source || undefined,
          validityMinutes: opts.validityMinutes,
          sendAt: opts.sendAt !== undefined ? new Date(opts.sendAt) : undefined,
          replaceId: opts.replaceId,
          smppReceiptMask: receiptMask(s.registeredDelivery),
          smppServiceType: s.serviceType,
        },
        undefined,
        {
          // replace_if_present: the earlier messages are canceled in the transaction that accepts
          // the new one, so a failure between them can never leave both to be sent.
          within:
            s.replaceIfPresent & 0x01 ? (trx, rows) => this.server.replacePresent(trx, rows) : undefined,
        },
      );
      const ok = result.messages.filter((m) => 'id' in m && !m.error);
      const first = ok[0] as { id: string } | undefined;
      // Every recipient refused: the first refusal's status (policy codes map per core/error-map).
      if (!first) return this.answer(req, refusalToSmppStatus(refusalOf(result.messages[0])));
      const w = new Writer().cstring(first.id);
      if (multi) {
        const failed = result.messages.filter((m) => !('id' in m) || m.error);
        w.u8(failed.length);
        for (const f of failed)
          w.u8(1)
            .u8(1)
            .cstring(f.input.slice(0, 20))
            .bytes(u32(refusalToSmppStatus(refusalOf(f))));
      }
      this.answer(req, STATUS.ESME_ROK, w);
    } catch (err) {
      const status = err instanceof ApiError ? smppStatusFor(err) : STATUS.ESME_RSUBMITFAIL;
      if (!(err instanceof ApiError)) this.log.warn({ err }, 'submit failed');
      this.answer(req, status);
    }
  }
}

/** registered_delivery → the receipt asked for (low two bits: 1 any outcome, 2 failure, 3 success). */
function receiptMask(registered: number): number {
  return registered & 0x03;
}

/**
 * schedule_delivery_time → sendAt and validity_period (or data_sm's qos_time_to_live, in
 * seconds) → minutes from the start of delivery. A schedule in the past means now; a validity
 * that ends before delivery starts is refused; one beyond the 28 days a message may live is
 * shortened to them, as SMSCs apply their maximum.
 */
export function submitTimes(
  s: Pick<Submit, 'scheduleDeliveryTime' | 'validityPeriod'>,
  now: number,
  ttlSeconds?: number,
): { sendAt?: number | undefined; validityMinutes?: number | undefined } {
  const sched = parseSmppTime(s.scheduleDeliveryTime, now);
  if (!sched) throw new PduError(STATUS.ESME_RINVSCHED, 'schedule_delivery_time is not an SMPP time');
  const validity = parseSmppTime(s.validityPeriod, now);
  if (!validity) throw new PduError(STATUS.ESME_RINVEXPIRY, 'validity_period is not an SMPP time');
  const sendAt = sched.kind !== 'none' && sched.at > now ? sched.at : undefined;
  const start = sendAt ?? now;
  let expiry: number | undefined;
  // A relative validity of zero ("000000000000000R") is "none given", as SMSCs read it.
  if (validity.kind === 'absolute' || (validity.kind === 'relative' && validity.at > now))
    expiry = validity.at;
  else if (ttlSeconds !== undefined && ttlSeconds > 0) expiry = now + ttlSeconds * 1000;
  if (expiry === undefined) return { sendAt };
  if (expiry <= start) throw new PduError(STATUS.ESME_RINVEXPIRY, 'validity ends before delivery starts');
  return { sendAt, validityMinutes: Math.min(40_320, Math.max(1, Math.ceil((expiry - start) / 60_000))) };
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
    // A templates-only account (SMPP carries plain text only): a permanent refusal of the
    // content; SMPP 3.4 has no closer status than "submit_sm failed" (not a throttle: no retry).
    case 'template_required':
    case 'template_not_approved':
    case 'signature_not_approved':
      return STATUS.ESME_RSUBMITFAIL;
    case 'insufficient_balance':
    case 'frequency_limited':
      return refusalToSmppStatus(err.code);
    default:
      return STATUS.ESME_RSUBMITFAIL;
  }
}

function refusalOf(m: { error?: { code: string } } | undefined): string {
  return m?.error?.code ?? 'invalid_number';
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/** A client may quote an id with a part suffix; ours are plain message ids. */
function baseId(id: string): string {
  return id.trim();
}
