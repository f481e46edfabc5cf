/**
 * Fair webhook claims on both databases: at most `perOwner` rows per account counting those in
 * flight, none for an account at its limit, and the accounts behind a busy one still claimed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { WEBHOOK_DEFAULTS, WebhookWorker } from '../../src/delivery/webhooks.js';
import type { Store } from '../../src/store/index.js';
import { createStore } from '../../src/store/index.js';
import { eventually } from '../support/app.js';
import { TEST_DBS } from '../support/db.js';
import { startReceiver } from '../support/receiver.js';

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

    it('delivers every row of a busy account and of a small one in order, with no poll to fall back on', async () => {
      // The worker skips claims that could find nothing (an account at its limit and nothing due
      // elsewhere). With a poll of a minute, a skip that missed a newly due row would leave it
      // undelivered and this test would time out: B's second event is due only once its first
      // is delivered, while A keeps its share busy.
      await store.db.kysely.deleteFrom('webhook_outbox').execute();
      const rx = await startReceiver();
      const now = Date.now();
      const add = (owner: string, n: number, key: string) =>
        store.webhooks.enqueue({
          event_id: `dlr_${owner}_${n}`,
          owner_id: owner,
          kind: 'dlr',
          ordering_key: key,
          url: `${rx.url}/${owner}/${n}`,
          payload: '',
          next_attempt_at: now - 1000,
          give_up_at: now + 3_600_000,
          created_at: now,
        });
      for (let i = 0; i < 40; i++) await add('A', i, `A_${i}`);
      for (let i = 0; i < 3; i++) await add('B', i, 'B');
      const worker = new WebhookWorker(store, pino({ level: 'silent' }), {
        ...WEBHOOK_DEFAULTS,
        pollMs: 60_000,
        concurrency: 4,
        perAccount: 2,
      });
      worker.start();
      try {
        await eventually(async () => (rx.received.length >= 43 ? true : undefined));
        const paths = rx.received.map((r) => r.path);
        expect(new Set(paths).size).toBe(43);
        expect(paths.filter((p) => p.startsWith('/B/'))).toEqual(['/B/0', '/B/1', '/B/2']);
        await worker.stop();
        const left = await store.db.kysely
          .selectFrom('webhook_outbox')
          .select('id')
          .where('status', '!=', 'delivered')
          .execute();
        expect(left).toEqual([]);
      } finally {
        await worker.stop();
        await rx.close();
      }
    });
  });
}
