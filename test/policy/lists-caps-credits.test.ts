/**
 * The sending policy's lists, frequency caps and credits at the store, on SQLite and PostgreSQL:
 * each rule runs in the accepting transaction (store/messages.ts acceptBatch).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../../src/store/db.js';
import { openDb } from '../../src/store/db.js';
import type { Store } from '../../src/store/index.js';
import { createStore } from '../../src/store/index.js';
import type { NewMessage } from '../../src/store/schema.js';
import { TEST_DBS } from '../support/db.js';
import { message } from '../support/messages.js';

const TO = '+4915112345678';

describe.each(TEST_DBS)('sending policy: lists, caps, credits ($name)', (testDb) => {
  let db: Db;
  let url: string | undefined;
  let store: Store;
  let cleanup: () => Promise<void>;
  let alice: string;
  let bob: string;

  beforeEach(async () => {
    const opened = await testDb.open();
    db = opened.db;
    url = opened.url;
    cleanup = opened.cleanup;
    store = createStore(db);
    alice = (await store.users.create({ login: 'alice', passwordHash: 'x', role: 'user' })).id;
    bob = (await store.users.create({ login: 'bob', passwordHash: 'x', role: 'user' })).id;
  });
  afterEach(async () => cleanup());

  /** Accepts one request of the rows; returns the refusal code per row (undefined = accepted). */
  async function send(s: Store, rows: NewMessage[], category?: string): Promise<(string | undefined)[]> {
    const [r] = await s.messages.acceptBatch([{ messages: rows, policy: { category } }]);
    if (r?.kind !== 'accepted') throw new Error('not accepted');
    return rows.map((m) => r.refused.get(m.id)?.code);
  }

  it('refuses user- and global-blacklisted numbers, per owner', async () => {
    await store.policy.addToList('black', alice, [{ number: '+4915100000001', reason: 'asked' }], 'api', 10);
    await store.policy.addToList('black', '', [{ number: '+4915100000002', reason: 'fraud' }], 'api', 10);
    const a = [1, 2, 3].map((i) => message(alice, { to: `+491510000000${i}` }));
    expect(await send(store, a)).toEqual(['blacklisted', 'blacklisted', undefined]);
    // Alice's list is hers: Bob may send to her blacklisted number, not to the global one.
    const b = [1, 2].map((i) => message(bob, { to: `+491510000000${i}` }));
    expect(await send(store, b)).toEqual([undefined, 'blacklisted']);
    const stored = await store.messages.byId(a[0]!.id);
    expect(stored).toMatchObject({ status: 'rejected', error_code: 'blacklisted' });
  });

  it('caps per recipient, exempts the whitelist, and keeps categories apart', async () => {
    await store.policy.replaceCaps('', [
      { category: '', period: 'hour', max_count: 2 },
      { category: '', period: 'day', max_count: 3 },
    ]);
    await store.policy.replaceCaps(alice, [{ category: 'verification', period: 'minute', max_count: 1 }]);
    // Global caps: 2 per hour to one number.
    const r1 = await send(
      store,
      [1, 2, 3].map(() => message(bob, { to: TO })).map((m, i) => ({ ...m, to: i < 3 ? TO : TO })),
    );
    expect(r1).toEqual([undefined, undefined, 'frequency_limited']);
    // A refused message gave its place back: the day cap (3) still has one left, the hour none.
    expect(await send(store, [message(bob, { to: TO })])).toEqual(['frequency_limited']);
    // Whitelisted numbers are exempt.
    await store.policy.addToList('white', bob, [{ number: TO, reason: null }], 'api', 50);
    expect(
      await send(
        store,
        [1, 2, 3].map(() => message(bob, { to: TO })),
      ),
    ).toEqual([undefined, undefined, undefined]);
    // Alice's verification codes: her own cap of 1 per minute, not the global one.
    expect(
      await send(store, [message(alice, { to: TO }), message(alice, { to: TO })], 'verification'),
    ).toEqual([undefined, 'frequency_limited']);
    // Her other messages fall back to the global defaults (2 per hour).
    expect(
      await send(
        store,
        [1, 2, 3].map(() => message(alice, { to: TO })),
      ),
    ).toEqual([undefined, undefined, 'frequency_limited']);
  });

  it('20 concurrent sends to one recipient under a cap of 5 per hour: exactly 5 accepted (two nodes)', async () => {
    await store.policy.replaceCaps(alice, [{ category: '', period: 'hour', max_count: 5 }]);
    // A second connection pool to the same database: another node (SQLite: another connection).
    const other = url ? await openDb({ databaseUrl: url, poolSize: 4 }) : undefined;
    const stores = [store, other ? createStore(other) : store];
    try {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => send(stores[i % 2]!, [message(alice, { to: TO })])),
      );
      const codes = results.map((r) => r[0]);
      expect(codes.filter((c) => c === undefined)).toHaveLength(5);
      expect(codes.filter((c) => c === 'frequency_limited')).toHaveLength(15);
      const queued = await store.messages.list({ ownerId: alice, status: ['queued'], limit: 100 });
      expect(queued).toHaveLength(5);
    } finally {
      await other?.close();
    }
  });

  it('charges per segment at the longest prefix; a batch that runs out is refused from there; the ledger adds up', async () => {
    await store.policy.setPrice('', 'any', 10);
    await store.policy.setPrice('49', 'any', 7);
    await store.policy.setPrice('4915', 'gsm7', 5);
    await store.policy.setPrice('4915', 'ucs2', 9);
    await store.policy.credit(alice, 30, 'first top-up', true);
    const rows = [
      message(alice, { to: '+4915100000001', segments: 2 }), // 2 × 5 = 10 → 20 left
      message(alice, { to: '+4930100000001', encoding: 'ucs2' }), // 7 → 13 left
      message(alice, { to: '+4915100000002', encoding: 'ucs2' }), // 9 → 4 left
      message(alice, { to: '+33612345678' }), // 10: refused
      message(alice, { to: '+4915100000003' }), // 5: refused
    ];
    expect(await send(store, rows)).toEqual([
      undefined,
      undefined,
      undefined,
      'insufficient_balance',
      'insufficient_balance',
    ]);
    const account = await store.policy.account(alice);
    expect(Number(account.balance)).toBe(4);
    // One ledger row for the batch's charges (migration 025); each message's charge on its row (027).
    const ledger = await store.policy.ledger(alice, 100);
    expect(ledger.map((l) => [l.kind, Number(l.amount)])).toEqual([
      ['charge', -26],
      ['topup', 30],
    ]);
    expect(ledger.reduce((s, l) => s + Number(l.amount), 0)).toBe(4);
    expect(Number(ledger[0]!.balance_after)).toBe(4);
    expect(ledger[0]!.note).toBe('3 message(s), 4 segment(s)');
    const charged = await db.kysely
      .selectFrom('messages')
      .select(['id as message_id', 'charge as amount'])
      .where(
        'id',
        'in',
        rows.map((r) => r.id),
      )
      .where('charge', 'is not', null)
      .execute();
    expect(new Map(charged.map((c) => [c.message_id, Number(c.amount)]))).toEqual(
      new Map([
        [rows[0]!.id, -10],
        [rows[1]!.id, -7],
        [rows[2]!.id, -9],
      ]),
    );
    // Bob is unlimited (the default): not charged, no ledger.
    expect(await send(store, [message(bob, { to: '+33612345678' })])).toEqual([undefined]);
    expect(await store.policy.ledger(bob, 10)).toEqual([]);
  });

  it('a message refused for its balance takes no place under a frequency cap', async () => {
    await store.policy.replaceCaps(alice, [{ category: '', period: 'hour', max_count: 1 }]);
    await store.policy.setPrice('', 'any', 5);
    await store.policy.credit(alice, 0, null, true);
    expect(await send(store, [message(alice, { to: TO })])).toEqual(['insufficient_balance']);
    await store.policy.credit(alice, 5, null);
    expect(await send(store, [message(alice, { to: TO })])).toEqual([undefined]);
    expect(await send(store, [message(alice, { to: TO })])).toEqual(['frequency_limited']);
  });

  it('refunds a message that fails before leaving, once; a sent one keeps its charge', async () => {
    await store.policy.setPrice('', 'any', 3);
    await store.policy.credit(alice, 10, null, true);
    const [a, b] = [message(alice, { to: '+4915100000001' }), message(alice, { to: '+4915100000002' })];
    expect(await send(store, [a!, b!])).toEqual([undefined, undefined]);
    expect(Number((await store.policy.account(alice)).balance)).toBe(4);
    const claimed = await store.messages.claim('tok', 10, Date.now(), 60_000);
    expect(claimed).toHaveLength(2);
    const now = Date.now();
    const base = { ownerId: alice, lease: 'tok', channelId: null, startedAt: now, at: now };
    await store.outcomes.apply([
      { kind: 'failed', id: a!.id, errorCode: 'unknown_subscriber', error: 'no such number', ...base },
      {
        kind: 'sent',
        id: b!.id,
        ownerId: alice,
        lease: 'tok',
        channelId: 'ch',
        remoteIds: [],
        countUnits: 0,
        awaitsReport: false,
        startedAt: now,
        at: now,
      },
    ]);
    // The failed one is refunded (3), the sent one is not; a second failure outcome changes nothing.
    expect(Number((await store.policy.account(alice)).balance)).toBe(7);
    await store.outcomes.apply([
      { kind: 'failed', id: a!.id, errorCode: 'network_error', error: 'x', ...base },
    ]);
    const ledger = await store.policy.ledger(alice, 10);
    expect(ledger.filter((l) => l.kind === 'refund')).toHaveLength(1);
    expect(ledger.reduce((s, l) => s + Number(l.amount), 0)).toBe(7);
    // Canceling a queued message refunds it too.
    const c = message(alice, { to: '+4915100000003' });
    await send(store, [c]);
    expect(Number((await store.policy.account(alice)).balance)).toBe(4);
    await store.messages.cancel(c.id, alice, 'test');
    expect(Number((await store.policy.account(alice)).balance)).toBe(7);
    // And one replaced before it left (SMPP replace_if_present).
    const old = message(alice, { to: '+4915100000004', smpp_service_type: 'OTP' });
    const newer = message(alice, { to: '+4915100000004', smpp_service_type: 'OTP' });
    await send(store, [old]);
    await send(store, [newer]);
    expect(Number((await store.policy.account(alice)).balance)).toBe(1);
    const match = { ownerId: alice, to: '+4915100000004', from: null, serviceType: 'OTP' };
    expect(await store.messages.cancelReplaced(newer.id, match)).toEqual([old.id]);
    expect(Number((await store.policy.account(alice)).balance)).toBe(4);
  });

  it('keeps the charge of a message whose submit may have left (no answer): only definite failures are refunded', async () => {
    await store.policy.setPrice('', 'any', 3);
    await store.policy.credit(alice, 12, null, true);
    const [a, b, c, d] = [1, 2, 3, 4].map((i) => message(alice, { to: `+491510000001${i}` }));
    expect(await send(store, [a!, b!, c!, d!])).toEqual([undefined, undefined, undefined, undefined]);
    expect(Number((await store.policy.account(alice)).balance)).toBe(0);
    expect(await store.messages.claim('t1', 10, Date.now(), 60_000)).toHaveLength(4);
    const now = Date.now();
    const base = { ownerId: alice, lease: 't1', channelId: 'ch', startedAt: now, at: now };
    await store.outcomes.apply([
      // Sent, no answer, no more tries: the SMSC may have delivered it.
      {
        kind: 'failed',
        id: a!.id,
        errorCode: 'channel_timeout',
        error: 'no answer',
        outcomeUnknown: true,
        ...base,
      },
      // The network refused it: it never left.
      { kind: 'failed', id: b!.id, errorCode: 'rejected_by_network', error: 'refused', ...base },
      // No answer, tried again later: whatever happens next, this try may have left.
      {
        kind: 'retry',
        id: c!.id,
        nextAt: now,
        errorCode: 'channel_timeout',
        error: 'no answer',
        outcomeUnknown: true,
        ...base,
      },
      {
        kind: 'retry',
        id: d!.id,
        nextAt: now,
        errorCode: 'channel_timeout',
        error: 'no answer',
        outcomeUnknown: true,
        ...base,
      },
    ]);
    expect(await store.messages.byId(a!.id)).toMatchObject({ status: 'failed', outcome_unknown: 1 });
    expect((await store.messages.byId(b!.id))?.outcome_unknown ?? null).toBeNull();
    // Only b (definitely not sent) is refunded.
    expect(Number((await store.policy.account(alice)).balance)).toBe(3);
    // c fails definitely on its next try, d is canceled while it waits: both may have left on
    // their first try, so both keep their charge.
    expect(await store.messages.claim('t2', 10, Date.now() + 1, 60_000)).toHaveLength(2);
    await store.outcomes.apply([
      { kind: 'failed', id: c!.id, errorCode: 'rejected_by_network', error: 'refused', ...base, lease: 't2' },
      { kind: 'release', id: d!.id, lease: 't2', nextAt: now, reason: 'test', at: now },
    ]);
    await store.messages.cancel(d!.id, alice, 'test');
    expect(await store.messages.byId(d!.id)).toMatchObject({ status: 'canceled', outcome_unknown: 1 });
    expect(Number((await store.policy.account(alice)).balance)).toBe(3);
    const ledger = await store.policy.ledger(alice, 20);
    expect(ledger.filter((l) => l.kind === 'refund').map((l) => l.message_id)).toEqual([b!.id]);
  });

  it('keeps the charge of a message whose node died while sending it (lease ran out): it may have left', async () => {
    await store.policy.setPrice('', 'any', 3);
    await store.policy.credit(alice, 6, null, true);
    const [a, b] = [1, 2].map((i) => message(alice, { to: `+491510000002${i}` }));
    expect(await send(store, [a!])).toEqual([undefined]);
    expect(await store.messages.claim('dead-node', 10, Date.now(), 60_000)).toHaveLength(1);
    expect(await send(store, [b!])).toEqual([undefined]);
    // The node that claimed `a` died mid-submit; a restart takes its lease back.
    expect(await store.messages.recoverLeases(true)).toBe(1);
    expect(await store.messages.byId(a!.id)).toMatchObject({ status: 'queued', outcome_unknown: 1 });
    // Canceled now, `a` keeps its charge; `b`, never claimed, is refunded.
    await store.messages.cancel(a!.id, alice, 'test');
    await store.messages.cancel(b!.id, alice, 'test');
    expect(Number((await store.policy.account(alice)).balance)).toBe(3);
  });

  it('charges the difference when a queued message is replaced with more segments, refunds it for fewer, refuses what the balance does not cover', async () => {
    await store.policy.setPrice('', 'any', 3);
    await store.policy.credit(alice, 10, null, true);
    const m = message(alice, { to: '+4915100000031' });
    expect(await send(store, [m])).toEqual([undefined]);
    const balance = async () => Number((await store.policy.account(alice)).balance);
    expect(await balance()).toBe(7);
    const long = (segments: number) => ({ text: 'x'.repeat(153 * segments), encoding: 'gsm7', segments });
    // 1 → 3 segments: 2 more at 3 each.
    expect(await store.messages.replaceText(m.id, alice, long(3))).toBe('replaced');
    expect(await balance()).toBe(1);
    // 3 → 4 segments needs 3 more; the balance has 1: refused, nothing changes.
    expect(await store.messages.replaceText(m.id, alice, long(4))).toBe('insufficient_balance');
    expect(await store.messages.byId(m.id)).toMatchObject({ segments: 3 });
    expect(await balance()).toBe(1);
    // 3 → 1 segment: 6 back.
    expect(
      await store.messages.replaceText(m.id, alice, { text: 'short', encoding: 'gsm7', segments: 1 }),
    ).toBe('replaced');
    expect(await balance()).toBe(7);
    // Canceled: what it was charged in the end (3) comes back, once.
    await store.messages.cancel(m.id, alice, 'test');
    expect(await balance()).toBe(10);
    const ledger = (await store.policy.ledger(alice, 20)).filter(
      (l) => l.message_id === m.id || l.kind === 'charge',
    );
    expect(ledger.map((l) => [l.kind, Number(l.amount)]).sort()).toEqual(
      [
        ['adjust', -6],
        ['adjust', 6],
        ['charge', -3],
        ['refund', 3],
      ].sort(),
    );
    // A message that has left is not replaced.
    expect(await store.messages.replaceText(m.id, alice, long(1))).toBe('not_replaceable');
    // Nor one queued again after a submit whose outcome is unknown: it may have been delivered,
    // and its retry would then put a second, different text on the handset.
    await store.policy.credit(alice, 10, null, true);
    const again = message(alice, { to: '+4915100000032' });
    expect(await send(store, [again])).toEqual([undefined]);
    await store.db.kysely
      .updateTable('messages')
      .set({ outcome_unknown: 1 })
      .where('id', '=', again.id)
      .execute();
    expect(await store.messages.replaceText(again.id, alice, long(1))).toBe('not_replaceable');
  });

  it('blacklists a number after N unknown_subscriber failures when the user turned it on', async () => {
    await store.policy.updateAccount(alice, { auto_blacklist_after: 2 });
    for (let i = 0; i < 2; i++) {
      const m = message(alice, { to: TO });
      expect(await send(store, [m])).toEqual([undefined]);
      await store.messages.claim(`tok${i}`, 10, Date.now(), 60_000);
      const now = Date.now();
      await store.outcomes.apply([
        {
          kind: 'failed',
          id: m.id,
          ownerId: alice,
          lease: `tok${i}`,
          channelId: null,
          errorCode: 'unknown_subscriber',
          error: 'unknown',
          startedAt: now,
          at: now,
        },
      ]);
    }
    expect(await store.policy.entry('black', alice, TO)).toMatchObject({ source: 'auto' });
    expect(await send(store, [message(alice, { to: TO })])).toEqual(['blacklisted']);
    // Bob never turned it on: his failures blacklist nothing.
    expect(await send(store, [message(bob, { to: TO })])).toEqual([undefined]);
  });

  it('a test-mode account sends only to its whitelist; the whitelist is capped', async () => {
    await store.policy.updateAccount(alice, { test_mode: 1 });
    await store.policy.addToList('white', alice, [{ number: TO, reason: 'my phone' }], 'api', 2);
    expect(await send(store, [message(alice, { to: TO }), message(alice, { to: '+4915100000009' })])).toEqual(
      [undefined, 'not_whitelisted'],
    );
    await store.policy.addToList('white', alice, [{ number: '+4915100000009', reason: null }], 'api', 2);
    await expect(
      store.policy.addToList('white', alice, [{ number: '+4915100000008', reason: null }], 'api', 2),
    ).rejects.toThrow(/at most 2/);
    expect(await store.policy.count('white', alice)).toBe(2);
  });
});
