/**
 * Config writes announce themselves (store/config-changes.ts) through the database's notifier;
 * runtime writes do not. On SQLite the notifier is in-process; the PostgreSQL path is in
 * test/cluster/wakeups.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.js';
import { createStore } from '../../src/store/index.js';
import { TEST_DBS } from '../support/db.js';

for (const tdb of TEST_DBS) {
  describe(`config writes announce themselves: ${tdb.name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    let heard: string[] = [];

    beforeAll(async () => {
      const opened = await tdb.open();
      store = createStore(opened.db);
      cleanup = opened.cleanup;
      store.db.notifier.subscribe('config', (payload) => heard.push(payload));
      await store.db.notifier.ready();
    });
    afterAll(() => cleanup?.());

    /** Runs `write`, then collects what was announced (PostgreSQL: a round trip through the server). */
    const announced = async (write: () => Promise<unknown>): Promise<string[]> => {
      heard = [];
      await write();
      await store.db.notifier.flush();
      // A NOTIFY reaches the listening connection a moment after it is sent.
      const until = Date.now() + (tdb.name === 'postgres' ? 500 : 20);
      while (Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      return heard;
    };

    it('announces channel, user, key, keyword and settings writes, each once, by area', async () => {
      let channelId = '';
      expect(
        await announced(async () => {
          channelId = (
            await store.channels.create({
              name: 'c1',
              type: 'simulator',
              owner_id: null,
              config: '{}',
              monthly_limit: null,
              count_mode: 'segments',
              min_interval_ms: 0,
              max_in_flight: 1,
              priority: 1,
              enabled: 1,
            })
          ).id;
        }),
      ).toEqual(['channels']);
      expect(await announced(() => store.channels.update(channelId, { min_interval_ms: 1000 }))).toEqual([
        'channels',
      ]);
      let userId = '';
      expect(
        await announced(async () => {
          userId = (await store.users.create({ login: 'cfg', passwordHash: 'x', role: 'user' })).id;
        }),
      ).toEqual(['users']);
      expect(await announced(() => store.users.update(userId, { status: 'blocked' }))).toEqual(['users']);
      let keyId = '';
      expect(
        await announced(async () => {
          keyId = (await store.keys.create({ userId, name: 'k', prefix: 'pfx12345', secretHash: 'h' })).id;
        }),
      ).toEqual(['keys']);
      expect(await announced(() => store.keys.revoke(keyId))).toEqual(['keys']);
      let ruleId = '';
      expect(
        await announced(async () => {
          ruleId = (
            await store.keywords.create({
              owner_id: userId,
              match_type: 'exact',
              pattern: 'INFO',
              action: 'tag',
              reply_text: null,
              forward_url: null,
              tag: 'info',
              priority: 1,
              enabled: 1,
            })
          ).id;
        }),
      ).toEqual(['keywords']);
      expect(await announced(() => store.keywords.delete(ruleId, userId))).toEqual(['keywords']);
      expect(await announced(() => store.webhooks.updateSettings(userId, { transliterate: 1 }))).toEqual([
        'settings',
      ]);
    });

    it('does not announce runtime writes: a channel state, a key use, an SMPP bind', async () => {
      const ch = (await store.channels.list())[0]!;
      const user = (await store.users.list()).find((u) => u.login === 'cfg')!;
      const key = (await store.keys.list(user.id))[0]!;
      expect(await announced(() => store.channels.update(ch.id, { state: 'error' }))).toEqual([]);
      expect(await announced(() => store.keys.touch(key.id, Date.now()))).toEqual([]);
      expect(await announced(() => store.users.markSmppBound(user.id, Date.now()))).toEqual([]);
    });
  });
}
