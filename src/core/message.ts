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

/**
 * The one state machine. Every store update that changes a message's status names the status
 * it moves to and takes the allowed sources from here (`fromStatuses`), in its WHERE clause:
 * a state never goes backwards, and a late or duplicate event matches no row and is not applied.
 *
 *   accept ─▶ queued | scheduled | rejected
 *   scheduled ─▶ sending | canceled | expired
 *   queued ─▶ sending | canceled | expired
 *   sending ─▶ sent | queued (retry, no channel, lease expired) | failed
 *   sent ─▶ delivered | partially_delivered | undelivered | expired (reports or validity)
 *
 * `sent` is final for a message that asked for no delivery report (its `final_at` is set when
 * it is sent): no report will come, so it neither waits for one nor expires.
 */
export const TRANSITIONS: Readonly<Record<MessageStatus, readonly MessageStatus[]>> = {
  scheduled: ['sending', 'canceled', 'expired'],
  queued: ['sending', 'canceled', 'expired'],
  sending: ['sent', 'queued', 'failed'],
  sent: ['delivered', 'partially_delivered', 'undelivered', 'expired'],
  delivered: [],
  partially_delivered: [],
  undelivered: [],
  expired: [],
  failed: [],
  rejected: [],
  canceled: [],
};

/** Final states: nothing changes a message after these (no way out in the table). */
export const FINAL_STATUSES: ReadonlySet<MessageStatus> = new Set(
  MESSAGE_STATUSES.filter((s) => TRANSITIONS[s].length === 0),
);

export function isFinal(status: MessageStatus): boolean {
  return FINAL_STATUSES.has(status);
}

/** Statuses a new message may start in. */
export const INITIAL_STATUSES: ReadonlySet<MessageStatus> = new Set(['queued', 'scheduled', 'rejected']);

export function canTransition(from: MessageStatus, to: MessageStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

const SOURCES = new Map<MessageStatus, MessageStatus[]>(
  MESSAGE_STATUSES.map((to) => [to, MESSAGE_STATUSES.filter((from) => canTransition(from, to))]),
);

/** The statuses a message may be in to move to `to` (the WHERE of every status update). */
export function fromStatuses(to: MessageStatus): MessageStatus[] {
  return SOURCES.get(to) ?? [];
}

/**
 * What a channel event may do to a message. A submit's outcome applies only to the row the
 * submitting node still holds (`sending` under its lease); a delivery report only to a `sent`
 * message, part by part; the message's final status is decided once every part is final.
 */
export type ChannelEventKind = 'submitted' | 'submit_failed' | 'retry' | 'release' | 'report';
export const EVENT_MOVES: Readonly<Record<ChannelEventKind, readonly MessageStatus[]>> = {
  submitted: ['sent'],
  submit_failed: ['failed'],
  retry: ['queued'],
  release: ['queued'],
  report: ['delivered', 'partially_delivered', 'undelivered', 'expired'],
};

/** Part statuses that are final: a later report for the part is recorded, not applied. */
export const PART_FINAL: ReadonlySet<string> = new Set(['delivered', 'undelivered', 'expired', 'rejected']);

/** The message's final status once every part is final. */
export function finalStatusOf(partStatuses: readonly string[]): MessageStatus {
  const delivered = partStatuses.filter((s) => s === 'delivered').length;
  if (delivered === partStatuses.length) return 'delivered';
  if (delivered > 0) return 'partially_delivered';
  if (partStatuses.every((s) => s === 'expired')) return 'expired';
  return 'undelivered';
}

/** Statuses from which a user may still cancel. */
export const CANCELABLE_STATUSES: ReadonlySet<MessageStatus> = new Set(fromStatuses('canceled'));

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
