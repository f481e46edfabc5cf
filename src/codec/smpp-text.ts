/**
 * Short-message bodies as SMPP clients send them: data_coding → text (GSM 03.38 unpacked, one
 * septet per octet, as SMPP carries it; Latin-1; UCS-2), message class (flash), and the
 * concatenation UDH. Pure.
 */
import type { ShiftLanguage } from './gsm7.js';
import { SHIFT_TABLES, charSeptetsShifted, fromSeptets, toSeptets } from './gsm7.js';
import { parseUdh } from './udh.js';

/** Unpacked GSM (one septet per octet, as SMPP carries it) → text. */
export function gsmUnpackedDecode(bytes: Uint8Array): string {
  return fromSeptets(bytes);
}

/** Text → unpacked GSM octets; undefined when a character is not in GSM 03.38. */
export function gsmUnpackedEncode(text: string): Buffer | undefined {
  const septets = toSeptets(text);
  return septets ? Buffer.from(septets) : undefined;
}

export function ucs2Decode(bytes: Uint8Array): string {
  const b = Buffer.from(bytes);
  const even = b.length - (b.length % 2);
  const swapped = Buffer.from(b.subarray(0, even)).swap16();
  return swapped.toString('utf16le');
}

export function ucs2Encode(text: string): Buffer {
  return Buffer.from(text, 'utf16le').swap16();
}

export interface Decoded {
  text: string;
  flash: boolean;
  /** Concatenation info from a UDH or SAR TLVs. */
  concat?: { ref: number; total: number; seq: number } | undefined;
}

/** Message class 0 (flash) in either DCS group that carries a class. */
export function isFlash(dcs: number): boolean {
  if ((dcs & 0xf0) === 0xf0) return (dcs & 0x03) === 0;
  if ((dcs & 0xc0) === 0x00 && (dcs & 0x10) !== 0) return (dcs & 0x03) === 0;
  return false;
}

function alphabet(dcs: number): 'gsm' | 'latin1' | 'ucs2' | 'binary' {
  if ((dcs & 0xf0) === 0xf0) return dcs & 0x04 ? 'binary' : 'gsm';
  if ((dcs & 0xc0) === 0x00 && (dcs & 0x10) !== 0) {
    const a = (dcs >> 2) & 0x03;
    return a === 0 ? 'gsm' : a === 2 ? 'ucs2' : 'binary';
  }
  switch (dcs) {
    case 0x00:
    case 0x01:
      return 'gsm';
    case 0x03:
      return 'latin1';
    case 0x08:
      return 'ucs2';
    case 0x02:
    case 0x04:
      return 'binary';
    default:
      return 'gsm';
  }
}

/** Splits off a User Data Header (when esm_class has UDHI) and reads concatenation from it. */
export function splitUdh(body: Buffer): { payload: Buffer; concat?: Decoded['concat'] } {
  const udhl = body[0] ?? 0;
  if (body.length < udhl + 1) return { payload: body };
  const { concat } = parseUdh(body.subarray(1, 1 + udhl));
  return { payload: body.subarray(1 + udhl), concat };
}

export function decodeText(dcs: number, payload: Buffer): string {
  switch (alphabet(dcs)) {
    case 'gsm':
      return gsmUnpackedDecode(payload);
    case 'latin1':
      return payload.toString('latin1');
    case 'ucs2':
      return ucs2Decode(payload);
    case 'binary':
      return payload.toString('hex');
  }
}

/**
 * Text → payload bytes for SMPP, split into parts that each fit one SMS alongside a 6-byte
 * concatenation UDH: 153 GSM septets (unpacked: one octet each) or 67 UCS-2 characters. An
 * escape pair or a surrogate pair is never cut. A text that fits one SMS is one part.
 *
 * With a national single shift table the text is GSM-7 septets in that table, and every part
 * also carries the 3-octet shift element (see `shiftUdhElement`): 155 septets alone, 149 per
 * part, the same figures `preview` counts with.
 */
export function smppParts(text: string, ucs2: boolean, shift?: ShiftLanguage): Buffer[] {
  const units = [...text].map((ch) =>
    ucs2
      ? ucs2Encode(ch)
      : shift
        ? Buffer.from(charSeptetsShifted(ch, shift) ?? [0x3f])
        : (gsmUnpackedEncode(ch) ?? Buffer.from('?')),
  );
  const total = units.reduce((n, u) => n + u.length, 0);
  const single = ucs2 ? 140 : shift ? 155 : 160;
  if (total <= single) return [Buffer.concat(units)];
  const per = ucs2 ? 134 : shift ? 149 : 153;
  const parts: Buffer[] = [];
  let current: Buffer[] = [];
  let used = 0;
  for (const u of units) {
    if (used + u.length > per) {
      parts.push(Buffer.concat(current));
      current = [];
      used = 0;
    }
    current.push(u);
    used += u.length;
  }
  if (current.length) parts.push(Buffer.concat(current));
  return parts;
}

/** UDH information element 0x24: national language single shift table (TS 23.040 9.2.3.24.15). */
export function shiftUdhElement(shift: ShiftLanguage): Buffer {
  return Buffer.from([0x24, 0x01, SHIFT_TABLES[shift].id]);
}
