/**
 * The change feed on PostgreSQL returns the event of a long transaction that commits after a
 * later one (two raw connections), and none twice; numeric cursors of earlier versions still
 * work; cursors it never gave out are refused with a code. SQLite: the same API, ids in order.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../support/app.js';
import { startTestApp } from '../support/app.js';
import { PG_URL, pgSchemaUrl } from '../support/db.js';

type Page = { data: { id: number; status: string; detail?: string | null }[]; next_cursor: string };

const backends = [{ name: 'sqlite', pg: false }, ...(PG_URL ? [{ name: 'postgres', pg: true }] : [])];

for (const backend of backends) {
  describe(`change feed cursor: ${backend.name}`, () => {
    let t: TestApp;
    let url: string | undefined;
    let drop: (() => Promise<void>) | undefined;
    let ownerId: string;

    beforeAll(async () => {
      if (backend.pg) {
        const schema = await pgSchemaUrl();
        url = schema.url;
        drop = schema.drop;
      }
      // No simulator: nothing but the test writes events.
      t = await startTestApp({ SMSGW_SIMULATOR: 'false', ...(url ? { DATABASE_URL: url } : {}) });
      ownerId = (await t.call('GET', '/v1/me')).body.id;
    });
    afterAll(async () => {
      await t?.stop();
      await drop?.();
    });

    const page = async (after: string, extra = ''): Promise<Page> => {
      const r = await t.call('GET', `/v1/events?after=${encodeURIComponent(after)}&limit=1000${extra}`);
      expect(r.status).toBe(200);
      expect(typeof r.body.next_cursor).toBe('string');
      return r.body as Page;
    };

    /** Writes one event the way the store does (one INSERT), through `exec`. */
    const insertEvent = (exec: (text: string, values: unknown[]) => Promise<unknown>, detail: string) =>
      exec(
        `insert into message_events (message_id, owner_id, status, error_code, detail, channel_id, created_at)
         values ($1, $2, 'queued', null, $3, null, $4)`,
        ['m-feed', ownerId, detail, Date.now()],
      );

    it.skipIf(!backend.pg)(
      'returns the event of a long transaction that commits after a later one, and none twice',
      async () => {
        const start = (await t.call('GET', '/v1/events?latest=true')).body.next_cursor as string;
        const long = new pg.Client({ connectionString: url });
        const short = new pg.Client({ connectionString: url });
        await long.connect();
        await short.connect();
        try {
          // The long transaction takes its event id (and transaction id) first...
          await long.query('begin');
          await insertEvent((q, v) => long.query(q, v), 'long');
          // ...a later one takes the next id and commits at once.
          await insertEvent((q, v) => short.query(q, v), 'short');
          // Past the old 2 s hold, while the long one still runs, the feed shows neither: showing
          // "short" now would move the cursor past the id of "long", which the 2 s hold did, and
          // then never showed "long".
          await new Promise((r) => setTimeout(r, 2200));
          const during = await page(start);
          expect(during.data.map((e) => e.detail)).toEqual([]);
          expect(during.next_cursor).toBe(start);
          await long.query('commit');
        } finally {
          await long.end();
          await short.end();
        }
        // Other sessions on the shared server may run older transactions for a moment, and the
        // feed waits for them too: long-poll instead of reading once.
        const after = await page(start, '&wait=20');
        expect(after.data.map((e) => e.detail)).toEqual(['long', 'short']);
        // None twice: the cursor of that page leads to nothing more.
        const again = await page(after.next_cursor);
        expect(again.data).toEqual([]);
        expect(again.next_cursor).toBe(after.next_cursor);
        // And events written later follow, once each.
        await add('later');
        const later = await page(after.next_cursor, '&wait=20');
        expect(later.data.map((e) => e.detail)).toEqual(['later']);
        expect((await page(later.next_cursor)).data).toEqual([]);
      },
      30_000,
    );

    it('accepts the numeric cursors of earlier versions and goes on without repeats', async () => {
      const all = await page('0');
      const n = all.data.length;
      await add('n1');
      await add('n2');
      let full = await page('0');
      // (PostgreSQL: shown once every older transaction on the shared server has ended.)
      while (full.data.length < n + 2) full = await page('0', '&wait=1');
      expect(full.data.length).toBe(n + 2);
      // An old client stored the id of the event before "n1" as its cursor.
      const ids = full.data.map((e) => e.id);
      const old = String(ids[n - 1] ?? 0);
      const fromOld = await page(old);
      expect(fromOld.data.map((e) => e.detail)).toEqual(['n1', 'n2']);
      expect((await page(fromOld.next_cursor)).data).toEqual([]);
      // A page boundary inside: limit 1, then the rest, nothing twice.
      const one = (await t.call('GET', `/v1/events?after=${old}&limit=1`)).body as Page;
      expect(one.data.map((e) => e.detail)).toEqual(['n1']);
      expect((await page(one.next_cursor)).data.map((e) => e.detail)).toEqual(['n2']);
      if (!backend.pg) expect(fromOld.next_cursor).toBe(String(ids[n + 1]));
    });

    it('refuses cursors it never gave out with 400 invalid_cursor', async () => {
      for (const bad of [
        'abc',
        '-1',
        'c1',
        'c1_x',
        'c_1',
        'c1_2_3_4',
        '1.5',
        '01',
        'c' + '9'.repeat(21) + '_1',
        '99999999999999999999',
      ]) {
        const r = await t.call('GET', `/v1/events?after=${encodeURIComponent(bad)}`);
        expect(r.status, bad).toBe(400);
        expect(r.body.error.code, bad).toBe('invalid_cursor');
        expect(r.body.error.field, bad).toBe('after');
      }
    });

    /** One event through the app's own database handle, committed at once. */
    function add(detail: string) {
      return t.app.store.db.kysely
        .insertInto('message_events')
        .values({
          message_id: 'm-feed',
          owner_id: ownerId,
          status: 'queued',
          error_code: null,
          detail,
          channel_id: null,
          created_at: Date.now(),
        })
        .execute();
    }
  });
}
