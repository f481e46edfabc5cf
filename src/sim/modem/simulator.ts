/**
 * An AT-command GSM modem simulator (`smsgw sim modem`): echo, OK/ERROR/+CMS ERROR, PDU-mode
 * AT+CMGS with the "> " prompt, a configurable time per message, stored inbound messages with
 * +CMTI, +CDS status reports, identification and health commands, and faults on demand.
 * Serves one connection: a pty end (socat) or a TCP socket. Commands it does not model are
 * answered OK, as Gammu's AT driver expects.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { packSeptets, toSeptets } from '../../codec/gsm7.js';
import type { SubmitPdu } from '../../codec/tpdu.js';
import { decodePdu } from '../../codec/tpdu.js';

export interface ModemSimOptions {
  /** Seconds (as ms) the network takes to accept one message. */
  sendDelayMs: number;
  /** Send +CDS status reports this long after a submit that asked for one. */
  reportDelayMs: number;
  manufacturer: string;
  model: string;
  imei: string;
  imsi: string;
  iccid: string;
  signal: number;
  operator: string;
  /**
   * TP-MR of the first message sent; each next one adds 1 and wraps at 256 (start near 255 to
   * test wrap-around).
   */
  firstReference: number;
}

export const MODEM_SIM_DEFAULTS: ModemSimOptions = {
  sendDelayMs: 100,
  reportDelayMs: 200,
  manufacturer: 'smsgw',
  model: 'SIM-MODEM-1',
  imei: '356938035643809',
  imsi: '250011234567890',
  iccid: '8970101234567890123',
  signal: 21,
  operator: 'smsgw sim',
  firstReference: 1,
};

export type Fault = 'none' | 'silent' | 'garbage';

export class ModemSimulator {
  private echo = true;
  private charset = 'GSM';
  private pending = '';
  private pduMode: { length: number; buf: string } | undefined;
  private mr: number;
  private stored = new Map<number, string>();
  private nextIndex = 1;
  private cmsErrorNext: number | undefined;
  fault: Fault = 'none';
  /** Every SMS-SUBMIT received, decoded. */
  readonly sent: SubmitPdu[] = [];
  private io: Duplex | undefined;
  private timers = new Set<NodeJS.Timeout>();
  /**
   * TP-ST of each status report (0 delivered; 0x41 incompatible destination, 0x62 no response,
   * ...), from the submit and its TP-MR.
   */
  reportStatus: (submit: SubmitPdu, mr: number) => number = () => 0;
  /** Status reports are kept (not sent) while set: `releaseReports()` sends them. */
  holdReports = false;
  private held: string[] = [];

  constructor(readonly opts: ModemSimOptions = MODEM_SIM_DEFAULTS) {
    this.mr = (((opts.firstReference - 1) % 256) + 256) % 256;
  }

  /** Sends the status reports held so far, on the current connection. Returns how many. */
  releaseReports(): number {
    const n = this.held.length;
    for (const r of this.held.splice(0)) this.write(r);
    return n;
  }

  /** How many status reports are held. */
  get heldReports(): number {
    return this.held.length;
  }

  /** Storage indexes of the messages on the SIM (read or not, not yet deleted). */
  simIndexes(): number[] {
    return [...this.stored.keys()].sort((a, b) => a - b);
  }

  /** A new connection (a reopened port): a half-typed command or PDU of the old one is gone. */
  attach(io: Duplex): void {
    this.io = io;
    this.pending = '';
    this.pduMode = undefined;
    io.on('data', (chunk: Buffer) => this.onData(chunk.toString('latin1')));
    io.on('error', () => undefined);
  }

  /** The next AT+CMGS answers +CMS ERROR: n. */
  failNextSend(cmsError: number): void {
    this.cmsErrorNext = cmsError;
  }

  /** A message arrives from a phone: stored on the SIM and announced with +CMTI. */
  injectInbound(from: string, text: string, concat?: { ref: number; total: number; seq: number }): number {
    const index = this.nextIndex++;
    this.stored.set(index, deliverPdu(from, text, concat));
    this.write(`\r\n+CMTI: "SM",${index}\r\n`);
    return index;
  }

  private write(s: string): void {
    if (this.fault === 'silent') return;
    this.io?.write(Buffer.from(s, 'latin1'));
  }

  private ok(body = ''): void {
    this.write(`${body}\r\nOK\r\n`);
  }

  private onData(data: string): void {
    for (const ch of data) {
      if (this.pduMode) {
        if (ch === '\x1a') {
          const pdu = this.pduMode.buf;
          this.pduMode = undefined;
          this.onPdu(pdu.trim());
        } else if (ch === '\x1b') {
          this.pduMode = undefined;
          this.ok();
        } else this.pduMode.buf += ch;
        continue;
      }
      if (ch === '\r' || ch === '\n') {
        const line = this.pending.trim();
        this.pending = '';
        if (line) {
          if (this.echo) this.write(`${line}\r`);
          this.command(line);
        }
      } else if (ch === '\x1b') this.pending = '';
      else this.pending += ch;
    }
  }

  private command(line: string): void {
    if (this.fault === 'garbage') {
      this.io?.write(Buffer.from([0xff, 0x00, 0x13, 0x37]));
      return;
    }
    const cmd = line.toUpperCase();
    if (!cmd.startsWith('AT')) return this.write('\r\nERROR\r\n');
    const o = this.opts;
    if (cmd === 'ATE0') {
      this.echo = false;
      return this.ok();
    }
    if (cmd === 'ATE1') {
      this.echo = true;
      return this.ok();
    }
    if (cmd === 'AT+CGMI' || cmd === 'AT+GMI') return this.ok(`\r\n${o.manufacturer}\r\n`);
    if (cmd === 'AT+CGMM' || cmd === 'AT+GMM') return this.ok(`\r\n${o.model}\r\n`);
    if (cmd === 'AT+CGMR' || cmd === 'AT+GMR') return this.ok('\r\n1.0.0\r\n');
    if (cmd === 'AT+CGSN' || cmd === 'AT+GSN') return this.ok(`\r\n${o.imei}\r\n`);
    if (cmd === 'AT+CIMI') return this.ok(`\r\n${o.imsi}\r\n`);
    if (cmd === 'AT+CCID' || cmd === 'AT+ICCID') return this.ok(`\r\n+CCID: ${o.iccid}\r\n`);
    if (cmd === 'AT+CPIN?') return this.ok('\r\n+CPIN: READY\r\n');
    if (cmd === 'AT+CSQ') return this.ok(`\r\n+CSQ: ${o.signal},99\r\n`);
    if (cmd === 'AT+CREG?' || cmd === 'AT+CEREG?' || cmd === 'AT+CGREG?')
      return this.ok(`\r\n${cmd.slice(2, -1)}: 0,1\r\n`);
    if (cmd === 'AT+COPS?') return this.ok(`\r\n+COPS: 0,0,"${o.operator}"\r\n`);
    if (cmd === 'AT+CSCA?') return this.ok('\r\n+CSCA: "+79000000000",145\r\n');
    if (cmd === 'AT+CMGF?') return this.ok('\r\n+CMGF: 0\r\n');
    if (cmd === 'AT+CSCS?') return this.ok(`\r\n+CSCS: "${this.charset}"\r\n`);
    if (cmd === 'AT+CSCS=?') return this.ok('\r\n+CSCS: ("GSM","IRA","UCS2")\r\n');
    if (cmd.startsWith('AT+CSCS=')) {
      this.charset = line.slice(8).replace(/"/g, '');
      return this.ok();
    }
    if (cmd.startsWith('AT+CMGF='))
      return cmd === 'AT+CMGF=0' ? this.ok() : this.write('\r\n+CMS ERROR: 303\r\n');
    let m = /^AT\+CMGS=(\d+)$/.exec(cmd);
    if (m) {
      this.pduMode = { length: Number(m[1]), buf: '' };
      return this.write('\r\n> ');
    }
    m = /^AT\+CMGR=(\d+)$/.exec(cmd);
    if (m) {
      const pdu = this.stored.get(Number(m[1]));
      if (!pdu) return this.write('\r\n+CMS ERROR: 321\r\n');
      return this.ok(`\r\n+CMGR: 0,,${pdu.length / 2 - 1}\r\n${pdu}\r\n`);
    }
    m = /^AT\+CMGD=(\d+)/.exec(cmd);
    if (m) {
      this.stored.delete(Number(m[1]));
      return this.ok();
    }
    if (/^AT\+CMGL/.test(cmd)) {
      const list = [...this.stored]
        .map(([i, pdu]) => `\r\n+CMGL: ${i},0,,${pdu.length / 2 - 1}\r\n${pdu}`)
        .join('');
      return this.ok(`${list}\r\n`);
    }
    // Everything else a modem would accept (AT, AT+CMEE=1, AT+CNMI=…, AT+CPMS=…, Gammu's probes).
    return this.ok();
  }

  private onPdu(hex: string): void {
    let submit: SubmitPdu;
    try {
      const d = decodePdu(hex);
      if (d.type !== 'submit') throw new Error('not a submit');
      submit = d.submit;
    } catch {
      return this.write('\r\n+CMS ERROR: 304\r\n');
    }
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (this.cmsErrorNext !== undefined) {
        const n = this.cmsErrorNext;
        this.cmsErrorNext = undefined;
        return this.write(`\r\n+CMS ERROR: ${n}\r\n`);
      }
      this.mr = (this.mr + 1) % 256;
      const mr = this.mr;
      this.sent.push(submit);
      this.write(`\r\n+CMGS: ${mr}\r\n\r\nOK\r\n`);
      if (submit.statusReport) {
        const r = setTimeout(() => {
          this.timers.delete(r);
          const pdu = statusReportPdu(mr, submit.to, this.reportStatus(submit, mr));
          const urc = `\r\n+CDS: ${pdu.length / 2 - 1}\r\n${pdu}\r\n`;
          if (this.holdReports) this.held.push(urc);
          else this.write(urc);
        }, this.opts.reportDelayMs);
        this.timers.add(r);
      }
    }, this.opts.sendDelayMs);
    this.timers.add(t);
  }

  stop(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}

function semiOctets(digits: string): string {
  const d = digits.length % 2 ? `${digits}F` : digits;
  let out = '';
  for (let i = 0; i < d.length; i += 2) out += `${d[i + 1]}${d[i]}`;
  return out;
}

function addressHex(number: string): string {
  const digits = number.replace(/^\+/, '');
  return `${digits.length.toString(16).padStart(2, '0')}${number.startsWith('+') ? '91' : '81'}${semiOctets(digits)}`;
}

function nowScts(): string {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  return semiOctets(
    `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}00`,
  );
}

/** SMS-DELIVER as a modem stores it (GSM-7 when possible, else UCS-2; optional concatenation UDH). */
export function deliverPdu(
  from: string,
  text: string,
  concat?: { ref: number; total: number; seq: number },
): string {
  const septets = toSeptets(text);
  const udh = concat
    ? Buffer.from([0x05, 0x00, 0x03, concat.ref, concat.total, concat.seq])
    : Buffer.alloc(0);
  let ud: Buffer;
  let udl: number;
  let dcs: string;
  if (septets) {
    ud = Buffer.concat([udh, packSeptets(septets, concat ? 1 : 0)]);
    udl = septets.length + (concat ? 7 : 0);
    dcs = '00';
  } else {
    ud = Buffer.concat([udh, Buffer.from(text, 'utf16le').swap16()]);
    udl = ud.length;
    dcs = '08';
  }
  const first = concat ? '44' : '04';
  return `00${first}${addressHex(from)}00${dcs}${nowScts()}${udl.toString(16).padStart(2, '0')}${ud.toString('hex')}`.toUpperCase();
}

/** SMS-STATUS-REPORT for message reference `mr`: TP-ST `status` (0: delivered). */
export function statusReportPdu(mr: number, recipient: string, status = 0): string {
  return `0006${mr.toString(16).padStart(2, '0')}${addressHex(recipient)}${nowScts()}${nowScts()}${(status & 0xff).toString(16).padStart(2, '0')}`.toUpperCase();
}

/** Serves the simulator on a TCP port (one connection at a time). */
export async function serveModemTcp(
  sim: ModemSimulator,
  port = 0,
): Promise<{ port: number; close(): Promise<void> }> {
  let current: Socket | undefined;
  const server: Server = createServer((socket) => {
    current?.destroy();
    current = socket;
    sim.attach(socket);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise((resolve) => {
        current?.destroy();
        sim.stop();
        server.close(() => resolve());
      }),
  };
}

/**
 * A pty pair from socat: `modemSide` is opened by the simulator, `deviceSide` is the "serial
 * port" that a driver or Gammu opens.
 */
export async function ptyPair(
  dir: string,
): Promise<{ modemSide: string; deviceSide: string; socat: ChildProcess }> {
  const modemSide = `${dir}/modem`;
  const deviceSide = `${dir}/ttyModem`;
  const socat = spawn('socat', [`pty,raw,echo=0,link=${modemSide}`, `pty,raw,echo=0,link=${deviceSide}`], {
    stdio: 'ignore',
  });
  const until = Date.now() + 5000;
  while (!(existsSync(modemSide) && existsSync(deviceSide))) {
    if (Date.now() > until) throw new Error('socat did not create the pty pair');
    await new Promise((r) => setTimeout(r, 20));
  }
  return { modemSide, deviceSide, socat };
}
