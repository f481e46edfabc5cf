/**
 * SQLite's frequency caps count the messages that exist (policy/frequency.ts countFromMessages,
 * migration 027's `category`): by the calendar period of each message's `created_at`, per cap
 * set of its category, leaving out the policy's refusals (`rejected`) and other owners.
 */
import { v7 } from 'uuid';
import { describe, expect, it } from 'vitest';
import { frequencyRule } from '../../src/policy/frequency.js';
import type { Candidate } from '../../src/policy/rule.js';
import type { Db } from '../../src/store/db.js';
import type { Store } from '../../src/store/index.js';
import type { NewMessage } from '../../src/store/schema.js';
import { TEST_DBS } from '../support/db.js';
import { message } from '../support/messages.js';
import { checkRule, storeForSuite } from '../support/store.js';

const TO = '+4915100000009';

describe.each(TEST_DBS.filter((d) => d.name === 'sqlite'))(
  'frequency caps from the messages ($name)',
  (tdb) => {
    let db: Db;
    let store: Store;
    let n = 0;
    storeForSuite(tdb, (s, _url, d) => {
      store = s;
      db = d;
    });

    /** A stored message made at `at` (its UUIDv7 id too), as the accepting transaction wrote it. */
    async function stored(owner: string, at: number, over: Partial<NewMessage> = {}): Promise<void> {
      const m = message(owner, { id: v7({ msecs: at }), to: TO, created_at: at, ...over });
      await db.kysely
        .insertInto('messages')
        .values({ ...m, category: over.category ?? null })
        .execute();
    }

    /** The rule's verdict on one message to TO at `now`, in a transaction of its own. */
    const verdict = async (owner: string, now: number, category?: string) => {
      const id = `c${n++}`;
      const c = { message: { id, owner_id: owner, to: TO }, info: { category } } as unknown as Candidate;
      const v = (await checkRule(db, frequencyRule, now, [c])).get(id);
      return v?.action === 'reject' ? v.code : v?.action;
    };

    it('counts each message in the periods its created_at falls in', async () => {
      const owner = (await store.users.create({ login: 'p1', passwordHash: 'x', role: 'user' })).id;
      await store.policy.replaceCaps(owner, [
        { category: '', period: 'minute', max_count: 1 },
        { category: '', period: 'hour', max_count: 2 },
      ]);
      // A minute inside an hour, with room on both sides.
      const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000;
      const minute = hour + 30 * 60_000;
      await stored(owner, minute - 30_000); // the minute before, same hour
      expect(await verdict(owner, minute + 5)).toBeUndefined(); // the minute is empty, the hour has 1
      await stored(owner, minute + 1_000);
      expect(await verdict(owner, minute + 2_000)).toBe('frequency_limited'); // the minute is full
      expect(await verdict(owner, minute + 61_000)).toBe('frequency_limited'); // the hour is full
      expect(await verdict(owner, hour + 3_600_000 + 5)).toBeUndefined(); // the next hour
    });

    it('leaves out refused messages and other owners, and keeps categories apart', async () => {
      const owner = (await store.users.create({ login: 'p2', passwordHash: 'x', role: 'user' })).id;
      const other = (await store.users.create({ login: 'p3', passwordHash: 'x', role: 'user' })).id;
      await store.policy.replaceCaps(owner, [
        { category: '', period: 'day', max_count: 1 },
        { category: 'verification', period: 'day', max_count: 1 },
      ]);
      const now = Date.now();
      await stored(owner, now - 1_000, { status: 'rejected', error_code: 'frequency_limited' });
      await stored(other, now - 1_000);
      expect(await verdict(owner, now)).toBeUndefined();
      await stored(owner, now - 500, { category: 'verification' });
      // The verification code is counted in its own set only.
      expect(await verdict(owner, now)).toBeUndefined();
      expect(await verdict(owner, now, 'verification')).toBe('frequency_limited');
      await stored(owner, now - 400, { category: 'marketing' });
      // Marketing has no set of its own: it counts in the general one.
      expect(await verdict(owner, now)).toBe('frequency_limited');
    });

    it('counts the batch in request order, and a message a later rule refused does not count', async () => {
      const owner = (await store.users.create({ login: 'p4', passwordHash: 'x', role: 'user' })).id;
      await store.policy.replaceCaps(owner, [{ category: '', period: 'hour', max_count: 2 }]);
      await store.policy.setPrice('', 'any', 5);
      await store.policy.credit(owner, 5, null, true);
      const rows = Array.from({ length: 4 }, () => message(owner, { to: TO }));
      const [r] = await store.messages.acceptBatch([{ messages: rows }]);
      const refused = r?.kind === 'accepted' ? rows.map((m) => r.refused.get(m.id)?.code) : [];
      // Two places: the first is charged, the second has no balance left (and gives its place
      // back, but the caps counted it in this batch already), the rest are over the cap.
      expect(refused).toEqual([undefined, 'insufficient_balance', 'frequency_limited', 'frequency_limited']);
      await store.policy.credit(owner, 5, null);
      // Next batch: only the one stored as queued counts, so one place is left.
      const more = [message(owner, { to: TO }), message(owner, { to: TO })];
      const [r2] = await store.messages.acceptBatch([{ messages: more }]);
      expect(r2?.kind === 'accepted' ? more.map((m) => r2.refused.get(m.id)?.code) : []).toEqual([
        undefined,
        'frequency_limited',
      ]);
    });

    it('lets a batch under every cap through on the index alone, and counts it for the next one', async () => {
      const owner = (await store.users.create({ login: 'p5', passwordHash: 'x', role: 'user' })).id;
      await store.policy.replaceCaps(owner, [{ category: '', period: 'day', max_count: 3 }]);
      const to = '+4915100000077';
      const send = async (k: number) => {
        const rows = Array.from({ length: k }, () => message(owner, { to }));
        const [r] = await store.messages.acceptBatch([{ messages: rows }]);
        return r?.kind === 'accepted' ? rows.map((m) => r.refused.get(m.id)?.code) : [];
      };
      expect(await send(2)).toEqual([undefined, undefined]);
      expect(await send(1)).toEqual([undefined]);
      expect(await send(1)).toEqual(['frequency_limited']);
    });
  },
);
