/**
 * Fair webhook claims on both databases: at most `perOwner` rows per account counting those in
 * flight, none for an account at its limit, and the accounts behind a busy one still claimed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.js';
import { createStore } from '../../src/store/index.js';
import { TEST_DBS } from '../support/db.js';

for (const tdb of TEST_DBS) {
  describe(`fair webhook claims (${tdb.name})`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    beforeAll(async () => {
      const opened = await tdb.open();
      store = createStore(opened.db);
      cleanup = opened.cleanup;
    });
    afterAll(() => cleanup());

    it('gives each account at most its share, and skips accounts already at it', async () => {
      const now = Date.now();
      const add = async (owner: string, n: number) => {
        await store.webhooks.enqueue({
          event_id: `evt_${owner}_${n}`,
          owner_id: owner,
          kind: 'status',
          ordering_key: `${owner}_${n}`,
          url: 'http://receiver.test/',
          payload: '{}',
          // A's rows are all due before B's and C's.
          next_attempt_at: now - 100_000 + (owner === 'A' ? n : 1000 + n),
          give_up_at: now + 3_600_000,
          created_at: now,
        });
      };
      for (let i = 0; i < 30; i++) await add('A', i);
      for (let i = 0; i < 3; i++) await add('B', i);
      for (let i = 0; i < 3; i++) await add('C', i);

      const first = await store.webhooks.claimDue(now, now + 60_000, 8, { perOwner: 2, inFlight: new Map() });
      const count = (rows: { owner_id: string }[]) =>
        rows.reduce((m, r) => m.set(r.owner_id, (m.get(r.owner_id) ?? 0) + 1), new Map<string, number>());
      // Looking 4× ahead (32 rows) reaches the first of B and C behind A's 30.
      expect(count(first)).toEqual(
        new Map([
          ['A', 2],
          ['B', 1],
          ['C', 1],
        ]),
      );
      // A is at its share now: it is left out in SQL, so B and C are reached.
      const second = await store.webhooks.claimDue(now, now + 60_000, 8, {
        perOwner: 2,
        inFlight: new Map([['A', 2]]),
      });
      expect(count(second)).toEqual(
        new Map([
          ['B', 2],
          ['C', 2],
        ]),
      );
      // Without fairness the oldest come first, whoever owns them.
      const plain = await store.webhooks.claimDue(now, now + 60_000, 5);
      expect(count(plain)).toEqual(new Map([['A', 5]]));
    });
  });
}
