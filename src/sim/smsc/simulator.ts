/**
 * An SMSC simulator for tests and benchmarks (`smsgw sim smsc --port N`): accepts binds,
 * acknowledges submits with its own ids, sends delivery receipts with a configurable failure
 * mix, can throttle, and injects mobile-originated messages.
 *
 * It behaves like the awkward real SMSCs a gateway meets: a receipt can arrive before the
 * submit_sm_resp, in the same TCP write as it, after a delay, or many submits late; ids can be
 * numbered 1, 2, 3 …; and every receipt is kept until its deliver_sm_resp says ESME_ROK —
 * offered again after a rebind, and after a short pause on a temporary error — so a test can
 * tell a lost receipt from one the simulator never sent.
 */
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { formatReceiptText } from '../../codec/smpp-frames.js';
import { CMD, STATUS, TLV, Writer, decodeBind, decodeSubmit, encodeDeliver } from '../../codec/smpp-pdu.js';
import { gsmUnpackedEncode, ucs2Encode } from '../../codec/smpp-text.js';
import { SmppConnection } from '../../channels/smpp/connection.js';

/** hex / decimal: ids from 0x10000 up; sequential: decimal ids 1, 2, 3 … */
export type SimIdFormat = 'hex' | 'decimal' | 'sequential';
/** When a receipt is written relative to its submit_sm_resp. */
export type ReceiptTiming = 'delay' | 'with-resp' | 'before-resp';
export const RECEIPT_TIMINGS: readonly ReceiptTiming[] = ['delay', 'with-resp', 'before-resp'];

export interface SmscSimOptions {
  port: number;
  host: string;
  /**
   * `delay`: receiptDelayMs after the submit; `with-resp`: right behind the submit_sm_resp in
   * the same socket write (the client reads both at once); `before-resp`: ahead of it.
   */
  receiptTiming: ReceiptTiming;
  /** Time from submit to receipt (receiptTiming `delay`). */
  receiptDelayMs: number;
  /** Hold every receipt until this many further submits have arrived (0 = off; overrides receiptTiming). */
  receiptLagSubmits: number;
  /** Share of messages delivered; the rest split evenly over UNDELIV, EXPIRED and REJECTD. */
  successRate: number;
  /** Deterministic outcomes: every id number divisible by this is UNDELIV, the rest DELIVRD (0 = off). */
  undelivEvery: number;
  /** How message ids look in submit_sm_resp, and in receipts (they may differ, as at real SMSCs). */
  respIdFormat: SimIdFormat;
  receiptIdFormat: SimIdFormat;
  /** Answer every n-th submit with ESME_RTHROTTLED (0 = never); deterministic for tests. */
  throttleEvery: number;
  /** Pause before a receipt refused with a temporary error (e.g. ESME_RX_T_APPN) is offered again. */
  retryDelayMs: number;
  credentials?: { systemId: string; password: string } | undefined;
  /** Called with every accepted submit (benchmarks count at the sink without the bounded list). */
  onSubmit?: ((to: string, body: Buffer) => void) | undefined;
}

export const SMSC_SIM_DEFAULTS: SmscSimOptions = {
  port: 0,
  host: '127.0.0.1',
  receiptTiming: 'delay',
  receiptDelayMs: 100,
  receiptLagSubmits: 0,
  successRate: 1,
  undelivEvery: 0,
  respIdFormat: 'hex',
  receiptIdFormat: 'hex',
  throttleEvery: 0,
  retryDelayMs: 500,
};

export interface SmscSimStats {
  binds: number;
  submits: number;
  /** Receipts written at least once. */
  receipts: number;
  /** Receipts answered with ESME_ROK (each counted once). */
  receiptsAcked: number;
  /** Writes of a receipt that had been written before (after a rebind or a temporary error). */
  receiptsResent: number;
  /** Receipts answered with an error (each answer counted). */
  receiptsNacked: number;
  /** Receipts not yet answered with ESME_ROK (due, in flight or held). */
  readonly receiptsUnacked: number;
  throttled: number;
}

export interface SmscSim {
  port: number;
  stats: SmscSimStats;
  /** What the simulator received, in order (bounded). */
  received: {
    id: string;
    to: string;
    from: string;
    esmClass: number;
    dataCoding: number;
    body: Buffer;
    tlvs: Map<number, Buffer>;
    /** When it arrived (epoch ms). */
    at: number;
  }[];
  /** Connections open now (bound or not). */
  connections(): number;
  injectMo(from: string, to: string, text: string): boolean;
  /** Cuts every connection (tests reconnect and resubmission). */
  dropConnections(): void;
  /** Stop acknowledging submits (they stay outstanding) until resumed. */
  pauseAcks(paused: boolean): void;
  /** Keep receipts that fall due instead of writing them; `false` writes the held ones. */
  holdReceipts(held: boolean): void;
  /** Writes every receipt still held back by receiptLagSubmits or holdReceipts now. */
  releaseReceipts(): void;
  stop(): Promise<void>;
}

interface Entry {
  conn: SmppConnection;
  mode: '' | 'tx' | 'rx' | 'trx';
  /** Receipts written on this connection and not answered yet, by sequence number. */
  awaiting: Map<number, Receipt>;
}

interface Receipt {
  n: number;
  pdu: (seq: number) => Buffer;
  writes: number;
}

export async function startSmscSimulator(options: Partial<SmscSimOptions> = {}): Promise<SmscSim> {
  const opts = { ...SMSC_SIM_DEFAULTS, ...options };
  const conns = new Set<Entry>();
  /** Every receipt until ESME_ROK; its order is the order of first writing. */
  const unacked = new Map<number, Receipt>();
  const stats: SmscSimStats = {
    binds: 0,
    submits: 0,
    receipts: 0,
    receiptsAcked: 0,
    receiptsResent: 0,
    receiptsNacked: 0,
    get receiptsUnacked() {
      return unacked.size;
    },
    throttled: 0,
  };
  const received: SmscSim['received'] = [];
  const timers = new Set<NodeJS.Timeout>();
  /** Receipts due with no receiver bound (or held): written on the next bind (or release). */
  const due: Receipt[] = [];
  /** Receipts waiting for receiptLagSubmits more submits. */
  const lagging: Receipt[] = [];
  let nextId = opts.respIdFormat === 'sequential' ? 1 : 0x10000;
  let paused = false;
  let held = false;
  let submitCalls = 0;
  const fmt = (n: number, f: SimIdFormat) => (f === 'hex' ? n.toString(16).toUpperCase() : String(n));
  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };
  const receiverFor = (entry?: Entry): Entry | undefined =>
    entry && (entry.mode === 'trx' || entry.mode === 'rx') && !entry.conn.closed
      ? entry
      : [...conns].find((c) => (c.mode === 'rx' || c.mode === 'trx') && !c.conn.closed);

  /** The receipt of submit n; its deliver_sm is built per write, with that write's sequence number. */
  function makeReceipt(n: number, source: string, dest: string): Receipt {
    const submitted = new Date();
    const stat = outcome(n);
    const err = stat === 'DELIVRD' ? '000' : stat === 'UNDELIV' ? '027' : '001';
    const receiptId = fmt(n, opts.receiptIdFormat);
    const state = { DELIVRD: 2, UNDELIV: 5, EXPIRED: 3, REJECTD: 8 }[stat];
    return {
      n,
      writes: 0,
      pdu: (seq) =>
        encodeDeliver(seq, {
          source: dest,
          destination: source,
          esmClass: 0x04,
          dataCoding: 0,
          body: Buffer.from(
            formatReceiptText({ id: receiptId, stat, err, submitted, done: new Date(), text: '' }),
            'latin1',
          ),
          tlvs: [
            [TLV.receipted_message_id, Buffer.from(`${receiptId}\0`, 'latin1')],
            [TLV.message_state, Buffer.from([state])],
          ],
        }),
    };
  }

  function outcome(n: number): 'DELIVRD' | 'UNDELIV' | 'EXPIRED' | 'REJECTD' {
    if (opts.undelivEvery > 0) return n % opts.undelivEvery === 0 ? 'UNDELIV' : 'DELIVRD';
    const r = Math.random();
    if (r < opts.successRate) return 'DELIVRD';
    const fail = (1 - r) / Math.max(1e-9, 1 - opts.successRate);
    return fail < 1 / 3 ? 'UNDELIV' : fail < 2 / 3 ? 'EXPIRED' : 'REJECTD';
  }

  /** The bytes of a receipt written on `target`, remembered there until it is answered. */
  function receiptBytes(r: Receipt, target: Entry): Buffer {
    const seq = target.conn.nextSeq();
    target.awaiting.set(seq, r);
    if (r.writes++ === 0) stats.receipts++;
    else stats.receiptsResent++;
    return r.pdu(seq);
  }

  /** Writes a receipt now if a receiver is bound and nothing holds it; otherwise keeps it due. */
  function offer(r: Receipt, entry?: Entry): void {
    if (!unacked.has(r.n)) return;
    const target = held ? undefined : receiverFor(entry);
    if (!target) {
      due.push(r);
      return;
    }
    target.conn.send(receiptBytes(r, target));
  }

  function flushDue(): void {
    for (const r of due.splice(0)) offer(r);
  }

  function onDeliverResp(entry: Entry, seq: number, status: number): void {
    const r = entry.awaiting.get(seq);
    if (!r) return;
    entry.awaiting.delete(seq);
    if (status === STATUS.ESME_ROK) {
      if (unacked.delete(r.n)) stats.receiptsAcked++;
      return;
    }
    stats.receiptsNacked++;
    // ESME_RX_P_APPN (0x65): the client refuses it for good; anything else is offered again.
    if (status === 0x65) unacked.delete(r.n);
    else later(opts.retryDelayMs, () => offer(r));
  }

  /** A receipt for submit n falls due: at once (with/before the resp), after a delay, or lagging. */
  function receiptDue(entry: Entry, n: number, seq: number, source: string, dest: string): void {
    const resp = () => new Writer().cstring(fmt(n, opts.respIdFormat));
    const respond = () => entry.conn.respond(CMD.submit_sm_resp, 0, seq, resp());
    const r = makeReceipt(n, source, dest);
    unacked.set(n, r);
    if (opts.receiptLagSubmits > 0) {
      respond();
      lagging.push(r);
      while (lagging.length > opts.receiptLagSubmits) offer(lagging.shift() as Receipt);
      return;
    }
    const target = held ? undefined : receiverFor(entry);
    if (opts.receiptTiming === 'with-resp' && target === entry) {
      // One write, one TCP segment on loopback: the client reads the resp and the receipt together.
      entry.conn.send(Buffer.concat([resp().pdu(CMD.submit_sm_resp, 0, seq), receiptBytes(r, entry)]));
      return;
    }
    if (opts.receiptTiming === 'before-resp' && target) {
      offer(r, entry);
      respond();
      return;
    }
    respond();
    if (opts.receiptTiming === 'delay') later(opts.receiptDelayMs, () => offer(r, entry));
    else offer(r, entry);
  }

  const server: Server = createServer((socket) => {
    const entry: Entry = { conn: new SmppConnection(socket), mode: '', awaiting: new Map() };
    conns.add(entry);
    entry.conn.onClose = () => {
      conns.delete(entry);
      // Written but never answered: offered again on the next bind, as a real SMSC does.
      const back = [...entry.awaiting.values()];
      entry.awaiting.clear();
      for (const r of back) offer(r);
    };
    entry.conn.onResponse = ({ header }) => {
      // A generic_nack of a receipt counts as a temporary refusal: it is offered again.
      if (header.id === CMD.deliver_sm_resp || header.id === CMD.generic_nack)
        onDeliverResp(entry, header.seq, header.id === CMD.generic_nack ? header.status || 1 : header.status);
    };
    entry.conn.onRequest = ({ header, raw }) => {
      const { id, seq } = header;
      const bindResp: Record<number, number> = {
        [CMD.bind_transmitter]: CMD.bind_transmitter_resp,
        [CMD.bind_receiver]: CMD.bind_receiver_resp,
        [CMD.bind_transceiver]: CMD.bind_transceiver_resp,
      };
      try {
        if (bindResp[id]) {
          const b = decodeBind(raw);
          const ok =
            !opts.credentials ||
            (b.systemId === opts.credentials.systemId && b.password === opts.credentials.password);
          const modes: Record<number, Entry['mode']> = {
            [CMD.bind_transmitter]: 'tx',
            [CMD.bind_receiver]: 'rx',
            [CMD.bind_transceiver]: 'trx',
          };
          entry.mode = ok ? (modes[id] ?? '') : '';
          if (ok) stats.binds++;
          entry.conn.respond(
            bindResp[id] as number,
            ok ? 0 : STATUS.ESME_RBINDFAIL,
            seq,
            new Writer().cstring('smscsim'),
          );
          // A new receiver: everything due and unanswered goes out on it, after the bind_resp.
          if (ok && entry.mode !== 'tx') flushDue();
        } else if (id === CMD.enquire_link) {
          entry.conn.respond(CMD.enquire_link_resp, 0, seq);
        } else if (id === CMD.unbind) {
          entry.conn.respond(CMD.unbind_resp, 0, seq);
          entry.conn.close();
        } else if (id === CMD.submit_sm) {
          if (paused) return;
          const s = decodeSubmit(raw, false);
          if (opts.throttleEvery > 0 && ++submitCalls % opts.throttleEvery === 0) {
            stats.throttled++;
            entry.conn.respond(CMD.submit_sm_resp, STATUS.ESME_RTHROTTLED, seq);
            return;
          }
          const n = nextId++;
          stats.submits++;
          if (received.length >= 100_000) received.shift();
          received.push({
            id: fmt(n, opts.respIdFormat),
            to: s.destinations[0] ?? '',
            from: s.source,
            esmClass: s.esmClass,
            dataCoding: s.dataCoding,
            body: s.shortMessage,
            tlvs: s.tlvs,
            at: Date.now(),
          });
          opts.onSubmit?.(s.destinations[0] ?? '', s.shortMessage);
          if (s.registeredDelivery & 0x03) receiptDue(entry, n, seq, s.source, s.destinations[0] ?? '');
          else
            entry.conn.respond(CMD.submit_sm_resp, 0, seq, new Writer().cstring(fmt(n, opts.respIdFormat)));
        } else {
          entry.conn.respond(CMD.generic_nack, STATUS.ESME_RINVCMDID, seq);
        }
      } catch {
        entry.conn.respond((id | 0x80000000) >>> 0, STATUS.ESME_RINVCMDLEN, seq);
      }
    };
  });

  await new Promise<void>((resolve) => server.listen(opts.port, opts.host, resolve));
  return {
    port: (server.address() as { port: number }).port,
    stats,
    received,
    connections: () => conns.size,
    injectMo(from, to, text) {
      const target = receiverFor();
      if (!target) return false;
      const gsm = gsmUnpackedEncode(text);
      target.conn.send(
        encodeDeliver(target.conn.nextSeq(), {
          source: from,
          destination: to,
          esmClass: 0,
          dataCoding: gsm ? 0 : 8,
          body: gsm ?? ucs2Encode(text),
        }),
      );
      return true;
    },
    dropConnections() {
      for (const c of conns) c.conn.socket.destroy();
    },
    pauseAcks(p) {
      paused = p;
    },
    holdReceipts(h) {
      held = h;
      if (!h) flushDue();
    },
    releaseReceipts() {
      held = false;
      for (const r of lagging.splice(0)) due.push(r);
      flushDue();
    },
    async stop() {
      for (const t of timers) clearTimeout(t);
      for (const c of conns) c.conn.socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** `smsgw sim smsc --port N [--delay MS] [--success-rate R] [--id-format …] [--receipt-timing …] …`. */
export async function runSmscSimulatorCli(o: {
  port: number;
  delay: number;
  successRate: number;
  idFormat: SimIdFormat;
  receiptTiming: ReceiptTiming;
  receiptLag: number;
  undelivEvery: number;
}) {
  for (const [name, v] of [
    ['--port', o.port],
    ['--delay', o.delay],
    ['--receipt-lag', o.receiptLag],
    ['--undeliv-every', o.undelivEvery],
  ] as const)
    if (!Number.isInteger(v) || v < 0) throw new Error(`${name}: a whole number ≥ 0`);
  if (!(o.successRate >= 0 && o.successRate <= 1)) throw new Error('--success-rate: 0..1');
  const sim = await startSmscSimulator({
    port: o.port,
    receiptDelayMs: o.delay,
    successRate: o.successRate,
    respIdFormat: o.idFormat,
    receiptIdFormat: o.idFormat,
    receiptTiming: o.receiptTiming,
    receiptLagSubmits: o.receiptLag,
    undelivEvery: o.undelivEvery,
  });
  process.stdout.write(`SMSC simulator listening on 127.0.0.1:${sim.port}\n`);
  return sim;
}
