/**
 * An SMSC simulator for tests and benchmarks (`smsgw sim smsc --port N`): accepts binds,
 * acknowledges submits with its own ids, sends delivery receipts after a delay with a
 * configurable failure mix, can throttle, and injects mobile-originated messages.
 */
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { formatReceiptText } from '../../codec/smpp-frames.js';
import {
  CMD,
  STATUS,
  TLV,
  Writer,
  decodeBind,
  decodeSubmit,
  encodeDeliver,
  messageBody,
} from '../../codec/smpp-pdu.js';
import type { MessageFields } from '../../codec/smpp-pdu.js';
import { gsmUnpackedEncode, ucs2Encode } from '../../codec/smpp-text.js';
import { SmppConnection } from '../../channels/smpp/connection.js';

export interface SmscSimOptions {
  port: number;
  host: string;
  /** Time from submit to receipt. */
  receiptDelayMs: number;
  /** Share of messages delivered; the rest split evenly over UNDELIV, EXPIRED and REJECTD. */
  successRate: number;
  /** How message ids look in submit_sm_resp, and in receipts (they may differ, as at real SMSCs). */
  respIdFormat: 'hex' | 'decimal';
  receiptIdFormat: 'hex' | 'decimal';
  /** Answer every n-th submit with ESME_RTHROTTLED (0 = never); deterministic for tests. */
  throttleEvery: number;
  credentials?: { systemId: string; password: string } | undefined;
  /**
   * Store and forward receipts as a real SMSC does: a receipt is kept until the ESME answers its
   * deliver_sm with status 0; one whose connection dropped (or that was refused or not answered
   * in 10 s) goes to the next receiver bound. Off by default: then a receipt due while no
   * receiver is bound is dropped, and receipts counts deliver_sm sent, not acknowledged.
   */
  holdReceipts?: boolean;
}

export const SMSC_SIM_DEFAULTS: SmscSimOptions = {
  port: 0,
  host: '127.0.0.1',
  receiptDelayMs: 100,
  successRate: 1,
  respIdFormat: 'hex',
  receiptIdFormat: 'hex',
  throttleEvery: 0,
};

export interface SmscSim {
  port: number;
  stats: { binds: number; submits: number; receipts: number; throttled: number };
  /** What the simulator received, in order (bounded). */
  received: {
    id: string;
    to: string;
    from: string;
    esmClass: number;
    dataCoding: number;
    body: Buffer;
    tlvs: Map<number, Buffer>;
  }[];
  injectMo(from: string, to: string, text: string): boolean;
  /** Cuts every connection (tests reconnect and resubmission). */
  dropConnections(): void;
  /** Stop acknowledging submits (they stay outstanding) until resumed. */
  pauseAcks(paused: boolean): void;
  stop(): Promise<void>;
}

export async function startSmscSimulator(options: Partial<SmscSimOptions> = {}): Promise<SmscSim> {
  const opts = { ...SMSC_SIM_DEFAULTS, ...options };
  const conns = new Set<{ conn: SmppConnection; mode: string }>();
  const stats = { binds: 0, submits: 0, receipts: 0, throttled: 0 };
  /** holdReceipts: receipts waiting for a receiver (bounded like an SMSC's store). */
  const held: MessageFields[] = [];
  const received: SmscSim['received'] = [];
  const timers = new Set<NodeJS.Timeout>();
  let nextId = 0x10000;
  let paused = false;
  let stopped = false;
  let submitCalls = 0;
  const fmt = (n: number, f: 'hex' | 'decimal') => (f === 'hex' ? n.toString(16).toUpperCase() : String(n));

  const server: Server = createServer((socket) => {
    const entry = { conn: new SmppConnection(socket), mode: '' };
    conns.add(entry);
    entry.conn.onClose = () => conns.delete(entry);
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
          entry.mode = ok
            ? ({ [CMD.bind_transmitter]: 'tx', [CMD.bind_receiver]: 'rx', [CMD.bind_transceiver]: 'trx' }[
                id
              ] ?? '')
            : '';
          if (ok) stats.binds++;
          entry.conn.respond(
            bindResp[id] as number,
            ok ? 0 : STATUS.ESME_RBINDFAIL,
            seq,
            new Writer().cstring('smscsim'),
          );
          if (ok && (entry.mode === 'rx' || entry.mode === 'trx'))
            for (const r of held.splice(0)) forward(r, entry);
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
          });
          entry.conn.respond(CMD.submit_sm_resp, 0, seq, new Writer().cstring(fmt(n, opts.respIdFormat)));
          if (s.registeredDelivery & 0x03) scheduleReceipt(entry, n, s.source, s.destinations[0] ?? '');
        } else if (id !== CMD.deliver_sm_resp) {
          entry.conn.respond(CMD.generic_nack, STATUS.ESME_RINVCMDID, seq);
        }
      } catch {
        entry.conn.respond((id | 0x80000000) >>> 0, STATUS.ESME_RINVCMDLEN, seq);
      }
    };
  });

  function scheduleReceipt(
    entry: { conn: SmppConnection; mode: string },
    n: number,
    source: string,
    dest: string,
  ) {
    const submitted = new Date();
    const t = setTimeout(() => {
      timers.delete(t);
      const r = Math.random();
      const fail = (1 - r) / Math.max(1e-9, 1 - opts.successRate);
      const stat =
        r < opts.successRate ? 'DELIVRD' : fail < 1 / 3 ? 'UNDELIV' : fail < 2 / 3 ? 'EXPIRED' : 'REJECTD';
      const err = stat === 'DELIVRD' ? '000' : stat === 'UNDELIV' ? '027' : '001';
      const receiptId = fmt(n, opts.receiptIdFormat);
      const text = formatReceiptText({ id: receiptId, stat, err, submitted, done: new Date(), text: '' });
      const target =
        entry.mode === 'trx' || entry.mode === 'rx'
          ? entry
          : [...conns].find((c) => c.mode === 'rx' || c.mode === 'trx');
      const state = { DELIVRD: 2, UNDELIV: 5, EXPIRED: 3, REJECTD: 8 }[stat] as number;
      const receipt: MessageFields = {
        source: dest,
        destination: source,
        esmClass: 0x04,
        dataCoding: 0,
        body: Buffer.from(text, 'latin1'),
        tlvs: [
          [TLV.receipted_message_id, Buffer.from(`${receiptId}\0`, 'latin1')],
          [TLV.message_state, Buffer.from([state])],
        ],
      };
      if (opts.holdReceipts) return forward(receipt, target);
      if (!target || target.conn.closed) return;
      target.conn.send(encodeDeliver(target.conn.nextSeq(), receipt));
      stats.receipts++;
    }, opts.receiptDelayMs);
    timers.add(t);
  }

  /** holdReceipts: send on `preferred` or any receiver, keep it until answered with status 0. */
  function forward(receipt: MessageFields, preferred?: { conn: SmppConnection; mode: string }): void {
    const target =
      preferred && !preferred.conn.closed
        ? preferred
        : [...conns].find((c) => !c.conn.closed && (c.mode === 'rx' || c.mode === 'trx'));
    if (!target) {
      if (held.length < 1_000_000) held.push(receipt);
      return;
    }
    const retry = () => {
      if (stopped) return;
      const t = setTimeout(() => {
        timers.delete(t);
        forward(receipt);
      }, 1000);
      timers.add(t);
    };
    target.conn.request(CMD.deliver_sm, messageBody(receipt), 10_000).then((resp) => {
      if (resp.header.status === 0) stats.receipts++;
      else retry();
    }, retry);
  }

  await new Promise<void>((resolve) => server.listen(opts.port, opts.host, resolve));
  return {
    port: (server.address() as { port: number }).port,
    stats,
    received,
    injectMo(from, to, text) {
      const target = [...conns].find((c) => c.mode === 'rx' || c.mode === 'trx');
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
    async stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      for (const c of conns) c.conn.socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** `smsgw sim smsc --port N [--delay MS] [--success-rate R] [--id-format hex|decimal]`. */
export async function runSmscSimulatorCli(o: {
  port: number;
  delay: number;
  successRate: number;
  idFormat: 'hex' | 'decimal';
}) {
  const sim = await startSmscSimulator({
    port: o.port,
    receiptDelayMs: o.delay,
    successRate: o.successRate,
    respIdFormat: o.idFormat,
    receiptIdFormat: o.idFormat,
  });
  process.stdout.write(`SMSC simulator listening on 127.0.0.1:${sim.port}\n`);
  return sim;
}
