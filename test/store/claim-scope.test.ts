/** Claiming across nodes (store/claim-scope.ts): a node takes only messages a channel it holds can send; both databases. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClaimScope } from '../../src/store/claim-scope.js';
import { createStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/index.js';
import { message } from '../support/messages.js';
import { TEST_DBS } from '../support/db.js';

for (const tdb of TEST_DBS) {
  describe(`claim scope: ${tdb.name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    const ids: Record<string, string> = {};
    const users: Record<string, string> = {};

    beforeAll(async () => {
      const opened = await tdb.open();
      cleanup = opened.cleanup;
      store = createStore(opened.db);
      for (const login of ['alice', 'bob', 'carol'])
        users[login] = (await store.users.create({ login, passwordHash: 'x', role: 'user' })).id;
      const channel = async (name: string, owner: string | null, enabled = 1) =>
        (
          await store.channels.create({
            name,
            type: 'smpp',
            owner_id: owner,
            config: '{}',
            monthly_limit: null,
            count_mode: 'segments',
            min_interval_ms: 0,
            max_in_flight: 10,
            priority: 1,
            enabled,
          })
        ).id;
      const chA = await channel('alice-here', users.alice as string);
      const chB = await channel('bob-elsewhere', users.bob as string);
      const chS = await channel('shared-here', null);
      const chOff = await channel('off', null, 0);
      const put = async (key: string, owner: string, pinned: string | null) => {
        const m = message(owner, { pinned_channel_id: pinned } as never);
        ids[key] = m.id;
        await store.db.kysely.insertInto('messages').values(m).execute();
      };
      await put('pinnedHere', users.bob as string, chA);
      await put('pinnedElsewhere', users.alice as string, chB);
      await put('pinnedOff', users.alice as string, chOff);
      await put('aliceOwn', users.alice as string, null);
      await put('bobOwnElsewhere', users.bob as string, null);
      await put('carolShared', users.carol as string, null);
      Object.assign(ids, { chA, chB, chS });
    });
    afterAll(() => cleanup?.());

    const claimed = async (token: string, scope: ClaimScope) => {
      const rows = await store.messages.claim(token, 100, Date.now() + 1000, 60_000, scope);
      const byId = new Map(Object.entries(ids).map(([k, v]) => [v, k]));
      return rows.map((r) => byId.get(r.id)).sort();
    };

    it('without a shared channel: pinned to a held channel, to a disabled one, and owners of held channels', async () => {
      const scope: ClaimScope = {
        held: [ids.chA as string],
        enabled: [ids.chA, ids.chB, ids.chS] as string[],
        owners: [users.alice as string],
        shared: false,
        ownersWithOwn: [users.alice, users.bob] as string[],
      };
      expect(await claimed('n1/1', scope)).toEqual(['aliceOwn', 'pinnedHere', 'pinnedOff']);
    });

    it('with a shared channel also the owners without own channels; never what only another node can send', async () => {
      const scope: ClaimScope = {
        held: [ids.chS as string],
        enabled: [ids.chA, ids.chB, ids.chS] as string[],
        owners: [],
        shared: true,
        ownersWithOwn: [users.alice, users.bob] as string[],
      };
      expect(await claimed('n2/1', scope)).toEqual(['carolShared']);
      // Left for the nodes holding their channels.
      const rest = await store.messages.claim('n3/1', 100, Date.now() + 1000, 60_000);
      expect(rest.map((r) => r.id).sort()).toEqual([ids.pinnedElsewhere, ids.bobOwnElsewhere].sort());
    });

    it('tells by a read when the next message within the scope is due, and nothing outside it', async () => {
      // Everything due was claimed above.
      expect(await store.messages.nextDueIn()).toBeUndefined();
      const later = message(users.carol as string, { next_attempt_at: Date.now() + 60_000 });
      await store.db.kysely.insertInto('messages').values(later).execute();
      const shared: ClaimScope = {
        held: [ids.chS as string],
        enabled: [ids.chA, ids.chB, ids.chS] as string[],
        owners: [],
        shared: true,
        ownersWithOwn: [users.alice, users.bob] as string[],
      };
      const inMs = await store.messages.nextDueIn(shared);
      expect(inMs).toBeGreaterThan(50_000);
      expect(inMs).toBeLessThanOrEqual(60_000);
      const aliceOnly: ClaimScope = {
        ...shared,
        held: [ids.chA as string],
        owners: [users.alice as string],
        shared: false,
      };
      expect(await store.messages.nextDueIn(aliceOnly)).toBeUndefined();
      await store.db.kysely
        .updateTable('messages')
        .set({ next_attempt_at: 0 })
        .where('id', '=', later.id)
        .execute();
      expect(await store.messages.nextDueIn(shared)).toBe(0);
    });
  });
}
