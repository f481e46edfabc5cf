/**
 * The AT command line against a byte stream we write by hand: what a modem may put in one read
 * (a URC next to the CMGS prompt), and a line that closes under pending commands.
 */
import { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { AtError, AtLine } from '../../../src/channels/modem/at.js';
import { statusReportPdu } from '../../../src/sim/modem/simulator.js';

function line() {
  const written: string[] = [];
  const io = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      written.push(chunk.toString('latin1'));
      cb();
    },
  });
  const at = new AtLine(io);
  const urcs: [string, string | undefined][] = [];
  at.onUrc = (urc, pdu) => urcs.push([urc, pdu]);
  const modem = (s: string) => io.push(Buffer.from(s, 'latin1'));
  return { io, at, written, urcs, modem };
}

const flush = () => new Promise((r) => setImmediate(r));
const cds = statusReportPdu(7, '+79001234567');

describe('AT command line', () => {
  it('sends the PDU when the prompt and a +CDS arrive in one read, and keeps the report', async () => {
    const { at, written, urcs, modem } = line();
    const sending = at.command('AT+CMGS=20', 5000, 'PDUHEX');
    modem(`\r\n> \r\n+CDS: 25\r\n${cds}\r\n`);
    await flush();
    expect(written).toEqual(['AT+CMGS=20\r', 'PDUHEX\x1a']);
    expect(urcs).toEqual([['+CDS', cds]]);
    modem('\r\n+CMGS: 8\r\n\r\nOK\r\n');
    expect(await sending).toEqual(['+CMGS: 8']);
  });

  it('keeps a +CDS that arrives just before the prompt in the same read', async () => {
    const { at, written, urcs, modem } = line();
    const sending = at.command('AT+CMGS=20', 5000, 'PDUHEX');
    modem(`\r\n+CDS: 25\r\n${cds}\r\n\r\n> `);
    await flush();
    expect(written.at(-1)).toBe('PDUHEX\x1a');
    expect(urcs).toEqual([['+CDS', cds]]);
    modem('\r\n+CMGS: 9\r\n\r\nOK\r\n');
    expect(await sending).toEqual(['+CMGS: 9']);
  });

  it('sends the PDU when the prompt comes in pieces', async () => {
    const { at, written, modem } = line();
    const sending = at.command('AT+CMGS=20', 5000, 'PDUHEX');
    modem('\r\n');
    modem('>');
    modem(' ');
    await flush();
    expect(written.filter((w) => w === 'PDUHEX\x1a')).toHaveLength(1);
    modem('\r\n+CMGS: 10\r\n\r\nOK\r\n');
    expect(await sending).toEqual(['+CMGS: 10']);
  });

  it('fails the command in progress and the queued ones at once when the line closes', async () => {
    const { at, io } = line();
    const first = at.command('AT+CSQ', 60_000);
    const second = at.command('AT+CREG?', 60_000);
    io.destroy();
    await expect(first).rejects.toBeInstanceOf(AtError);
    await expect(second).rejects.toThrow(/port closed/);
    await expect(at.command('AT')).rejects.toThrow(/port closed/);
  });
});
