/** The state machine, table-driven: every pair of statuses, allowed or not, as written down. */
import { describe, expect, it } from 'vitest';
import type { MessageStatus } from '../../src/core/message.js';
import {
  CANCELABLE_STATUSES,
  FINAL_STATUSES,
  MESSAGE_STATUSES,
  canTransition,
  finalStatusOf,
  fromStatuses,
} from '../../src/core/message.js';

/** Every allowed move, written out independently of the table in core. */
const ALLOWED: [MessageStatus, MessageStatus][] = [
  ['scheduled', 'sending'],
  ['scheduled', 'canceled'],
  ['scheduled', 'expired'],
  ['queued', 'sending'],
  ['queued', 'canceled'],
  ['queued', 'expired'],
  ['sending', 'sent'],
  ['sending', 'queued'],
  ['sending', 'failed'],
  ['sent', 'delivered'],
  ['sent', 'partially_delivered'],
  ['sent', 'undelivered'],
  ['sent', 'expired'],
];

describe('message state machine', () => {
  for (const from of MESSAGE_STATUSES) {
    for (const to of MESSAGE_STATUSES) {
      const allowed = ALLOWED.some(([f, t]) => f === from && t === to);
      it(`${from} → ${to}: ${allowed ? 'allowed' : 'refused'}`, () => {
        expect(canTransition(from, to)).toBe(allowed);
        expect(fromStatuses(to).includes(from)).toBe(allowed);
      });
    }
  }

  it('never goes backwards: nothing leaves a final status, nothing returns to sent', () => {
    for (const s of FINAL_STATUSES) expect(MESSAGE_STATUSES.filter((t) => canTransition(s, t))).toEqual([]);
    expect(fromStatuses('sent')).toEqual(['sending']);
    expect([...FINAL_STATUSES].sort()).toEqual(
      ['canceled', 'delivered', 'expired', 'failed', 'partially_delivered', 'rejected', 'undelivered'].sort(),
    );
  });

  it('cancels only what has not left', () => {
    expect([...CANCELABLE_STATUSES].sort()).toEqual(['queued', 'scheduled']);
  });

  it('derives a multipart message status from its parts', () => {
    expect(finalStatusOf(['delivered', 'delivered'])).toBe('delivered');
    expect(finalStatusOf(['delivered', 'undelivered'])).toBe('partially_delivered');
    expect(finalStatusOf(['expired', 'expired'])).toBe('expired');
    expect(finalStatusOf(['expired', 'undelivered'])).toBe('undelivered');
  });
});
