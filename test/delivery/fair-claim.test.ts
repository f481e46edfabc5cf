/**
 * Fair webhook claims on both databases: at most `perOwner` rows per account counting those in
 * flight, none for an account at its limit, and the accounts behind a busy one still claimed.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
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

    it('lends the slots no other account asks for to an account at its share', async () => {
      await store.db.kysely.deleteFrom('webhook_outbox').execute();
      const now = Date.now();
      for (let i = 0; i < 30; i++)
        await store.webhooks.enqueue({
          event_id: `evt_borrow_A_${i}`,
          owner_id: 'A',
          kind: 'status',
          ordering_key: `A_${i}`,
          url: 'http://receiver.test/',
          payload: '{}',
          next_attempt_at: now - 100_000 + i,
          give_up_at: now + 3_600_000,
          created_at: now,
        });
      // A has its share (2) in flight: without borrowing it gets nothing, with 3 to lend it gets 3.
      const inFlight = new Map([['A', 2]]);
      const none = { perOwner: 2, inFlight, borrow: 0 } as Parameters<Store['webhooks']['claimDue']>[3] &
        object;
      expect(await store.webhooks.claimDue(now, now + 60_000, 8, none)).toEqual([]);
      expect([...(none.blocked ?? [])]).toEqual(['A']);
      const lend = { perOwner: 2, inFlight, borrow: 3 } as Parameters<Store['webhooks']['claimDue']>[3] &
        object;
      const got = await store.webhooks.claimDue(now, now + 60_000, 8, lend);
      expect(got.map((r) => r.event_id).sort()).toEqual([
        'evt_borrow_A_0',
        'evt_borrow_A_1',
        'evt_borrow_A_2',
      ]);
      expect([...(lend.blocked ?? [])]).toEqual(['A']);
    });

    it("lets a lone busy account use every slot but a newcomer's share, and still serves a newcomer", async () => {
      await store.db.kysely.deleteFrom('webhook_outbox').execute();
      // A receiver that answers after 40 ms and counts the requests it holds at once, per account.
      const open = new Map<string, number>();
      const peak = new Map<string, number>();
      const seen: string[] = [];
      const server = createServer((req, res) => {
        const owner = (req.url ?? '/').split('/')[1] as string;
        open.set(owner, (open.get(owner) ?? 0) + 1);
        peak.set(owner, Math.max(peak.get(owner) ?? 0, open.get(owner) ?? 0));
        req.resume();
        setTimeout(() => {
          open.set(owner, (open.get(owner) ?? 1) - 1);
          seen.push(req.url ?? '');
          res.end('ok');
        }, 40);
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const now = Date.now();
      const add = (owner: string, n: number) =>
        store.webhooks.enqueue({
          event_id: `dlr_lend_${owner}_${n}`,
          owner_id: owner,
          kind: 'dlr',
          ordering_key: `${owner}_${n}`,
          url: `${url}/${owner}/${n}`,
          payload: '',
          next_attempt_at: now - 1000,
          give_up_at: now + 3_600_000,
          created_at: now,
        });
      for (let i = 0; i < 60; i++) await add('A', i);
      const worker = new WebhookWorker(store, pino({ level: 'silent' }), {
        ...WEBHOOK_DEFAULTS,
        pollMs: 60_000,
        concurrency: 8,
        perAccount: 2,
      });
      worker.start();
      try {
        await eventually(async () => (seen.length >= 20 ? true : undefined));
        // B arrives while A holds what it may: it is served from the slots kept for a newcomer.
        for (let i = 0; i < 2; i++) await add('B', i);
        worker.poke();
        await eventually(async () => (seen.length >= 62 ? true : undefined));
        await worker.stop();
        // 8 slots, 2 kept for an account with nothing in flight: A alone used up to 6, not its 2.
        expect(peak.get('A')).toBeGreaterThan(2);
        expect(peak.get('A')).toBeLessThanOrEqual(6);
        expect(new Set(seen).size).toBe(62);
        const left = await store.db.kysely
          .selectFrom('webhook_outbox')
          .select('id')
          .where('status', '!=', 'delivered')
          .execute();
        expect(left).toEqual([]);
      } finally {
        await worker.stop();
        server.closeAllConnections();
        await new Promise((r) => server.close(r));
      }
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
