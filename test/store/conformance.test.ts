/** One storage conformance suite, run against every database we support. */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import type { Store } from '../../src/store/index.js';
import { createStore } from '../../src/store/index.js';
import { migrate } from '../../src/store/db.js';
import { monthOf, newId } from '../../src/store/ids.js';
import { offsetSegments } from '../../src/core/time.js';
import { v7 } from 'uuid';
import type { AcceptClaimer } from '../../src/store/messages.js';
import type { Outcome, ReportOutcome } from '../../src/store/outcomes.js';
import { TEST_DBS } from '../support/db.js';
import { channel, message } from '../support/messages.js';

/** The claim token the outcomes below are fenced by. */
const LEASE = 'test-node/lease-1';

for (const testDb of TEST_DBS) {
  describe(`store conformance: ${testDb.name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    let alice: string;
    let bob: string;
    let channelId: string;
    let url: string | undefined;

    /** Puts messages in `sending` under LEASE, as a claim would, without claiming others. */
    async function hold(...ids: string[]) {
      await store.db.kysely
        .updateTable('messages')
        .set({ status: 'sending', lease_owner: LEASE, lease_until: Date.now() + 60_000 })
        .where('id', 'in', ids)
        .execute();
    }

    beforeAll(async () => {
      const opened = await testDb.open();
      cleanup = opened.cleanup;
      url = opened.url;
      store = createStore(opened.db);
      alice = (await store.users.create({ login: 'alice', passwordHash: 'x', role: 'user' })).id;
      bob = (await store.users.create({ login: 'bob', passwordHash: 'x', role: 'user' })).id;
      channelId = (await store.channels.create(channel({ name: 'sim' }))).id;
    });
    afterAll(() => cleanup());

    it('applies migrations once and is idempotent on re-run', async () => {
      expect(await migrate(store.db)).toEqual([]);
    });

    it('keeps logins unique and finds keys by prefix', async () => {
      await expect(store.users.create({ login: 'alice', passwordHash: 'y', role: 'user' })).rejects.toThrow();
      const k = await store.keys.create({
        userId: alice,
        name: 'k',
        prefix: 'abcdef012345',
        secretHash: 'h',
      });
      expect((await store.keys.byPrefix('abcdef012345'))?.user.login).toBe('alice');
      await store.keys.revoke(k.id);
      expect((await store.keys.byPrefix('abcdef012345'))?.key.revoked_at).not.toBeNull();
    });

    it('reserves monthly allowance atomically: never more than the limit', async () => {
      const month = '2026-01';
      const results = await Promise.all(
        Array.from({ length: 25 }, () => store.channels.reserve(channelId, month, 1, 10)),
      );
      expect(results.filter(Boolean)).toHaveLength(10);
      expect(await store.channels.counter(channelId, month)).toBe(10);
      await store.channels.release(channelId, month, 3);
      expect(await store.channels.counter(channelId, month)).toBe(7);
      await store.channels.resetCounter(channelId, month);
      expect(await store.channels.counter(channelId, month)).toBe(0);
    });

    it('accepts in batches and replays or refuses reused idempotency keys', async () => {
      const m1 = message(alice);
      const idem = {
        userId: alice,
        key: 'k1',
        requestHash: 'h1',
        statusCode: 202,
      };
      const respond = () => '{"first":true}';
      const [r1] = await store.messages.acceptBatch([{ messages: [m1], idempotency: idem, respond }]);
      expect(r1).toEqual({ kind: 'accepted', refused: new Map(), claimedAll: false });
      const [r2, r3] = await store.messages.acceptBatch([
        { messages: [message(alice)], idempotency: idem },
        { messages: [message(alice)], idempotency: { ...idem, requestHash: 'other' } },
      ]);
      expect(r2).toEqual({ kind: 'replay', statusCode: 202, response: '{"first":true}' });
      expect(r3).toEqual({ kind: 'conflict' });
      // Another user may use the same key string.
      const [r4] = await store.messages.acceptBatch([
        { messages: [message(bob)], idempotency: { ...idem, userId: bob } },
      ]);
      expect(r4).toEqual({ kind: 'accepted', refused: new Map(), claimedAll: false });
      expect((await store.messages.events(m1.id)).map((e) => e.status)).toEqual(['queued']);
    });

    it('claims in the accepting transaction: committed with it, or undone alone when it fails', async () => {
      // Nothing else claimable: earlier tests' messages are taken first.
      await store.messages.recoverLeases(true);
      await store.messages.claim('drain-before', 10_000, Date.now(), 60_000);
      const ended: string[] = [];
      const claimer =
        (limit: number, fail = false): AcceptClaimer =>
        async (trx) => {
          const rows = await store.messages.claimIn(trx, `accept-${limit}`, limit, Date.now(), 60_000);
          if (fail) throw new Error('claim failed');
          return {
            all: rows.length < limit,
            committed: () => ended.push(`committed ${rows.length}`),
            rolledBack: () => ended.push('rolled back'),
          };
        };
      const two = [message(alice), message(alice)];
      const [r1] = await store.messages.acceptBatch([{ messages: two }], claimer(5));
      expect(r1).toMatchObject({ kind: 'accepted', claimedAll: true });
      for (const m of two)
        expect(await store.messages.byId(m.id)).toMatchObject({ status: 'sending', lease_owner: 'accept-5' });
      // Room for one of two: the other is left queued, and the accept says so.
      const more = [message(alice), message(alice)];
      const [r2] = await store.messages.acceptBatch([{ messages: more }], claimer(1));
      expect(r2).toMatchObject({ kind: 'accepted', claimedAll: false });
      const states = await Promise.all(more.map(async (m) => (await store.messages.byId(m.id))?.status));
      expect(states.sort()).toEqual(['queued', 'sending']);
      // A claim that fails is undone and the accept is committed without it.
      const third = message(alice);
      const [r3] = await store.messages.acceptBatch([{ messages: [third] }], claimer(5, true));
      expect(r3).toMatchObject({ kind: 'accepted', claimedAll: false });
      expect(await store.messages.byId(third.id)).toMatchObject({ status: 'queued', lease_owner: null });
      expect(ended).toEqual(['committed 2', 'committed 1']);
      await store.messages.recoverLeases(true);
      await store.messages.claim('drain-accepted', 100, Date.now(), 60_000);
    });

    it('claims only due messages, each by exactly one claimer', async () => {
      await store.messages.recoverLeases(true);
      const due = Array.from({ length: 30 }, () => message(alice, { batch_id: 'claim' }));
      const later = message(alice, {
        batch_id: 'claim',
        status: 'scheduled',
        next_attempt_at: Date.now() + 3_600_000,
      });
      await store.messages.acceptBatch([{ messages: [...due, later] }]);
      const now = Date.now();
      const [a, b, c] = await Promise.all([
        store.messages.claim('node-a', 15, now, 60_000),
        store.messages.claim('node-b', 15, now, 60_000),
        store.messages.claim('node-c', 15, now, 60_000),
      ]);
      const ids = [...a!, ...b!, ...c!].map((m) => m.id);
      expect(new Set(ids).size).toBe(ids.length);
      const claimedHere = ids.filter((id) => due.some((d) => d.id === id));
      expect(claimedHere.length).toBe(30);
      expect(ids).not.toContain(later.id);
      expect((await store.messages.byId(due[0]!.id))?.status).toBe('sending');
    });

    it('returns expired leases to the queue and leaves live ones alone', async () => {
      const m = message(alice);
      await store.messages.acceptBatch([{ messages: [m] }]);
      const now = Date.now();
      const claimed = await store.messages.claim('dead-node', 1000, now, 300);
      expect(claimed.map((c) => c.id)).toContain(m.id);
      expect(await store.messages.recoverLeases()).toBe(0);
      await new Promise((r) => setTimeout(r, 400));
      expect(await store.messages.recoverLeases()).toBeGreaterThanOrEqual(1);
      expect((await store.messages.byId(m.id))?.status).toBe('queued');
    });

    it('records sent, reports per part, and derives the final status', async () => {
      const single = message(alice, { segments: 1 });
      const multi = message(alice, { segments: 3 });
      await store.messages.acceptBatch([{ messages: [single, multi] }]);
      await hold(single.id, multi.id);
      const at = Date.now();
      await store.outcomes.apply([
        {
          kind: 'sent',
          lease: LEASE,
          awaitsReport: true,
          id: single.id,
          ownerId: alice,
          channelId,
          remoteIds: ['r-1'],
          countUnits: 1,
          startedAt: at,
          at,
        },
        {
          kind: 'sent',
          lease: LEASE,
          awaitsReport: true,
          id: multi.id,
          ownerId: alice,
          channelId,
          remoteIds: ['r-2', 'r-3', 'r-4'],
          countUnits: 3,
          startedAt: at,
          at,
        },
      ]);
      expect(await store.channels.counter(channelId, monthOf(at))).toBe(4);
      const { finals } = await store.outcomes.apply([
        { kind: 'report', channelId, remoteId: 'r-1', state: 'delivered', at, receivedAt: Date.now() },
        { kind: 'report', channelId, remoteId: 'r-2', state: 'delivered', at, receivedAt: Date.now() },
        {
          kind: 'report',
          channelId,
          remoteId: 'r-3',
          state: 'undelivered',
          errorCode: 'absent_subscriber',
          at,
          receivedAt: at,
        },
        { kind: 'report', channelId, remoteId: 'r-4', state: 'delivered', at, receivedAt: Date.now() },
        { kind: 'report', channelId, remoteId: 'unknown-id', state: 'delivered', at, receivedAt: Date.now() },
      ]);
      expect(finals).toEqual([
        { id: single.id, status: 'delivered' },
        { id: multi.id, status: 'partially_delivered' },
      ]);
      const m = await store.messages.byId(multi.id);
      expect(m?.error_code).toBe('absent_subscriber');
      expect((await store.messages.events(multi.id)).map((e) => e.status)).toEqual([
        'queued',
        'sending',
        'sent',
        'partially_delivered',
      ]);
    });

    it('retries, fails and cancels with events', async () => {
      const r = message(alice);
      const f = message(alice);
      const c = message(alice);
      const s = message(alice);
      await store.messages.acceptBatch([{ messages: [r, f, c, s] }]);
      await hold(r.id, f.id, s.id);
      const at = Date.now();
      await store.outcomes.apply([
        {
          kind: 'retry',
          lease: LEASE,
          id: r.id,
          ownerId: alice,
          channelId,
          nextAt: at + 5000,
          errorCode: 'network_error',
          error: 'x',
          startedAt: at,
          at,
        },
        {
          kind: 'failed',
          lease: LEASE,
          id: f.id,
          ownerId: alice,
          channelId,
          errorCode: 'rejected_by_network',
          error: 'no',
          startedAt: at,
          at,
        },
        {
          kind: 'sent',
          lease: LEASE,
          awaitsReport: true,
          id: s.id,
          ownerId: alice,
          channelId,
          remoteIds: ['s-1'],
          countUnits: 0,
          startedAt: at,
          at,
        },
      ]);
      const retried = await store.messages.byId(r.id);
      expect(retried).toMatchObject({
        status: 'queued',
        attempts: 1,
        avoid_channel_id: channelId,
        next_attempt_at: at + 5000,
      });
      expect((await store.messages.byId(f.id))?.status).toBe('failed');
      expect(await store.messages.cancel(c.id, bob, 'x')).toBeUndefined();
      expect((await store.messages.cancel(c.id, alice, 'x'))?.status).toBe('canceled');
      expect((await store.messages.cancel(s.id, alice, 'x'))?.status).toBe('sent');
    });

    it('lists with owner isolation, filters, text search and cursor pages', async () => {
      const batch = newId();
      const rows = Array.from({ length: 7 }, (_, i) =>
        message(bob, {
          batch_id: batch,
          text: i === 3 ? 'Your code is 100% ready_now' : `note ${i}`,
          to: `+1555555010${i}`,
        }),
      );
      await store.messages.acceptBatch([{ messages: rows }]);
      expect(await store.messages.list({ ownerId: alice, batchId: batch, limit: 50 })).toHaveLength(0);
      const page1 = await store.messages.list({ ownerId: bob, batchId: batch, limit: 4 });
      const page2 = await store.messages.list({
        ownerId: bob,
        batchId: batch,
        limit: 4,
        before: page1.at(-1)!.id,
      });
      expect(page1).toHaveLength(4);
      expect(page2).toHaveLength(3);
      expect(new Set([...page1, ...page2].map((m) => m.id)).size).toBe(7);
      const found = await store.messages.list({ ownerId: bob, textContains: '100% READY_', limit: 50 });
      expect(found.map((m) => m.text)).toEqual(['Your code is 100% ready_now']);
      expect(
        await store.messages.list({ ownerId: bob, textContains: '0%', batchId: batch, limit: 50 }),
      ).toHaveLength(1);
      expect(
        await store.messages.list({ ownerId: bob, to: '+15555550102', batchId: batch, limit: 50 }),
      ).toHaveLength(1);
    });

    it("aggregates one owner's messages per time bucket and status, with failure reasons and queue", async () => {
      const carol = (await store.users.create({ login: 'carol', passwordHash: 'x', role: 'user' })).id;
      const rows = [
        message(carol, { status: 'delivered', segments: 2 }),
        message(carol, { status: 'delivered' }),
        message(carol, { status: 'undelivered', error_code: 'absent_subscriber' }),
        message(carol, { status: 'queued' }),
        message(carol, { status: 'scheduled' }),
        message(bob, { status: 'delivered' }),
      ];
      await store.messages.acceptBatch([{ messages: rows }]);
      const now = Date.now();
      const range = { ownerId: carol, since: now - 3_600_000, until: now + 60_000 };
      const utc = [{ from: range.since, offsetMs: 0 }];
      const series = await store.stats.series({ ...range, bucketMs: 86_400_000, offsets: utc });
      const byStatus = Object.fromEntries(series.map((r) => [r.status, r]));
      expect(byStatus.delivered).toMatchObject({ messages: 2, segments: 3 });
      expect(byStatus.undelivered?.messages).toBe(1);
      expect(new Set(series.map((r) => r.bucket)).size).toBe(1);
      expect((series[0]?.bucket ?? 1) % 86_400_000).toBe(0);
      // A time zone moves day boundaries to its midnight: buckets are local days.
      const plusOne = [{ from: range.since, offsetMs: 3_600_000 }];
      const shifted = await store.stats.series({ ...range, bucketMs: 86_400_000, offsets: plusOne });
      const created = rows[0]!.created_at;
      expect(shifted[0]?.bucket).toBe(Math.floor((created + 3_600_000) / 86_400_000) * 86_400_000);
      expect(await store.stats.failureReasons(range)).toEqual([{ code: 'absent_subscriber', count: 1 }]);
      expect(await store.stats.queue(carol)).toEqual({ queued: 1, scheduled: 1, sending: 0 });
      // A range before the messages existed is empty.
      expect(
        await store.stats.series({ ...range, until: now - 3_000_000, bucketMs: 3_600_000, offsets: utc }),
      ).toEqual([]);
    });

    it('puts messages into local days across a daylight saving change', async () => {
      const frank = (await store.users.create({ login: 'frank', passwordHash: 'x', role: 'user' })).id;
      const at = (iso: string) => {
        const t = Date.parse(iso);
        return message(frank, { id: v7({ msecs: t }), created_at: t });
      };
      // Berlin moved from +1 to +2 at 01:00 UTC on 29 March 2026.
      await store.messages.acceptBatch([
        {
          messages: [
            at('2026-03-28T22:30:00Z'), // 23:30 on the 28th in Berlin
            at('2026-03-29T00:30:00Z'), // 01:30 on the 29th
            at('2026-03-29T22:30:00Z'), // 00:30 on the 30th (+2 by then)
          ],
        },
      ]);
      const since = Date.parse('2026-03-27T00:00:00Z');
      const until = Date.parse('2026-04-01T00:00:00Z');
      const offsets = offsetSegments('Europe/Berlin', since, until)!;
      expect(offsets.map((o) => o.offsetMs)).toEqual([3_600_000, 7_200_000]);
      expect(new Date(offsets[1]!.from).toISOString()).toBe('2026-03-29T01:00:00.000Z');
      const rows = await store.stats.series({ ownerId: frank, since, until, bucketMs: 86_400_000, offsets });
      const days = rows.map((r) => new Date(r.bucket).toISOString().slice(0, 10)).sort();
      expect(days).toEqual(['2026-03-28', '2026-03-29', '2026-03-30']);
    });

    /**
     * Fans out until `want` events are behind the cursor (or 5 s pass); returns how many. On
     * PostgreSQL another session's open transaction (other test files on the same server) holds
     * the fan-out's horizon back for a moment, so one call may find nothing yet.
     */
    const fanOutAll = async (want: number): Promise<number> => {
      let n = 0;
      for (let i = 0; i < 200 && n < want; i++) {
        n += await store.webhooks.fanOut(Date.now(), 500, 86_400_000);
        if (n < want) await new Promise((r) => setTimeout(r, 25));
      }
      return n;
    };
    /** Events committed but not yet fanned out. */
    const pending = async (): Promise<number> => {
      const after =
        testDb.name === 'postgres'
          ? sql`(e.tx, e.id) > (coalesce((select position from cursors where name = 'status_tx'), 0)::text::xid8,
              coalesce((select position from cursors where name = 'status'), 0))`
          : sql`e.id > coalesce((select position from cursors where name = 'status'), 0)`;
      const r = await sql<{
        n: number | string;
      }>`select count(*) as n from message_events e where ${after}`.execute(store.db.kysely);
      return Number(r.rows[0]?.n);
    };
    /** Fans out every committed event. */
    const drainEvents = async (): Promise<void> => {
      for (let i = 0; i < 200 && (await pending()) > 0; i++) await fanOutAll(1);
      expect(await pending()).toBe(0);
    };

    it('queues SMPP receipts at the final event and leases them to one claimer until acknowledged', async () => {
      const dave = (await store.users.create({ login: 'dave', passwordHash: 'x', role: 'user' })).id;
      const m = message(dave, { smpp_receipt_mask: 1 });
      const quiet = message(dave, { smpp_receipt_mask: 2 }); // failure only: none when delivered
      await store.messages.acceptBatch([{ messages: [m, quiet] }]);
      await hold(m.id, quiet.id);
      for (const x of [m, quiet]) {
        await store.outcomes.apply([
          {
            kind: 'sent',
            lease: LEASE,
            awaitsReport: true,
            id: x.id,
            ownerId: dave,
            channelId,
            remoteIds: [`r-${x.id}`],
            countUnits: 0,
            startedAt: Date.now(),
            at: Date.now(),
          },
        ]);
        await store.outcomes.apply([
          {
            kind: 'report',
            channelId,
            remoteId: `r-${x.id}`,
            state: 'delivered',
            at: Date.now(),
            receivedAt: Date.now(),
          },
        ]);
      }
      expect((await store.messages.byId(m.id))?.status).toBe('delivered');
      await drainEvents();
      const now = Date.now();
      const [a, b] = await Promise.all([
        store.smppOutbox.claim(dave, now, now + 60_000, 10),
        store.smppOutbox.claim(dave, now, now + 60_000, 10),
      ]);
      const claimed = [...a, ...b];
      expect(claimed.map((r) => r.kind === 'receipt' && r.receipt.message_id)).toEqual([m.id]);
      expect(claimed[0]).toMatchObject({
        kind: 'receipt',
        receipt: { status: 'delivered', to: m.to, text: m.text },
      });
      // Leased: nobody else gets it until it is released or the lease runs out.
      expect(await store.smppOutbox.claim(dave, now, now + 60_000, 10)).toEqual([]);
      await store.smppOutbox.release(claimed);
      // A lease of 200 ms, judged by the database's clock: taken again once it ran out.
      const again = await store.smppOutbox.claim(dave, now, now + 200, 10);
      expect(again.map((r) => r.kind === 'receipt' && r.receipt.message_id)).toEqual([m.id]);
      expect(await store.smppOutbox.claim(dave, Date.now(), Date.now() + 60_000, 10)).toEqual([]);
      await new Promise((r) => setTimeout(r, 300));
      expect((await store.smppOutbox.claim(dave, Date.now(), Date.now() + 60_000, 10)).length).toBe(1);
      await store.smppOutbox.done(again.map((r) => r.id));
      const left = () =>
        store.db.kysely.selectFrom('smpp_outbox').selectAll().where('owner_id', '=', dave).execute();
      expect(await left()).toEqual([]);
      // Inbound messages for SMPP receivers travel the same way.
      const mo = await store.inbound.insert({
        owner_id: dave,
        channel_id: channelId,
        from: '+15555550999',
        to: null,
        text: 'reply',
        incomplete: 0,
        keyword: null,
        received_at: now,
      });
      await store.smppOutbox.enqueueMo(dave, mo.id, now);
      const [owed] = await store.smppOutbox.claim(dave, now, now + 60_000, 10);
      expect(owed).toMatchObject({ kind: 'mo', mo: { id: mo.id, from: '+15555550999', text: 'reply' } });
      await store.smppOutbox.done([owed!.id]);
      // A row whose message no longer exists is dropped at claim, not leased again and again.
      await store.db.kysely
        .insertInto('smpp_outbox')
        .values({ owner_id: dave, kind: 'receipt', ref_id: 'no-such-message', created_at: now })
        .execute();
      expect(await store.smppOutbox.claim(dave, now, now + 60_000, 10)).toEqual([]);
      expect(await left()).toEqual([]);
    });

    // Only PostgreSQL has concurrent writers; on SQLite the case cannot arise, so no test is registered.
    if (testDb.name === 'postgres')
      it('fans out an event whose transaction commits late, after one that committed early: none skipped', async () => {
        const erin = (await store.users.create({ login: 'erin', passwordHash: 'x', role: 'user' })).id;
        const m = message(erin);
        await store.messages.acceptBatch([{ messages: [m] }]);
        await drainEvents();
        const insert = (c: pg.Client, status: string) =>
          c.query(
            'insert into message_events (message_id, owner_id, status, created_at) values ($1, $2, $3, $4)',
            [m.id, erin, status, Date.now()],
          );
        const early = new pg.Client({ connectionString: url });
        const late = new pg.Client({ connectionString: url });
        await Promise.all([early.connect(), late.connect()]);
        try {
          // "late" takes the lower id first and stays open; "early" takes the next id and commits.
          await late.query('begin');
          await insert(late, 'sending');
          await early.query('begin');
          await insert(early, 'sent');
          await early.query('commit');
          // The committed event waits: an older transaction may still commit a lower id.
          expect(await store.webhooks.fanOut(Date.now(), 500, 86_400_000)).toBe(0);
          await late.query('commit');
          expect(await fanOutAll(2)).toBe(2);
          expect(await store.webhooks.fanOut(Date.now(), 500, 86_400_000)).toBe(0);
        } finally {
          await Promise.all([early.end(), late.end()]);
        }
      });

    const sentOutcome = (id: string, owner: string, remoteIds: string[], over: Partial<Outcome> = {}) =>
      ({
        kind: 'sent',
        id,
        ownerId: owner,
        lease: LEASE,
        awaitsReport: true,
        channelId,
        remoteIds,
        countUnits: 0,
        startedAt: Date.now() - 5,
        at: Date.now(),
        ...over,
      }) as Outcome;
    const report = (remoteId: string, over: Partial<ReportOutcome> = {}): ReportOutcome => ({
      kind: 'report',
      channelId,
      remoteId,
      state: 'delivered',
      at: Date.now(),
      receivedAt: Date.now(),
      ...over,
    });

    it('fences outcomes by the claim: a late outcome of an expired lease changes nothing', async () => {
      const m = message(alice, { batch_id: 'fence' });
      await store.messages.acceptBatch([{ messages: [m] }]);
      const now = Date.now();
      const first = await store.messages.claim('node-a/1', 1000, now, 200);
      expect(first.map((r) => r.id)).toContain(m.id);
      await new Promise((r) => setTimeout(r, 300));
      expect(await store.messages.recoverLeases()).toBeGreaterThanOrEqual(1);
      const second = await store.messages.claim('node-b/1', 1000, Date.now(), 60_000);
      expect(second.map((r) => r.id)).toContain(m.id);
      // The first holder's submit answers late: refused, whatever it says.
      const late = await store.outcomes.apply([
        sentOutcome(m.id, alice, ['late-1'], { lease: 'node-a/1' }),
        {
          kind: 'failed',
          id: m.id,
          ownerId: alice,
          lease: 'node-a/1',
          channelId,
          errorCode: 'channel_error',
          error: 'x',
          startedAt: now,
          at: now,
        },
      ]);
      expect(late.fenced.map((f) => f.kind)).toEqual(['sent', 'failed']);
      expect((await store.messages.byId(m.id))?.status).toBe('sending');
      const ok = await store.outcomes.apply([sentOutcome(m.id, alice, ['new-1'], { lease: 'node-b/1' })]);
      expect(ok.fenced).toEqual([]);
      await store.outcomes.apply([report('new-1')]);
      // A duplicate outcome of the same claim after delivery cannot take it back to sent.
      const again = await store.outcomes.apply([sentOutcome(m.id, alice, ['new-2'], { lease: 'node-b/1' })]);
      expect(again.fenced).toHaveLength(1);
      expect((await store.messages.byId(m.id))?.status).toBe('delivered');
      expect((await store.messages.parts(m.id)).map((p) => p.remote_id)).toEqual(['new-1']);
    });

    it('applies a batch of sent outcomes together, each fenced by its own lease', async () => {
      const [a, b, c, d] = [message(alice), message(alice), message(alice, { segments: 2 }), message(bob)];
      await store.messages.acceptBatch([{ messages: [a, b, c, d] }]);
      await hold(a.id, b.id, c.id, d.id);
      const startedAt = Date.now();
      // A receipt that raced c's second part, and one about an earlier use of a's id (before the submit).
      await store.outcomes.apply([
        report(`grp-${c.id}-2`, { state: 'undelivered', errorCode: 'absent_subscriber' }),
      ]);
      await store.outcomes.apply([report(`grp-${a.id}`, { receivedAt: startedAt - 60_000 })]);
      const before = await store.db.kysely
        .selectFrom('messages')
        .select(['id', 'attempts', 'encoding', 'segments'])
        .where('id', 'in', [a.id, b.id, c.id])
        .execute();
      const attemptsOf = (id: string) => before.find((r) => r.id === id)?.attempts ?? -1;
      const r = await store.outcomes.apply([
        sentOutcome(a.id, alice, [`grp-${a.id}`], { startedAt, awaitsReport: false }),
        sentOutcome(b.id, alice, [`grp-${b.id}`], { lease: 'someone-else/1', startedAt }),
        sentOutcome(c.id, alice, [`grp-${c.id}-1`, `grp-${c.id}-2`], {
          startedAt,
          sentAs: { encoding: 'gsm7', segments: 1 },
        }),
        // A second outcome for a message in the same batch: applied after the first, so fenced.
        sentOutcome(a.id, alice, [`grp-${a.id}-again`], { startedAt }),
        sentOutcome(d.id, bob, [], { startedAt }),
      ]);
      expect(r.fenced).toEqual([
        { id: b.id, kind: 'sent' },
        { id: a.id, kind: 'sent' },
      ]);
      expect(r.finals).toEqual([{ id: a.id, status: 'sent' }]);
      const ma = await store.messages.byId(a.id);
      expect([ma?.status, ma?.attempts, ma?.lease_owner, ma?.channel_id]).toEqual([
        'sent',
        attemptsOf(a.id) + 1,
        null,
        channelId,
      ]);
      expect(ma?.final_at).not.toBeNull();
      const mb = await store.messages.byId(b.id);
      expect([mb?.status, mb?.attempts, mb?.lease_owner]).toEqual(['sending', attemptsOf(b.id), LEASE]);
      const mc = await store.messages.byId(c.id);
      expect([mc?.status, mc?.encoding, mc?.segments, mc?.final_at]).toEqual(['sent', 'gsm7', 1, null]);
      expect((await store.messages.byId(d.id))?.status).toBe('sent');
      expect((await store.messages.parts(a.id)).map((p) => [p.remote_id, p.status])).toEqual([
        [`grp-${a.id}`, 'sent'],
      ]);
      expect(await store.messages.parts(b.id)).toEqual([]);
      // The raced receipt landed on c's second part; the old one for a's id still waits.
      expect((await store.messages.parts(c.id)).map((p) => [p.seq, p.status])).toEqual([
        [0, 'sent'],
        [1, 'undelivered'],
      ]);
      const waiting = await store.db.kysely
        .selectFrom('pending_reports')
        .select('remote_id')
        .where('remote_id', 'in', [`grp-${a.id}`, `grp-${c.id}-2`])
        .execute();
      expect(waiting.map((w) => w.remote_id)).toEqual([`grp-${a.id}`]);
      expect((await store.messages.events(c.id)).map((e) => e.status)).toEqual(['queued', 'sending', 'sent']);
      expect((await store.messages.events(b.id)).map((e) => e.status)).toEqual(['queued']);
    });

    it('keeps a report that races its submit and applies it when the part is stored', async () => {
      const m = message(alice, { segments: 2 });
      await store.messages.acceptBatch([{ messages: [m] }]);
      await hold(m.id);
      // The submit started before the SMSC answered it, and the receipts came after that.
      const startedAt = Date.now();
      const before = await store.outcomes.apply([
        report(`race-${m.id}-1`),
        report(`race-${m.id}-2`, { state: 'undelivered', errorCode: 'absent_subscriber' }),
      ]);
      expect(before.pending).toHaveLength(2);
      const after = await store.outcomes.apply([
        sentOutcome(m.id, alice, [`race-${m.id}-1`, `race-${m.id}-2`], { startedAt }),
      ]);
      expect(after.finals).toEqual([{ id: m.id, status: 'partially_delivered' }]);
      expect(
        await store.db.kysely
          .selectFrom('pending_reports')
          .selectAll()
          .where('remote_id', 'like', `race-${m.id}%`)
          .execute(),
      ).toEqual([]);
      expect((await store.messages.events(m.id)).map((e) => e.status)).toEqual([
        'queued',
        'sending',
        'sent',
        'partially_delivered',
      ]);
    });

    it('matches converted ids only when one part matches, and reused ids to the newest part', async () => {
      const a = message(alice);
      const b = message(alice);
      const c = message(alice);
      await store.messages.acceptBatch([{ messages: [a, b, c] }]);
      await hold(a.id, b.id, c.id);
      const tag = a.id.slice(-6);
      await store.outcomes.apply([
        sentOutcome(a.id, alice, [`1A${tag}`]),
        sentOutcome(b.id, alice, [`1a${tag}`]),
      ]);
      // "1a…" and "1A…" both match the lower-case conversion: ambiguous, kept, not applied.
      const amb = await store.outcomes.apply([report(`x1a${tag}`, { altIds: [`1a${tag}`, `1A${tag}`] })]);
      expect(amb.pending).toHaveLength(1);
      expect((await store.messages.byId(a.id))?.status).toBe('sent');
      // The exact id always wins over conversions.
      await store.outcomes.apply([report(`1A${tag}`, { altIds: [`1a${tag}`] })]);
      expect((await store.messages.byId(a.id))?.status).toBe('delivered');
      expect((await store.messages.byId(b.id))?.status).toBe('sent');
      // A modem's TP-MR "7" used twice: the report belongs to the newest part within the window.
      await store.outcomes.apply([sentOutcome(c.id, alice, [`mr7-${tag}`], { at: Date.now() + 1000 })]);
      await store.db.kysely
        .updateTable('message_parts')
        .set({ remote_id: `mr7-${tag}` })
        .where('message_id', '=', b.id)
        .execute();
      await store.outcomes.apply([
        report(`mr7-${tag}`, { idReuseWindowMs: 60_000, receivedAt: Date.now() + 2000 }),
      ]);
      expect((await store.messages.byId(c.id))?.status).toBe('delivered');
      expect((await store.messages.byId(b.id))?.status).toBe('sent');
      // A second report for a final part with a unique id is a duplicate: counted, not applied.
      const dup = await store.outcomes.apply([report(`1A${tag}`, { state: 'undelivered' })]);
      expect(dup.duplicates).toBe(1);
      expect((await store.messages.byId(a.id))?.status).toBe('delivered');
      // With a reused reference, a report never lands on a final part: it goes to the part
      // still waiting for one (here the older b), or waits for the next use of the reference.
      const reused = await store.outcomes.apply([
        report(`mr7-${tag}`, {
          state: 'undelivered',
          idReuseWindowMs: 60_000,
          receivedAt: Date.now() + 2000,
        }),
      ]);
      expect(reused.duplicates).toBe(0);
      expect((await store.messages.byId(c.id))?.status).toBe('delivered');
      expect((await store.messages.byId(b.id))?.status).toBe('undelivered');
      expect((await store.messages.byId(c.id))?.status).toBe('delivered');
    });

    it('is final at sent when no report was asked for, and never expires', async () => {
      const m = message(alice, { expires_at: Date.now() - 1, report_requested: 0 });
      await store.messages.acceptBatch([{ messages: [m] }]);
      await hold(m.id);
      const r = await store.outcomes.apply([
        sentOutcome(m.id, alice, [`nr-${m.id}`], { awaitsReport: false }),
      ]);
      expect(r.finals).toEqual([{ id: m.id, status: 'sent' }]);
      await store.messages.expireDue(Date.now());
      const row = await store.messages.byId(m.id);
      expect(row?.status).toBe('sent');
      expect(row?.final_at).not.toBeNull();
    });

    it('sweeps a waiting report whose part another node stored, and drops expired ones', async () => {
      const m = message(alice);
      await store.messages.acceptBatch([{ messages: [m] }]);
      await hold(m.id);
      await store.outcomes.apply([report(`sw-${m.id}`)]);
      // The part lands without the pending check (as another node's transaction would).
      await store.db.kysely
        .insertInto('message_parts')
        .values({
          message_id: m.id,
          seq: 0,
          channel_id: channelId,
          remote_id: `sw-${m.id}`,
          status: 'sent',
          error_code: null,
          updated_at: Date.now(),
          created_at: Date.now(),
        })
        .execute();
      await store.db.kysely
        .updateTable('messages')
        .set({ status: 'sent', lease_owner: null })
        .where('id', '=', m.id)
        .execute();
      await store.outcomes.apply([
        report(`gone-${m.id}`, { idReuseWindowMs: 1, receivedAt: Date.now() - 10 }),
      ]);
      const swept = await store.outcomes.sweepPending(Date.now());
      expect(swept.applied).toBeGreaterThanOrEqual(1);
      expect(swept.dropped).toBeGreaterThanOrEqual(1);
      expect((await store.messages.byId(m.id))?.status).toBe('delivered');
    });

    it('expires sent messages with no final report after their validity', async () => {
      const m = message(alice, { expires_at: Date.now() - 1 });
      await store.messages.acceptBatch([{ messages: [m] }]);
      await hold(m.id);
      await store.outcomes.apply([
        {
          kind: 'sent',
          lease: LEASE,
          awaitsReport: true,
          id: m.id,
          ownerId: alice,
          channelId,
          remoteIds: ['e-1'],
          countUnits: 0,
          startedAt: Date.now(),
          at: Date.now(),
        },
      ]);
      expect(await store.messages.expireDue(Date.now())).toBeGreaterThanOrEqual(1);
      expect((await store.messages.byId(m.id))?.status).toBe('expired');
    });
  });
}
