/**
 * SMPP stream framing: feed socket chunks, get whole PDUs. A PDU whose command_length is
 * below the 16-byte header or above MAX_PDU cannot be re-synchronised: the caller answers with
 * generic_nack and closes. Pure.
 */
import { MAX_PDU } from './smpp-pdu.js';

export class PduReader {
  private buffer: Buffer = Buffer.alloc(0);

  /** Appends a chunk; returns the complete PDUs, or 'invalid' when the stream is broken. */
  push(chunk: Buffer): Buffer[] | 'invalid' {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    const out: Buffer[] = [];
    while (this.buffer.length >= 4) {
      const length = this.buffer.readUInt32BE(0);
      if (length < 16 || length > MAX_PDU) return 'invalid';
      if (this.buffer.length < length) break;
      out.push(this.buffer.subarray(0, length));
      this.buffer = this.buffer.subarray(length);
    }
    return out;
  }
}

/** Receipt text as SMSCs write it: `id:… sub:… dlvrd:… submit date:… done date:… stat:… err:… text:…`. */
export function parseReceiptText(text: string): { id?: string; stat?: string; err?: string } {
  const field = (name: string) => new RegExp(`${name}:(\\S*)`, 'i').exec(text)?.[1];
  return { id: field('id'), stat: field('stat'), err: field('err') };
}

export function formatReceiptText(r: {
  id: string;
  stat: string;
  err: string;
  submitted: Date;
  done: Date;
  text: string;
}): string {
  const ymd = (d: Date) => d.toISOString().replace(/[-T:]/g, '').slice(2, 12);
  const dlvrd = r.stat === 'DELIVRD' ? '001' : '000';
  return `id:${r.id} sub:001 dlvrd:${dlvrd} submit date:${ymd(r.submitted)} done date:${ymd(r.done)} stat:${r.stat} err:${r.err} text:${r.text.slice(0, 20)}`;
}

/**
 * Receipt ids are matched regardless of case and of hex/decimal form: an SMSC may answer
 * submit_sm_resp with "1A2B" and report "6699" in the receipt, or the reverse. Returns the
 * forms an id may take elsewhere, canonical (lowercase, no leading zeros) first.
 */
export function idForms(id: string): string[] {
  const s = id
    .trim()
    .toLowerCase()
    .replace(/^0+(?=.)/, '');
  const forms = [s];
  if (/^[0-9]+$/.test(s) && s.length <= 30) forms.push(BigInt(s).toString(16));
  if (/^[0-9a-f]+$/.test(s) && s.length <= 24) forms.push(BigInt(`0x${s}`).toString(10));
  return [...new Set(forms)];
}
