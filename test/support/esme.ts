/** A bare-bones ESME for tests: raw PDUs over a real socket, with the answers in order. */
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { CMD, Writer, messageBody } from '../../src/codec/smpp-pdu.js';
import type { TestApp } from './app.js';
import { startTestApp } from './app.js';
import { freePort } from './net.js';

export interface Pdu {
  id: number;
  status: number;
  seq: number;
  body: Buffer;
}

/** The body of a bind (transceiver, transmitter or receiver: the command id says which). */
export const bindBody = (login: string, password: string): Writer =>
  new Writer().cstring(login).cstring(password).cstring('').u8(0x34).u8(1).u8(1).cstring('');

/** query_sm of one message id (source address TON 1, NPI 1, empty). */
export const queryBody = (id: string): Writer => new Writer().cstring(id).u8(1).u8(1).cstring('');

/** cancel_sm of one message id (no service type; source and destination TON 1, NPI 1, empty). */
export const cancelBody = (id: string): Writer =>
  new Writer().cstring('').cstring(id).u8(1).u8(1).cstring('').u8(1).u8(1).cstring('');

/** replace_sm of one message id with `text` (no schedule, validity or receipt request). */
export function replaceBody(id: string, text: string, source = ''): Writer {
  const sm = Buffer.from(text);
  return new Writer()
    .cstring(id)
    .u8(1)
    .u8(1)
    .cstring(source)
    .cstring('')
    .cstring('')
    .u8(0)
    .u8(0)
    .u8(sm.length)
    .bytes(sm);
}

/**
 * A gateway whose SMPP face listens on a free port, without the simulator (no channel: what is
 * submitted stays queued, for query_sm, cancel_sm and replace_sm to act on), and `user` to bind
 * as. `env` adds to or overrides that.
 */
export async function startSmppFace(
  user: { login: string; password: string },
  env: Record<string, string> = {},
): Promise<{ t: TestApp; port: number }> {
  const port = await freePort();
  const t = await startTestApp({ SMSGW_SMPP_PORT: String(port), SMSGW_SIMULATOR: 'false', ...env });
  const made = await t.call('POST', '/v1/users', { body: user });
  if (made.status !== 201) {
    await t.stop();
    throw new Error(`user ${user.login} not made: ${made.status} ${JSON.stringify(made.body)}`);
  }
  return { t, port };
}

/** A bare-bones ESME for tests: sends raw PDUs, collects what comes back. */
export class Client {
  private buf = Buffer.alloc(0);
  private waiting: ((p: Pdu) => void)[] = [];
  private inbox: Pdu[] = [];
  closed = false;
  private seq = 0;

  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buf = Buffer.concat([this.buf, chunk]);
      while (this.buf.length >= 16 && this.buf.length >= this.buf.readUInt32BE(0)) {
        const len = this.buf.readUInt32BE(0);
        const p = {
          id: this.buf.readUInt32BE(4),
          status: this.buf.readUInt32BE(8),
          seq: this.buf.readUInt32BE(12),
          body: this.buf.subarray(16, len),
        };
        this.buf = this.buf.subarray(len);
        const w = this.waiting.shift();
        if (w) w(p);
        else this.inbox.push(p);
      }
    });
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => undefined);
  }

  static async open(port: number): Promise<Client> {
    const s = connect(port, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    return new Client(s);
  }

  next(): Promise<Pdu> {
    const p = this.inbox.shift();
    if (p) return Promise.resolve(p);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no PDU within 5 s')), 5000);
      this.waiting.push((x) => {
        clearTimeout(t);
        resolve(x);
      });
    });
  }

  raw(b: Buffer): void {
    this.socket.write(b);
  }

  async call(id: number, body: Writer = new Writer()): Promise<Pdu> {
    this.raw(body.pdu(id, 0, ++this.seq));
    return this.next();
  }

  bind(login: string, password: string, id: number = CMD.bind_transceiver): Promise<Pdu> {
    return this.call(id, bindBody(login, password));
  }

  submit(to: string, text: string, opts: { dcs?: number; registered?: number } = {}): Promise<Pdu> {
    return this.call(
      CMD.submit_sm,
      messageBody({
        source: 'SMSGW',
        destination: to,
        esmClass: 0,
        registeredDelivery: opts.registered ?? 0,
        dataCoding: opts.dcs ?? 0,
        body: Buffer.from(text, 'latin1'),
      }),
    );
  }

  close(): void {
    this.socket.destroy();
  }
}
