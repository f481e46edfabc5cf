/** Message domain: statuses and the transitions allowed between them. Pure. */

export type Encoding = 'gsm7' | 'ucs2' | 'binary';

export const MESSAGE_STATUSES = [
  'scheduled',
  'queued',
  'sending',
  'sent',
  'delivered',
  'partially_delivered',
  'undelivered',
  'expired',
  'failed',
  'rejected',
  'canceled',
] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

/** Final states: nothing changes a message after these. */
export const FINAL_STATUSES: ReadonlySet<MessageStatus> = new Set([
  'delivered',
  'partially_delivered',
  'undelivered',
  'expired',
  'failed',
  'rejected',
  'canceled',
]);

/** Statuses from which a user may still cancel. */
export const CANCELABLE_STATUSES: ReadonlySet<MessageStatus> = new Set(['scheduled', 'queued']);

export function isFinal(status: MessageStatus): boolean {
  return FINAL_STATUSES.has(status);
}
