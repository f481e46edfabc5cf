/**
 * One SMPP connection seen from either end: frames PDUs, numbers requests, matches responses
 * with a per-request timeout, answers malformed input with generic_nack. Requests from the
 * peer are handed to `onRequest`. Used by the client channel and the SMSC simulator.
 */
import type { Socket } from 'node:net';
import { PduReader } from '../../codec/smpp-frames.js';
import type { Header } from '../../codec/smpp-pdu.js';
import { CMD, STATUS, Writer, readHeader } from '../../codec/smpp-pdu.js';

export interface Pdu {
  header: Header;
  raw: Buffer;
}

export class SmppConnection {
  private readonly reader = new PduReader();
  private seq = 0;
  private readonly pending = new Map<
    number,
    { resolve: (p: Pdu) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }
  >();
  closed = false;
  /** Writes of this tick are held in the socket and leave together (see write()). */
  private corked = false;
  onRequest: (pdu: Pdu) => void = () => undefined;
  onClose: () => void = () => undefined;
  /** Responses matching no request() (the SMSC simulator tracks its receipts' answers so). */
  onResponse: (pdu: Pdu) => void = () => undefined;

  constructor(readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      for (const p of this.pending.values()) {
        clearTimeout(p.timer);
        p.reject(new Error('connection closed'));
      }
      this.pending.clear();
      this.onClose();
    });
  }

  get outstanding(): number {
    return this.pending.size;
  }

  nextSeq(): number {
    this.seq = (this.seq % 0x7fffffff) + 1;
    return this.seq;
  }

  request(id: number, body: Writer, timeoutMs: number): Promise<Pdu> {
    const seq = this.nextSeq();
    return new Promise<Pdu>((resolve, reject) => {
      if (this.closed) return reject(new Error('connection closed'));
      const timer = setTimeout(() => {
        this.pending.delete(seq);
        reject(new Error(`no response in ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(seq, { resolve, reject, timer });
      this.write(body.pdu(id, 0, seq));
    });
  }

  respond(id: number, status: number, seq: number, body: Writer = new Writer()): void {
    if (!this.closed) this.write(body.pdu(id, status, seq));
  }

  send(pdu: Buffer): void {
    if (!this.closed) this.write(pdu);
  }

  /**
   * Every PDU written in one tick leaves in one `writev` when the tick ends: a claim's submits
   * (the dispatcher hands over a whole claim at once, up to the window) or the answers to one
   * read's worth of requests. One `write` per PDU was 3.6 of the gateway's 30 busy seconds
   * (`writeBuffer`, a syscall each) in a `--cpu-prof` of `DRAIN_N=20000 npm run bench:drain`.
   * Nothing waits longer than the current tick, so latency is unchanged.
   */
  private write(buf: Buffer): void {
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(buf);
  }

  close(): void {
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  private onData(chunk: Buffer): void {
    const pdus = this.reader.push(chunk);
    if (pdus === 'invalid') {
      this.respond(CMD.generic_nack, STATUS.ESME_RINVCMDLEN, 0);
      this.close();
      return;
    }
    for (const raw of pdus) {
      const header = readHeader(raw);
      const waiter = header.id & 0x80000000 ? this.pending.get(header.seq) : undefined;
      if (waiter) {
        clearTimeout(waiter.timer);
        this.pending.delete(header.seq);
        waiter.resolve({ header, raw });
      } else if (header.id & 0x80000000) {
        // A response no request() waits for (a generic_nack of something long timed out, or
        // the answer to a PDU written with send()): the owner decides.
        this.onResponse({ header, raw });
      } else {
        this.onRequest({ header, raw });
      }
    }
  }
}
