/**
 * The AT command line over a serial port (or TCP for simulators): one command at a time,
 * each with a timeout; final result codes (OK, ERROR, +CMS ERROR, +CME ERROR) end a command;
 * unsolicited result codes (+CMTI, +CDS) may arrive at any moment and go to `onUrc`.
 */
import type { Duplex } from 'node:stream';

export class AtError extends Error {
  constructor(
    message: string,
    /** +CMS ERROR / +CME ERROR number, when the modem gave one. */
    readonly cms?: number,
    readonly timeout = false,
  ) {
    super(message);
  }
}

interface Pending {
  lines: string[];
  resolve: (lines: string[]) => void;
  reject: (e: AtError) => void;
  timer: NodeJS.Timeout;
  /** For AT+CMGS: the PDU to send once the "> " prompt appears. */
  pdu?: string | undefined;
}

const FINAL = /^(OK|ERROR|\+CMS ERROR: ?(\d+)|\+CME ERROR: ?(\d+)|NO CARRIER)$/;

export class AtLine {
  private buf = '';
  private current: Pending | undefined;
  private queue: { start: () => void; reject: (e: AtError) => void }[] = [];
  /** Set once the port is gone: every command fails at once instead of waiting for its timeout. */
  private closed: string | undefined;
  /** The next line belongs to a +CDS: the PDU of a status report. */
  private expectCdsPdu = false;
  onUrc: (urc: string, pdu?: string) => void = () => undefined;

  constructor(private readonly io: Duplex) {
    io.on('data', (chunk: Buffer) => this.onData(chunk.toString('latin1')));
    io.on('close', () => this.close('port closed'));
  }

  /**
   * The line is gone (port closed, channel stopped): the command in progress and every queued
   * one fail now, and no timer of theirs is left behind. Idempotent.
   */
  close(reason: string): void {
    if (this.closed !== undefined) return;
    this.closed = reason;
    const c = this.current;
    this.current = undefined;
    if (c) {
      clearTimeout(c.timer);
      c.reject(new AtError(reason));
    }
    for (const q of this.queue.splice(0)) q.reject(new AtError(reason));
  }

  /** Sends a command; resolves with its response lines (without the final OK). */
  command(cmd: string, timeoutMs = 10_000, pdu?: string): Promise<string[]> {
    return new Promise((resolve, reject) => {
      if (this.closed !== undefined) return reject(new AtError(`${cmd}: ${this.closed}`));
      const start = () => {
        const timer = setTimeout(() => {
          this.current = undefined;
          reject(new AtError(`${cmd}: no answer in ${timeoutMs} ms`, undefined, true));
          this.next();
        }, timeoutMs);
        this.current = { lines: [], resolve, reject, timer, pdu };
        this.io.write(`${cmd}\r`);
      };
      if (this.current) this.queue.push({ start, reject });
      else start();
    });
  }

  /** Escape: abandons a half-typed PDU and clears the modem's input. */
  escape(): void {
    if (this.closed === undefined) this.io.write('\x1b\r');
  }

  private next(): void {
    const n = this.queue.shift();
    if (n) n.start();
  }

  private onData(data: string): void {
    this.buf += data;
    // The CMGS prompt is "> " without a line end, and a URC (+CDS, +CMTI) may come in the same
    // read, before or after it: take the prompt out wherever it starts a line, keep the rest.
    // (Matching it only at the end of the buffer, and dropping what came before it, stalled a
    // send for its whole timeout, or lost a status report, when the two arrived together.)
    const prompt = this.current?.pdu !== undefined ? /(^|\n)> ?/.exec(this.buf) : null;
    if (prompt && this.current?.pdu !== undefined) {
      this.buf = `${this.buf.slice(0, prompt.index)}\n${this.buf.slice(prompt.index + prompt[0].length)}`;
      this.io.write(`${this.current.pdu}\x1a`);
      this.current.pdu = undefined;
    }
    let i: number;
    while ((i = this.buf.search(/\r\n|\n|\r/)) !== -1) {
      const line = this.buf.slice(0, i).trim();
      this.buf = this.buf.slice(i + (this.buf[i] === '\r' && this.buf[i + 1] === '\n' ? 2 : 1));
      if (line) this.onLine(line);
    }
  }

  private onLine(line: string): void {
    if (this.expectCdsPdu) {
      this.expectCdsPdu = false;
      this.onUrc('+CDS', line);
      return;
    }
    if (line.startsWith('+CDS:')) {
      this.expectCdsPdu = true;
      return;
    }
    if (line.startsWith('+CMTI:') || line.startsWith('RING') || line.startsWith('+CDSI:')) {
      this.onUrc(line);
      return;
    }
    const c = this.current;
    if (!c) return;
    if (line.startsWith('AT')) return; // echo
    const m = FINAL.exec(line);
    if (!m) {
      c.lines.push(line);
      return;
    }
    clearTimeout(c.timer);
    this.current = undefined;
    if (m[1] === 'OK') c.resolve(c.lines);
    else {
      const n = m[2] ?? m[3];
      c.reject(new AtError(line, n !== undefined ? Number(n) : undefined));
    }
    this.next();
  }
}
