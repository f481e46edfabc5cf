/**
 * SMS TPDUs (3GPP TS 23.040 §9.2) for PDU-mode modems: SMS-SUBMIT encoding (concatenated,
 * flash, replace type, relative validity, status report request) and decoding of SMS-SUBMIT
 * (what a modem simulator receives), SMS-DELIVER and SMS-STATUS-REPORT. Hex strings carry the
 * leading SMSC-information octet, as AT+CMGS and AT+CMGR use them. Pure.
 */
import type { ShiftLanguage } from './gsm7.js';
import { parseUdh } from './udh.js';
import {
  SHIFT_TABLES,
  charSeptetsShifted,
  fromSeptets,
  fromSeptetsShifted,
  packSeptets,
  toSeptets,
  unpackSeptets,
} from './gsm7.js';

export type TpduEncoding = 'gsm7' | 'ucs2';

export interface SubmitPduOptions {
  /** E.164 with '+' (international) or national digits. */
  to: string;
  text: string;
  /** Default: GSM-7 when every character fits, else UCS-2. */
  encoding?: TpduEncoding | undefined;
  /** TP-DCS message class 0. */
  flash?: boolean | undefined;
  /** Replace short message type 1..7 (TP-PID 0x41..0x47). */
  replaceId?: number | undefined;
  /** Relative validity in minutes (TP-VP). */
  validityMinutes?: number | undefined;
  /** TP-SRR: ask for a status report. */
  statusReport?: boolean | undefined;
  messageReference?: number | undefined;
  /** Concatenation reference shared by the parts (8-bit, or 16-bit with `ref16`). */
  concatReference?: number | undefined;
  /** Use the 16-bit reference element (IE 0x08): fewer collisions for heavy senders, one septet less per part. */
  ref16?: boolean | undefined;
  /** GSM-7 with this national single shift table (UDH IE 0x24). */
  shiftTable?: ShiftLanguage | undefined;
}

export interface EncodedPdu {
  /** Uppercase hex including the leading '00' SMSC-information octet. */
  pdu: string;
  /** TPDU octets, without the SMSC octet: the <length> of AT+CMGS=<length>. */
  length: number;
}

/** Semi-octet (swapped BCD) digits, padded with F. */
function bcd(digits: string): Buffer {
  const d = digits.length % 2 ? `${digits}F` : digits;
  const out = Buffer.alloc(d.length / 2);
  for (let i = 0; i < d.length; i += 2) out[i / 2] = parseInt(`${d[i + 1]}${d[i]}`, 16);
  return out;
}

function unbcd(octets: Uint8Array, digits: number): string {
  let s = '';
  for (const o of octets) s += `${(o & 0x0f).toString(16)}${(o >> 4).toString(16)}`;
  return s.slice(0, digits).toUpperCase().replace(/F+$/, '');
}

function address(number: string): Buffer {
  const international = number.startsWith('+');
  const digits = number.replace(/^\+/, '');
  if (!/^\d{1,20}$/.test(digits)) throw new Error(`not a phone number: ${number}`);
  return Buffer.concat([Buffer.from([digits.length, international ? 0x91 : 0x81]), bcd(digits)]);
}

/** TP-VP relative format (TS 23.040 §9.2.3.12.1): the smallest value covering the minutes. */
export function relativeVp(minutes: number): number {
  if (minutes <= 720) return Math.max(0, Math.ceil(minutes / 5) - 1);
  if (minutes <= 1440) return 143 + Math.ceil((minutes - 720) / 30);
  if (minutes <= 30 * 1440) return 166 + Math.ceil(minutes / 1440);
  return Math.min(255, 192 + Math.ceil(minutes / (7 * 1440)));
}

function dcsFor(encoding: TpduEncoding, flash: boolean): number {
  const alphabet = encoding === 'ucs2' ? 0x08 : 0x00;
  return flash ? 0x10 | alphabet : alphabet;
}

/** Splits the text into parts that fit with a 6-octet concatenation UDH; never cuts escapes or surrogate pairs. */
function parts(
  text: string,
  encoding: TpduEncoding,
  shift?: ShiftLanguage,
  ref16 = false,
): { units: number[] | Buffer; text: string }[] {
  const chars = [...text];
  if (encoding === 'gsm7') {
    const septetsOf = (t: string) =>
      shift ? [...t].flatMap((c) => charSeptetsShifted(c, shift) ?? [NaN]) : (toSeptets(t) ?? [NaN]);
    const all = septetsOf(text);
    if (all.some((n) => Number.isNaN(n)))
      throw new Error('text is not GSM 03.38 (with this shift table): use ucs2');
    // Room left by the UDH: a shift table element alone takes 5 septets; with concatenation, 11.
    const single = shift ? 155 : 160;
    // The 16-bit reference element is one octet longer: one septet less per part.
    const per = (shift ? 149 : 153) - (ref16 ? 1 : 0);
    if (all.length <= single) return [{ units: all, text }];
    const out: { units: number[]; text: string }[] = [];
    let cur: number[] = [];
    let curText = '';
    for (const ch of chars) {
      const s = septetsOf(ch);
      if (cur.length + s.length > per) {
        out.push({ units: cur, text: curText });
        cur = [];
        curText = '';
      }
      cur.push(...s);
      curText += ch;
    }
    out.push({ units: cur, text: curText });
    return out;
  }
  const all = Buffer.from(text, 'utf16le').swap16();
  if (all.length <= 140) return [{ units: all, text }];
  const out: { units: Buffer; text: string }[] = [];
  let cur: Buffer[] = [];
  let len = 0;
  let curText = '';
  for (const ch of chars) {
    const b = Buffer.from(ch, 'utf16le').swap16();
    if (len + b.length > (ref16 ? 132 : 134)) {
      out.push({ units: Buffer.concat(cur), text: curText });
      cur = [];
      len = 0;
      curText = '';
    }
    cur.push(b);
    len += b.length;
    curText += ch;
  }
  out.push({ units: Buffer.concat(cur), text: curText });
  return out;
}

export function encodeSubmitPdus(o: SubmitPduOptions): EncodedPdu[] {
  const plain = toSeptets(o.text) !== undefined;
  // The shift table's UDH costs room: use it only for text the default alphabet cannot carry.
  const shift =
    !plain && o.shiftTable && [...o.text].every((c) => charSeptetsShifted(c, o.shiftTable as ShiftLanguage))
      ? o.shiftTable
      : undefined;
  const encoding = o.encoding ?? (plain || shift ? 'gsm7' : 'ucs2');
  const segs = parts(o.text, encoding, shift, o.ref16);
  const ref = (o.concatReference ?? 0) & (o.ref16 ? 0xffff : 0xff);
  return segs.map((seg, i) => {
    const multi = segs.length > 1;
    const concat = o.ref16
      ? [0x08, 0x04, ref >> 8, ref & 0xff, segs.length, i + 1]
      : [0x00, 0x03, ref, segs.length, i + 1];
    const elements = [...(multi ? concat : []), ...(shift ? [0x24, 0x01, SHIFT_TABLES[shift].id] : [])];
    const udh = elements.length ? Buffer.from([elements.length, ...elements]) : Buffer.alloc(0);
    const vp =
      o.validityMinutes !== undefined ? Buffer.from([relativeVp(o.validityMinutes)]) : Buffer.alloc(0);
    const first = 0x01 | (vp.length ? 0x10 : 0) | (o.statusReport ? 0x20 : 0) | (udh.length ? 0x40 : 0);
    let ud: Buffer;
    let udl: number;
    if (encoding === 'gsm7') {
      const septets = seg.units as number[];
      // Fill bits bring the text after the UDH to a septet boundary (6-octet UDH: 1 fill bit).
      const udhBits = udh.length * 8;
      const fill = (7 - (udhBits % 7)) % 7;
      ud = Buffer.concat([udh, packSeptets(septets, fill)]);
      udl = (udhBits + fill) / 7 + septets.length;
    } else {
      ud = Buffer.concat([udh, seg.units as Buffer]);
      udl = ud.length;
    }
    const tpdu = Buffer.concat([
      Buffer.from([first, (o.messageReference ?? 0) & 0xff]),
      address(o.to),
      Buffer.from([o.replaceId ? 0x40 + o.replaceId : 0x00, dcsFor(encoding, !!o.flash)]),
      vp,
      Buffer.from([udl]),
      ud,
    ]);
    return { pdu: `00${tpdu.toString('hex')}`.toUpperCase(), length: tpdu.length };
  });
}

export interface Concat {
  ref: number;
  total: number;
  seq: number;
}

export interface DecodedUserData {
  text: string;
  encoding: TpduEncoding | 'binary';
  concat?: Concat | undefined;
  shiftTable?: ShiftLanguage | undefined;
}

export interface DeliverPdu extends DecodedUserData {
  /** '+…' for international numbers, digits for others, text for alphanumeric senders. */
  from: string;
  timestamp: Date;
  smsc?: string | undefined;
  flash: boolean;
}

export interface SubmitPdu extends DecodedUserData {
  to: string;
  messageReference: number;
  flash: boolean;
  replaceId?: number | undefined;
  statusReport: boolean;
  validityMinutes?: number | undefined;
}

export type ReportStateName = 'delivered' | 'undelivered' | 'expired' | 'rejected' | 'enroute' | 'unknown';

export interface StatusReportPdu {
  messageReference: number;
  recipient: string;
  /** Raw TP-ST. */
  status: number;
  state: ReportStateName;
  scTimestamp: Date;
  dischargeTime: Date;
}

export type DecodedPdu =
  | { type: 'deliver'; deliver: DeliverPdu }
  | { type: 'submit'; submit: SubmitPdu }
  | { type: 'status-report'; report: StatusReportPdu };

class Cursor {
  pos = 0;
  constructor(readonly b: Buffer) {}
  u8(): number {
    if (this.pos >= this.b.length) throw new Error('PDU too short');
    return this.b[this.pos++] as number;
  }
  take(n: number): Buffer {
    if (this.pos + n > this.b.length) throw new Error('PDU too short');
    const out = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}

function readAddress(c: Cursor): string {
  const digits = c.u8();
  const type = c.u8();
  const octets = c.take(Math.ceil(digits / 2));
  if ((type & 0x70) === 0x50) {
    // Alphanumeric (TON 101): GSM-7 packed; `digits` counts semi-octets.
    return fromSeptets(unpackSeptets(octets, Math.floor((digits * 4) / 7)));
  }
  const number = unbcd(octets, digits);
  return (type & 0x70) === 0x10 ? `+${number}` : number;
}

/** TP-SCTS / TP-DT: swapped-BCD YYMMDDhhmmss plus a quarter-hour time zone. */
function readTimestamp(c: Cursor): Date {
  const o = c.take(7);
  const v = (i: number) => {
    const b = o[i] as number;
    return (b & 0x0f) * 10 + ((b >> 4) & 0x0f);
  };
  const tzByte = o[6] as number;
  const tzQuarters = (tzByte & 0x07) * 10 + ((tzByte >> 4) & 0x0f);
  const tzMinutes = (tzByte & 0x08 ? -1 : 1) * tzQuarters * 15;
  // Two-digit years: 80–99 are the 1900s (old phones, old fixtures), the rest the 2000s.
  const year = v(0) >= 80 ? 1900 + v(0) : 2000 + v(0);
  const utc = Date.UTC(year, v(1) - 1, v(2), v(3), v(4), v(5));
  return new Date(utc - tzMinutes * 60_000);
}

function alphabetOf(dcs: number): TpduEncoding | 'binary' {
  if ((dcs & 0xf0) === 0xf0) return dcs & 0x04 ? 'binary' : 'gsm7';
  if ((dcs & 0xc0) === 0x00) {
    const a = (dcs >> 2) & 0x03;
    return a === 0 ? 'gsm7' : a === 2 ? 'ucs2' : 'binary';
  }
  return 'gsm7';
}

function isClass0(dcs: number): boolean {
  return ((dcs & 0xf0) === 0xf0 || ((dcs & 0xc0) === 0 && (dcs & 0x10) !== 0)) && (dcs & 0x03) === 0;
}

function readUserData(c: Cursor, dcs: number, udhi: boolean): DecodedUserData {
  const encoding = alphabetOf(dcs);
  const udl = c.u8();
  const rest = c.b.subarray(c.pos);
  let concat: Concat | undefined;
  let shiftTable: ShiftLanguage | undefined;
  let udhLen = 0;
  if (udhi && rest.length > 0) {
    udhLen = (rest[0] as number) + 1;
    const info = parseUdh(rest.subarray(1, udhLen));
    concat = info.concat;
    shiftTable = (Object.keys(SHIFT_TABLES) as ShiftLanguage[]).find(
      (l) => SHIFT_TABLES[l].id === info.singleShift,
    );
  }
  if (encoding === 'gsm7') {
    const udhBits = udhLen * 8;
    const fill = udhLen ? (7 - (udhBits % 7)) % 7 : 0;
    const skipSeptets = udhLen ? (udhBits + fill) / 7 : 0;
    const septets = unpackSeptets(rest.subarray(udhLen), udl - skipSeptets, fill);
    const text = shiftTable ? fromSeptetsShifted(septets, shiftTable) : fromSeptets(septets);
    return { text, encoding, concat, shiftTable };
  }
  const body = rest.subarray(udhLen, udl);
  if (encoding === 'ucs2') {
    const even = Buffer.from(body.subarray(0, body.length - (body.length % 2)));
    return { text: even.swap16().toString('utf16le'), encoding, concat };
  }
  return { text: body.toString('hex'), encoding, concat };
}

const TP_ST_STATE = (st: number): ReportStateName => {
  if (st <= 0x02) return 'delivered';
  if (st >= 0x20 && st <= 0x3f) return 'enroute';
  if (st === 0x46) return 'expired';
  if (st >= 0x40 && st <= 0x7f) return 'undelivered';
  return 'unknown';
};

/** Decodes a PDU as AT+CMGR/+CMT/+CDS or AT+CMGS show it (with the leading SMSC information). */
export function decodePdu(hex: string): DecodedPdu {
  const c = new Cursor(Buffer.from(hex.replace(/\s+/g, ''), 'hex'));
  const smscLen = c.u8();
  let smsc: string | undefined;
  if (smscLen > 0) {
    const type = c.u8();
    const n = unbcd(c.take(smscLen - 1), (smscLen - 1) * 2);
    smsc = (type & 0x70) === 0x10 ? `+${n}` : n;
  }
  const first = c.u8();
  const mti = first & 0x03;
  if (mti === 0x00) {
    const from = readAddress(c);
    c.u8(); // TP-PID
    const dcs = c.u8();
    const timestamp = readTimestamp(c);
    const ud = readUserData(c, dcs, (first & 0x40) !== 0);
    return { type: 'deliver', deliver: { ...ud, from, timestamp, smsc, flash: isClass0(dcs) } };
  }
  if (mti === 0x01) {
    const messageReference = c.u8();
    const to = readAddress(c);
    const pid = c.u8();
    const dcs = c.u8();
    const vpf = (first >> 3) & 0x03;
    let validityMinutes: number | undefined;
    if (vpf === 0x02) {
      const vp = c.u8();
      validityMinutes =
        vp <= 143
          ? (vp + 1) * 5
          : vp <= 167
            ? 720 + (vp - 143) * 30
            : vp <= 196
              ? (vp - 166) * 1440
              : (vp - 192) * 7 * 1440;
    } else if (vpf === 0x01 || vpf === 0x03) c.take(7);
    const ud = readUserData(c, dcs, (first & 0x40) !== 0);
    return {
      type: 'submit',
      submit: {
        ...ud,
        to,
        messageReference,
        flash: isClass0(dcs),
        replaceId: pid >= 0x41 && pid <= 0x47 ? pid - 0x40 : undefined,
        statusReport: (first & 0x20) !== 0,
        validityMinutes,
      },
    };
  }
  if (mti === 0x02) {
    const messageReference = c.u8();
    const recipient = readAddress(c);
    const scTimestamp = readTimestamp(c);
    const dischargeTime = readTimestamp(c);
    const status = c.u8();
    return {
      type: 'status-report',
      report: { messageReference, recipient, status, state: TP_ST_STATE(status), scTimestamp, dischargeTime },
    };
  }
  throw new Error(`unsupported TP-MTI ${mti}`);
}
