/**
 * Scheduled work claimed like queue work: two nodes (two stores, two connection pools, one
 * PostgreSQL schema) running expiry and retention at the same moment do each job once — one
 * `expired` event per message, each old row deleted and counted by one node.
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Housekeeper } from '../../src/services/housekeeping.js';
import type { Store } from '../../src/store/index.js';
import { createStore, openDb } from '../../src/store/index.js';
import { message } from '../support/messages.js';
import { PG_URL, pgSchemaUrl } from '../support/db.js';

const DAY = 86_400_000;

describe.skipIf(!PG_URL)('scheduled work on two nodes at once (PostgreSQL)', () => {
  let a: Store;
  let b: Store;
  let drop: () => Promise<void>;
  let owner: string;

  beforeAll(async () => {
    const schema = await pgSchemaUrl();
    drop = schema.drop;
    a = createStore(await openDb({ databaseUrl: schema.url, poolSize: 4 }));
    b = createStore(await openDb({ databaseUrl: schema.url, poolSize: 4 }));
    owner = (await a.users.create({ login: 'sched', passwordHash: 'x', role: 'user' })).id;
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await drop?.();
  });

  const insert = async (n: number, over: Parameters<typeof message>[1]) => {
    const rows = Array.from({ length: n }, (_, i) =>
      message(owner, { to: `+1555010${String(i).padStart(4, '0')}`, ...over }),
    );
    for (let i = 0; i < rows.length; i += 200) {
      await a.db.kysely
        .insertInto('messages')
        .values(rows.slice(i, i + 200))
        .execute();
    }
    return rows.map((r) => r.id);
  };

  it('expires each message once: one expired event each, counted by one node', async () => {
    const now = Date.now();
    // Queued, never due (the dispatcher is not running anyway), validity ran out.
    const ids = await insert(2500, { expires_at: now - 1000, next_attempt_at: now + DAY });
    const drain = async (s: Store) => {
      let n = 0;
      for (;;) {
        const got = await s.messages.expireDue();
        if (got === 0) return n;
        n += got;
      }
    };
    const [na, nb] = await Promise.all([drain(a), drain(b)]);
    expect(na + nb).toBe(ids.length);
    const events = await a.db.kysely
      .selectFrom('message_events')
      .select(['message_id'])
      .where('status', '=', 'expired')
      .execute();
    expect(events.length).toBe(ids.length);
    expect(new Set(events.map((e) => e.message_id)).size).toBe(ids.length);
    const left = await a.db.kysely
      .selectFrom('messages')
      .select('id')
      .where('status', '!=', 'expired')
      .execute();
    expect(left).toEqual([]);
  }, 60_000);

  it('two housekeepers purge side by side: every old row deleted and counted once', async () => {
    const before = await a.db.kysely
      .selectFrom('messages')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    const now = Date.now();
    await insert(3000, { status: 'delivered', final_at: now, next_attempt_at: now });
    const total = Number(before.n) + 3000;
    const retention = { messagesDays: 30, inboundDays: 0, webhooksDays: 0 };
    const log = pino({ level: 'silent' });
    const ha = new Housekeeper(a, retention, log);
    const hb = new Housekeeper(b, retention, log);
    // "Now" 100 days on: every message row is older than its 30 days.
    const later = now + 100 * DAY;
    const [ra, rb] = await Promise.all([ha.runOnce(later), hb.runOnce(later)]);
    expect((ra.messages ?? 0) + (rb.messages ?? 0)).toBe(total);
    const left = await a.db.kysely.selectFrom('messages').select('id').execute();
    expect(left).toEqual([]);
    // Both took part (disjoint batches), rather than one waiting for the other's locks.
    expect(ra.messages).toBeGreaterThan(0);
    expect(rb.messages).toBeGreaterThan(0);
  }, 60_000);
});
