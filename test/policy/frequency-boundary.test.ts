/**
 * Frequency caps at a period boundary, where they keep counter rows (PostgreSQL, several
 * writers: policy/frequency.ts countBatch; SQLite counts the messages themselves, see
 * frequency-messages.test.ts): a transaction whose clock was read just before a new
 * minute but that counts after one from the new minute (it waited for the row's lock, or its
 * node's clock is a little behind) must not reset the new minute's count. Periods never move
 * backwards, so a cap of 1 a minute lets exactly one message through in the new minute.
 */
import { describe, expect, it } from 'vitest';
import { frequencyRule } from '../../src/policy/frequency.js';
import type { Candidate } from '../../src/policy/rule.js';
import type { Db } from '../../src/store/db.js';
import type { Store } from '../../src/store/index.js';
import { TEST_DBS } from '../support/db.js';
import { checkRule, storeForSuite } from '../support/store.js';

describe.each(TEST_DBS)('frequency caps across a minute boundary ($name)', (tdb) => {
  let db: Db;
  let store: Store;
  storeForSuite(tdb, (s, _url, d) => {
    store = s;
    db = d;
  });

  it.skipIf(tdb.name === 'sqlite')(
    'a late transaction from the old minute does not reopen the new minute',
    async () => {
      const owner = (await store.users.create({ login: 'fb', passwordHash: 'x', role: 'user' })).id;
      await store.policy.replaceCaps(owner, [{ category: '', period: 'minute', max_count: 1 }]);
      const minute = Math.floor(Date.now() / 60_000) * 60_000 + 120_000;
      const verdict = async (id: string, now: number) => {
        const c = {
          message: { id, owner_id: owner, to: '+4915100000001' },
          info: {},
        } as unknown as Candidate;
        return (await checkRule(db, frequencyRule, now, [c])).get(id);
      };
      expect(await verdict('new-1', minute + 5)).toBeUndefined(); // the first of the new minute
      // From the old minute, counted late: it is counted in the row's (newer) minute, which is
      // full, so the cap errs on the safe side.
      expect(await verdict('old-late', minute - 10)).toMatchObject({ code: 'frequency_limited' });
      // A second message in the new minute: refused (before the fix the late one had reset it).
      expect(await verdict('new-2', minute + 300)).toMatchObject({ code: 'frequency_limited' });
    },
  );
});
