/**
 * A group commit that fails is written again item by item (store/batcher.ts). The sending policy
 * changes the rows in memory (status, refusal, hold, charge: policy/index.ts, policy/credits.ts);
 * a retry must judge the rows as the way in built them, not as the failed attempt left them.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WriteBatcher } from '../../src/store/batcher.js';
import type { Db } from '../../src/store/db.js';
import type { Store } from '../../src/store/index.js';
import { createStore } from '../../src/store/index.js';
import type { AcceptItem, AcceptResult } from '../../src/store/messages.js';
import { TEST_DBS } from '../support/db.js';
import { message } from '../support/messages.js';

describe.each(TEST_DBS)('a failed group commit written again item by item ($name)', (testDb) => {
  let db: Db;
  let store: Store;
  let cleanup: () => Promise<void>;
  let alice: string;
  let bob: string;

  beforeEach(async () => {
    const opened = await testDb.open();
    db = opened.db;
    cleanup = opened.cleanup;
    store = createStore(db);
    alice = (await store.users.create({ login: 'alice', passwordHash: 'x', role: 'user' })).id;
    bob = (await store.users.create({ login: 'bob', passwordHash: 'x', role: 'user' })).id;
    await store.policy.setPrice('', 'any', 4);
  });
  afterEach(async () => cleanup());

  /** An item whose own writes fail: the group's transaction rolls back, and it fails alone. */
  function bad(ownerId: string): AcceptItem {
    return {
      messages: [message(ownerId, { to: '+4915100000009' })],
      within: () => Promise.reject(new Error('bad item')),
    };
  }

  /** Submits the items in one turn (one group); `beforeAlone` runs before each lone retry. */
  async function submit(
    items: AcceptItem[],
    beforeAlone: (item: AcceptItem) => Promise<void> = async () => {},
  ) {
    const flushes: number[] = [];
    const batcher = new WriteBatcher<AcceptItem, AcceptResult>(async (batch) => {
      flushes.push(batch.length);
      if (batch.length === 1) await beforeAlone(batch[0] as AcceptItem);
      return store.messages.acceptBatch(batch);
    });
    const out = await Promise.allSettled(items.map((i) => batcher.submit(i)));
    expect(flushes).toEqual([items.length, ...items.map(() => 1)]);
    return out;
  }

  const stored = (id: string) =>
    db.kysely
      .selectFrom('messages')
      .select(['status', 'error_code', 'charge'])
      .where('id', '=', id)
      .executeTakeFirst();
  const balance = async (owner: string) => Number((await store.policy.account(owner)).balance);

  it('a message refused on its retry before the credits rule carries no charge from the failed attempt', async () => {
    await store.policy.credit(alice, 10, null, true);
    const good: AcceptItem = { messages: [message(alice, { to: '+4915100000001' })] };
    const [, outcome] = await submit([bad(bob), good], async (item) => {
      // Between the failed group and the lone retry the number is blacklisted.
      if (item === good) {
        await store.policy.addToList(
          'black',
          alice,
          [{ number: '+4915100000001', reason: 'asked' }],
          'api',
          10,
        );
      }
    });
    expect(outcome?.status).toBe('fulfilled');
    const m = await stored(good.messages[0]!.id);
    expect({ ...m, charge: m?.charge == null ? null : Number(m.charge) }).toEqual({
      status: 'rejected',
      error_code: 'blacklisted',
      charge: null,
    });
    expect(await balance(alice)).toBe(10);
    const ledger = await store.policy.ledger(alice, 10);
    expect(ledger.map((l) => l.kind)).toEqual(['topup']);
  });

  it('a message refused in the failed group for what a sibling took is judged again on its retry', async () => {
    // The balance covers one message: in the group the bad item takes it and the good one is
    // refused; the bad one never commits, so alone the good one is covered.
    await store.policy.credit(alice, 4, null, true);
    const good: AcceptItem = { messages: [message(alice, { to: '+4915100000001' })] };
    const [first, second] = await submit([bad(alice), good]);
    expect(first?.status).toBe('rejected');
    expect(second?.status).toBe('fulfilled');
    const refused =
      second?.status === 'fulfilled' && second.value.kind === 'accepted' ? second.value.refused : undefined;
    expect(refused?.size).toBe(0);
    const m = await stored(good.messages[0]!.id);
    expect({ ...m, charge: m?.charge == null ? null : Number(m.charge) }).toEqual({
      status: 'queued',
      error_code: null,
      charge: -4,
    });
    expect(await balance(alice)).toBe(0);
  });
});
