/**
 * Kannel delivery reports (`dlr-url`, `dlr-mask` of `/cgi-bin/sendsms`): which Kannel DLR type a
 * status change is, and the callback URL with Kannel's `%`-placeholders filled. Pure.
 *
 * Kannel's types are bits of `dlr-mask`: 1 delivered to the phone, 2 not delivered to the phone,
 * 4 buffered (queued, will be tried again), 8 accepted by the SMSC, 16 rejected by the SMSC (or
 * never handed to one). A message asks for several by adding them up (31 = all).
 */
import { formatReceiptText } from '../codec/smpp-frames.js';

export const DLR_DELIVERED = 1;
export const DLR_UNDELIVERED = 2;
export const DLR_BUFFERED = 4;
export const DLR_SMSC_ACK = 8;
export const DLR_SMSC_NACK = 16;

/** One status event of a message, as the fan-out reads it. */
export interface DlrStatusEvent {
  status: string;
  /** The event's channel: set on the events of a submit attempt, null on accept and sweeps. */
  channelId: string | null;
  /** When the message was sent, if ever (decides whether an expiry was before or after the SMSC). */
  sentAt: number | null;
}

/**
 * The Kannel DLR type of a status event, or undefined when Kannel would send none for it (a
 * message's first `queued`, `sending`, a lease that ran out). `queued` after a submit attempt is
 * a retry: Kannel's "buffered". A message that ends without ever reaching an SMSC (failed,
 * rejected, canceled, expired in the queue) is 16, as Kannel reports a message its bearerbox
 * could not hand over; one that expired after `sent` is 2, as an SMSC's EXPIRED receipt.
 */
export function kannelDlrType(e: DlrStatusEvent): number | undefined {
  switch (e.status) {
    case 'sent':
      return DLR_SMSC_ACK;
    case 'delivered':
      return DLR_DELIVERED;
    case 'undelivered':
    case 'partially_delivered':
      return DLR_UNDELIVERED;
    case 'expired':
      return e.sentAt !== null ? DLR_UNDELIVERED : DLR_SMSC_NACK;
    case 'failed':
    case 'rejected':
    case 'canceled':
      return DLR_SMSC_NACK;
    case 'queued':
      return e.channelId !== null ? DLR_BUFFERED : undefined;
    default:
      return undefined;
  }
}

/** Whether a message with this mask wants a callback of this type. */
export function wantsDlr(mask: number | null | undefined, type: number | undefined): type is number {
  return type !== undefined && mask !== null && mask !== undefined && (mask & type) !== 0;
}

const RECEIPT_STAT: Record<string, string> = {
  delivered: 'DELIVRD',
  expired: 'EXPIRED',
  undelivered: 'UNDELIV',
  partially_delivered: 'UNDELIV',
};

/** What Kannel puts in `%A` (the SMSC's answer): `ACK/<id>`, `NACK/<code>/<reason>`, or the receipt text. */
export function kannelAnswer(type: number, m: DlrMessage): string {
  if (type === DLR_SMSC_ACK) return `ACK/${m.remoteId ?? ''}`;
  if (type === DLR_SMSC_NACK) return `NACK/${m.errorCode ?? ''}/${m.detail ?? ''}`;
  if (type === DLR_BUFFERED) return m.detail ?? '';
  return formatReceiptText({
    id: m.remoteId ?? m.messageId,
    stat: RECEIPT_STAT[m.status] ?? 'UNDELIV',
    // The same err as the SMPP face's receipts; the error code itself is in %B.
    err: m.status === 'delivered' ? '000' : '001',
    submitted: new Date(m.sentAt ?? m.createdAt),
    done: new Date(m.at),
    text: m.text,
  });
}

/** Everything a callback can name, for one event of one message. */
export interface DlrMessage {
  messageId: string;
  status: string;
  to: string;
  from: string | null;
  text: string;
  /** gsm7 / ucs2 / binary. */
  encoding: string;
  flash: boolean;
  /** The event's time (epoch ms). */
  at: number;
  createdAt: number;
  sentAt: number | null;
  /** The channel's name (Kannel's smsc-id). */
  smscId: string | null;
  /** The SMSC's id of the first part (Kannel's foreign id). */
  remoteId: string | null;
  errorCode: string | null;
  detail: string | null;
  /** The sender's login (Kannel's sendsms-user name). */
  login: string | null;
  dlrUrl: string;
  dlrMask: number;
}

/** Kannel's URL encoding: letters, digits and `-_.!~*'()` stay, a space is `+`, the rest `%XX`. */
export function kannelEncode(s: string): string {
  return encodeURIComponent(s).replace(/%20/g, '+');
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/**
 * The callback URL: Kannel's placeholders filled and URL-encoded as Kannel does
 * (`urltrans_fill_escape_codes`). Codes that name something smsgw does not keep (meta-data,
 * UDH, billing, account, validity) become empty; `%%` is `%`; a `%` followed by anything that
 * is no code stays as written, as in Kannel, so percent-encoded bytes in the pattern survive.
 */
export function fillDlrUrl(pattern: string, type: number, m: DlrMessage): string {
  const answer = kannelAnswer(type, m);
  const words = answer.split(/\s+/).filter((w) => w !== '');
  const coding = m.encoding === 'ucs2' ? 2 : m.encoding === 'binary' ? 1 : 0;
  const at = new Date(m.at);
  const intl = (n: string) => (n.startsWith('00') ? `%2B${kannelEncode(n.slice(2))}` : kannelEncode(n));
  let nextWord = 1;
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c !== '%' || i + 1 >= pattern.length) {
      out += c;
      continue;
    }
    const code = pattern[++i] as string;
    switch (code) {
      case 'd':
        out += String(type);
        break;
      case 'A':
      case 'b':
        out += kannelEncode(answer);
        break;
      case 'a':
        out += words.map(kannelEncode).join('+');
        break;
      case 'k':
        out += words[0] === undefined ? '' : kannelEncode(words[0]);
        break;
      case 's':
        if (nextWord < words.length) out += kannelEncode(words[nextWord++] as string);
        break;
      case 'S':
        if (nextWord < words.length) out += (words[nextWord++] as string).replace(/\*/g, '~');
        break;
      case 'r':
        out += words.slice(nextWord).map(kannelEncode).join('+');
        nextWord = words.length;
        break;
      case 'p':
        out += kannelEncode(m.to);
        break;
      case 'P':
        out += kannelEncode(m.from ?? '');
        break;
      case 'q':
        out += intl(m.to);
        break;
      case 'Q':
        out += intl(m.from ?? '');
        break;
      case 't':
        // Kannel writes the space as `+` unencoded: receivers decode it to "YYYY-MM-DD HH:MM:SS".
        out += `${at.getUTCFullYear()}-${pad(at.getUTCMonth() + 1)}-${pad(at.getUTCDate())}+${pad(at.getUTCHours())}:${pad(at.getUTCMinutes())}:${pad(at.getUTCSeconds())}`;
        break;
      case 'T':
        out += String(Math.floor(m.at / 1000));
        break;
      case 'i':
        out += kannelEncode(m.smscId ?? '');
        break;
      case 'I':
        out += kannelEncode(m.messageId);
        break;
      case 'F':
        out += kannelEncode(m.remoteId ?? '');
        break;
      case 'n':
        out += kannelEncode(m.login ?? '');
        break;
      case 'c':
        out += String(coding);
        break;
      case 'C':
        out += coding === 2 ? 'UTF-16BE' : coding === 1 ? '8-BIT' : 'UTF-8';
        break;
      case 'm':
        out += m.flash ? '0' : '-1';
        break;
      case 'R':
        out += kannelEncode(m.dlrUrl);
        break;
      case 'B':
        out += kannelEncode(m.errorCode ?? '');
        break;
      case 'O':
        out += pad((m.flash ? 0x10 : 0) | (coding === 2 ? 0x08 : coding === 1 ? 0x04 : 0));
        break;
      case 'D':
      case 'u':
      case 'o':
      case 'f':
      case 'v':
      case 'V':
      case 'M':
        break;
      case '#': {
        // %#group#param#: meta-data, which smsgw does not keep; the whole code is dropped.
        const first = pattern.indexOf('#', i + 1);
        const second = first < 0 ? -1 : pattern.indexOf('#', first + 1);
        if (second >= 0) i = second;
        break;
      }
      case '%':
        out += '%';
        break;
      default:
        out += `%${code}`;
    }
  }
  return out;
}
