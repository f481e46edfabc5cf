/**
 * SMPP stream framing: feed socket chunks, get whole PDUs. A PDU whose command_length is
 * below the 16-byte header or above MAX_PDU cannot be re-synchronised: the caller answers with
 * generic_nack and closes. Pure.
 */
import { asciiPreview } from './ascii.js';
import { MAX_PDU } from './smpp-pdu.js';

export class PduReader {
  private buffer: Buffer = Buffer.alloc(0);

  /** Appends a chunk; returns the complete PDUs, or 'invalid' when the stream is broken. */
  push(chunk: Buffer): Buffer[] | 'invalid' {
    const { pdus, broken } = this.read(chunk);
    return broken ? 'invalid' : pdus;
  }

  /**
   * Appends a chunk; returns the complete PDUs, including those that came before a broken
   * frame in the same chunk (they were sent whole and are owed an answer), and whether the
   * stream broke.
   */
  read(chunk: Buffer): { pdus: Buffer[]; broken: boolean } {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    const pdus: Buffer[] = [];
    while (this.buffer.length >= 4) {
      const length = this.buffer.readUInt32BE(0);
      if (length < 16 || length > MAX_PDU) return { pdus, broken: true };
      if (this.buffer.length < length) break;
      pdus.push(this.buffer.subarray(0, length));
      this.buffer = this.buffer.subarray(length);
    }
    return { pdus, broken: false };
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
  return `id:${r.id} sub:001 dlvrd:${dlvrd} submit date:${ymd(r.submitted)} done date:${ymd(r.done)} stat:${r.stat} err:${r.err} text:${asciiPreview(r.text, 20)}`;
}

/**
 * How an SMSC's receipts name the messages it acknowledged: the same id as submit_sm_resp
 * (`same`), or that id in decimal where submit_sm_resp gave hex (`decimal`), in hex where it
 * gave decimal (`hex`), or the same id in another letter case (`ignore-case`).
 */
export type ReceiptIdFormat = 'same' | 'decimal' | 'hex' | 'ignore-case';
export const RECEIPT_ID_FORMATS: readonly ReceiptIdFormat[] = ['same', 'decimal', 'hex', 'ignore-case'];

/**
 * The forms a receipt's id may have had in submit_sm_resp, given the channel's format, beside
 * the id itself (which is always tried first). Never both conversions at once: with ids
 * numbered 1, 2, 3 … "16" in decimal and "16" in hex are two different messages.
 */
export function receiptIdCandidates(id: string, format: ReceiptIdFormat): string[] {
  const s = id.trim();
  const out = new Set<string>();
  if (format === 'decimal' && /^[0-9]{1,30}$/.test(s)) {
    const hex = BigInt(s).toString(16);
    out.add(hex).add(hex.toUpperCase());
  } else if (format === 'hex' && /^[0-9a-fA-F]{1,24}$/.test(s)) {
    out.add(BigInt(`0x${s}`).toString(10));
  } else if (format === 'ignore-case') {
    out.add(s.toLowerCase()).add(s.toUpperCase());
  }
  out.delete(id);
  return [...out];
}
