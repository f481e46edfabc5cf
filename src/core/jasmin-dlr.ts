/**
 * Jasmin delivery reports (`dlr-url`, `dlr-level`, `dlr-method` of Jasmin's `/send`): which
 * events a level asks for, and the parameters of one callback. Pure.
 *
 * Jasmin's levels: 1 the SMSC's answer to the submit (`message_status` ESME_ROK or the SMPP
 * error's name), 2 the handset's receipt (`message_status` DELIVRD, UNDELIV, EXPIRED ... with
 * `id_smsc`, `sub`, `dlvrd`, `subdate`, `donedate`, `err`, `text` from the receipt), 3 both. A
 * level is kept as the matching Kannel DLR types in `dlr_mask` (core/kannel-dlr.ts), so one
 * fan-out decides for both faces which event is called.
 */
import type { DlrMessage } from './kannel-dlr.js';
import { DLR_DELIVERED, DLR_SMSC_ACK, DLR_SMSC_NACK, DLR_UNDELIVERED } from './kannel-dlr.js';

export type JasminLevel = 1 | 2 | 3;
export type JasminMethod = 'GET' | 'POST';

const SMSC = DLR_SMSC_ACK | DLR_SMSC_NACK;
const TERMINAL = DLR_DELIVERED | DLR_UNDELIVERED;

/** The DLR types a Jasmin level asks for. */
export function jasminMask(level: JasminLevel): number {
  return (level & 1 ? SMSC : 0) | (level & 2 ? TERMINAL : 0);
}

/** `jasmin-get` / `jasmin-post`: the value of messages.dlr_format. */
export function jasminFormat(method: JasminMethod): 'jasmin-get' | 'jasmin-post' {
  return method === 'GET' ? 'jasmin-get' : 'jasmin-post';
}

export function isJasminFormat(format: string | null | undefined): boolean {
  return format === 'jasmin-get' || format === 'jasmin-post';
}

/** What a Jasmin receiver answers to acknowledge a callback; anything else is retried. */
export const JASMIN_ACK = 'ACK/Jasmin';

const STAT: Record<string, string> = {
  delivered: 'DELIVRD',
  expired: 'EXPIRED',
  undelivered: 'UNDELIV',
  partially_delivered: 'UNDELIV',
  rejected: 'REJECTD',
};

/** `YYMMDDhhmm`, as the receipt's dates (UTC). */
const receiptDate = (ms: number) => new Date(ms).toISOString().replace(/[-T:]/g, '').slice(2, 12);

/**
 * The callback's parameters for one event of a Jasmin DLR type, in Jasmin's order; undefined
 * for types Jasmin has no callback for (buffered). `level` is 1 for the SMSC's answer and the
 * requested level (2 or 3) for a receipt, as Jasmin sends them.
 */
export function jasminDlrParams(type: number, mask: number, m: DlrMessage): [string, string][] | undefined {
  if (type === DLR_SMSC_ACK || type === DLR_SMSC_NACK) {
    const status =
      type === DLR_SMSC_ACK
        ? 'ESME_ROK'
        : m.errorCode && /^ESME_R[A-Z0-9]+$/.test(m.errorCode)
          ? m.errorCode
          : 'ESME_RSUBMITFAIL';
    return [
      ['id', m.messageId],
      ['message_status', status],
      ['level', '1'],
    ];
  }
  if (type !== DLR_DELIVERED && type !== DLR_UNDELIVERED) return undefined;
  const delivered = type === DLR_DELIVERED;
  return [
    ['id', m.messageId],
    ['message_status', STAT[m.status] ?? 'UNDELIV'],
    ['level', (mask & SMSC) !== 0 ? '3' : '2'],
    ['id_smsc', m.remoteId ?? ''],
    ['sub', '001'],
    ['dlvrd', delivered ? '001' : '000'],
    ['subdate', receiptDate(m.sentAt ?? m.createdAt)],
    ['donedate', receiptDate(m.at)],
    ['err', delivered ? '000' : '001'],
    ['text', m.text.slice(0, 20)],
  ];
}

/** How the outbox sends a callback (kind `dlr`, this as its payload; an empty payload is a plain GET). */
export interface DlrRequest {
  method: JasminMethod;
  /** A form body (application/x-www-form-urlencoded) for POST. */
  form?: string;
  /** The receiver's answer that acknowledges the callback; any other is retried. */
  ack?: string;
}

/** The URL and outbox payload of a Jasmin callback: the parameters in the query (GET) or a form (POST). */
export function jasminDlrRequest(
  url: string,
  method: JasminMethod,
  params: [string, string][],
): { url: string; payload: string } {
  const encoded = new URLSearchParams(params).toString();
  if (method === 'GET') {
    const full = url + (url.includes('?') ? '&' : '?') + encoded;
    return { url: full, payload: JSON.stringify({ method: 'GET', ack: JASMIN_ACK } satisfies DlrRequest) };
  }
  return {
    url,
    payload: JSON.stringify({ method: 'POST', form: encoded, ack: JASMIN_ACK } satisfies DlrRequest),
  };
}
