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

/** Messages waiting to leave (the queue): scheduled ones are not due yet. */
export const WAITING_STATUSES = ['queued', 'scheduled', 'sending'] as const;

/** How operators read statuses: on the way, delivered, failed, or withdrawn. */
export type StatusGroup = 'pending' | 'delivered' | 'failed' | 'canceled';
export const STATUS_GROUP: Readonly<Record<MessageStatus, StatusGroup>> = {
  scheduled: 'pending',
  queued: 'pending',
  sending: 'pending',
  sent: 'pending',
  delivered: 'delivered',
  partially_delivered: 'delivered',
  undelivered: 'failed',
  expired: 'failed',
  failed: 'failed',
  rejected: 'failed',
  canceled: 'canceled',
};
