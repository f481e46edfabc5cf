/**
 * Frequency caps count the same on both backends where SQLite counts the stored messages
 * (policy/frequency.ts) and PostgreSQL its counter rows: retention does not delete what a cap
 * still counts, and a STOP/HELP answer sent past the policy takes no place.
 */
import { describe, expect, it } from 'vitest';
import type { Db } from '../../src/store/db.js';
import type { Store } from '../../src/store/index.js';
import { TEST_DBS } from '../support/db.js';
import { message } from '../support/messages.js';
import { storeForSuite } from '../support/store.js';

describe.each(TEST_DBS)('caps over stored messages ($name)', (tdb) => {
  let store: Store;
  let db: Db;
  storeForSuite(tdb, (s, _u, d) => {
    store = s;
    db = d;
  });

  const send = async (owner: string, to: string, k: number, policy?: { bypass?: boolean }) => {
    const rows = Array.from({ length: k }, () => message(owner, { to }));
    const [r] = await store.messages.acceptBatch([{ messages: rows, policy }]);
    return r?.kind === 'accepted' ? rows.map((m) => r.refused.get(m.id)?.code ?? 'ok') : [];
  };

  it('a monthly cap still counts messages retention would delete', async () => {
    const owner = (await store.users.create({ login: 'ret', passwordHash: 'x', role: 'user' })).id;
    await store.policy.replaceCaps(owner, [{ category: '', period: 'month', max_count: 2 }]);
    const to = '+4915100000111';
    expect(await send(owner, to, 2)).toEqual(['ok', 'ok']);
    await db.kysely
      .updateTable('messages')
      .set({ status: 'delivered', final_at: Date.now() })
      .where('owner_id', '=', owner)
      .execute();
    // A retention of "everything final before now": kept on SQLite, where the cap reads them.
    await store.retention.messages(Date.now() + 1000, 500);
    expect(await send(owner, to, 1)).toEqual(['frequency_limited']);
  });

  it('an answer sent past the policy (STOP, HELP) takes no place under a cap', async () => {
    const owner = (await store.users.create({ login: 'byp', passwordHash: 'x', role: 'user' })).id;
    await store.policy.replaceCaps(owner, [{ category: '', period: 'hour', max_count: 1 }]);
    const to = '+4915100000222';
    expect(await send(owner, to, 1, { bypass: true })).toEqual(['ok']);
    expect(await send(owner, to, 1)).toEqual(['ok']);
    expect(await send(owner, to, 1)).toEqual(['frequency_limited']);
  });
});
