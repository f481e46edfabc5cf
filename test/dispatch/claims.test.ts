/**
 * The dispatcher claims (a write transaction) only when something can be claimed: work poked in,
 * a retry or release it wrote coming due, or a due message its read-only look found. Before,
 * every sequentially sent message cost two claims that found nothing (one when its send ended,
 * one at the next 250 ms poll), and an idle node wrote four a second.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../support/app.js';
import { eventually, startTestApp } from '../support/app.js';

describe('dispatcher claims', () => {
  let t: TestApp;
  /** Rows taken by each claim of its own (a transaction), and by each claim in an accept's. */
  const claims: number[] = [];
  const inAccept: number[] = [];
  let looks = 0;
  let failNext = false;

  beforeAll(async () => {
    t = await startTestApp({ SMSGW_SIMULATOR: 'false' });
    const messages = t.app.store.messages;
    const claim = messages.claim.bind(messages);
    const claimIn = messages.claimIn.bind(messages);
    let own = false;
    messages.claim = async (...args) => {
      own = true;
      try {
        const rows = await claim(...args);
        claims.push(rows.length);
        return rows;
      } finally {
        own = false;
      }
    };
    messages.claimIn = async (...args) => {
      const rows = await claimIn(...args);
      if (failNext && !own) {
        failNext = false;
        throw new Error('claim failed in the accepting transaction');
      }
      if (!own) inAccept.push(rows.length);
      return rows;
    };
    const nextDueIn = messages.nextDueIn.bind(messages);
    messages.nextDueIn = (...args) => {
      looks++;
      return nextDueIn(...args);
    };
    const ch = await t.call('POST', '/v1/channels', {
      body: { name: 'quick', type: 'simulator', config: { latencyMs: 1, receipts: false } },
    });
    expect(ch.status).toBe(201);
  });
  afterAll(() => t.stop());

  async function sent(id: string) {
    return eventually(async () => {
      const r = await t.call('GET', `/v1/messages/${id}`);
      return r.body.final ? r.body : undefined;
    });
  }

  it('sends messages one after another, each claimed in the transaction that accepts it', async () => {
    // Whatever the start left to claim is claimed (or found absent) by now.
    await new Promise((r) => setTimeout(r, 300));
    claims.length = 0;
    inAccept.length = 0;
    for (let i = 0; i < 3; i++) {
      const r = await t.call('POST', '/v1/messages', {
        body: { to: `+1555555013${i}`, text: 'one at a time', delivery_report: false },
      });
      expect(r.status).toBe(202);
      expect(await sent(r.body.messages[0].id)).toMatchObject({ status: 'sent' });
    }
    // Longer than four of the old 250 ms polls: none of them may claim.
    await new Promise((r) => setTimeout(r, 1200));
    expect(inAccept).toEqual([1, 1, 1]);
    // No claim of its own: one commit (one fsync) stored and claimed each message.
    expect(claims).toEqual([]);
  });

  it('sends a scheduled message when it is due, found by a read, not by claims', async () => {
    claims.length = 0;
    looks = 0;
    const sendAt = new Date(Date.now() + 1500).toISOString();
    const r = await t.call('POST', '/v1/messages', {
      body: { to: '+15555550140', text: 'later', delivery_report: false, send_at: sendAt },
    });
    expect(r.status).toBe(202);
    const done = await sent(r.body.messages[0].id);
    expect(done).toMatchObject({ status: 'sent' });
    expect(Date.parse(done.sent_at)).toBeGreaterThanOrEqual(Date.parse(sendAt));
    // The poke at accept finds nothing due (one empty claim); a look finds when, then one claim.
    expect(claims.filter((n) => n === 0).length).toBeLessThanOrEqual(1);
    expect(claims.filter((n) => n > 0)).toEqual([1]);
    expect(looks).toBeGreaterThan(0);
  });

  it('an accept whose claim failed commits without it, and its message goes out by the loop', async () => {
    await new Promise((r) => setTimeout(r, 300));
    claims.length = 0;
    failNext = true;
    const r = await t.call('POST', '/v1/messages', {
      body: { to: '+15555550150', text: 'after a failed claim', delivery_report: false },
    });
    expect(r.status).toBe(202);
    expect(failNext).toBe(false);
    expect(await sent(r.body.messages[0].id)).toMatchObject({ status: 'sent' });
    // The failed claim was undone alone (its savepoint), then the loop claimed the message.
    expect(claims).toContain(1);
    // The dispatcher is not left believing a claim is under way: the next ones go out too.
    const next = await t.call('POST', '/v1/messages', {
      body: { to: '+15555550151', text: 'and the next', delivery_report: false },
    });
    expect(await sent(next.body.messages[0].id)).toMatchObject({ status: 'sent' });
  });
});
