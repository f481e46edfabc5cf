/** Retention: old final rows are deleted in batches while new messages keep arriving. */
import { v7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewMessage } from '../../src/store/schema.js';
import type { TestApp } from '../support/app.js';
import { startTestApp } from '../support/app.js';
import { message } from '../support/messages.js';

const DAY = 86_400_000;

describe('retention', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ SMSGW_RETENTION_MESSAGES_DAYS: '30', SMSGW_RETENTION_INBOUND_DAYS: '30' });
  });
  afterAll(() => t.stop());

  function old(ownerId: string, ageDays: number, status: string): NewMessage {
    const at = Date.now() - ageDays * DAY;
    return message(ownerId, {
      id: v7({ msecs: at }),
      batch_id: 'old',
      text: 'old news',
      status,
      attempts: 1,
      created_at: at,
      updated_at: at,
      next_attempt_at: at,
      expires_at: at + DAY,
      sent_at: at,
      final_at: status === 'scheduled' ? null : at,
    });
  }

  it('deletes final messages, their events and old inbound past the retention, never new or waiting ones', async () => {
    const store = t.app.store;
    const admin = (await t.call('GET', '/v1/me')).body.id as string;
    const stale = Array.from({ length: 1_200 }, () => old(admin, 40, 'delivered'));
    // Scheduled 40 days ago for a send two days from now: not final, so kept.
    const waiting = {
      ...old(admin, 40, 'scheduled'),
      next_attempt_at: Date.now() + 2 * DAY,
      expires_at: Date.now() + 3 * DAY,
    };
    const recent = old(admin, 10, 'delivered');
    await store.messages.acceptBatch([{ messages: [...stale, waiting, recent] }]);
    // What they were charged (as the accepting transaction of a priced user writes it).
    await store.db.kysely
      .updateTable('messages')
      .set({ charge: -5 })
      .where('id', 'in', [stale[0]!.id, recent.id])
      .execute();
    const channelId = (await t.call('GET', '/v1/channels')).body.data[0].id as string;
    await store.inbound.insert({
      owner_id: admin,
      channel_id: channelId,
      from: '+15555550199',
      to: null,
      text: 'old reply',
      incomplete: 0,
      keyword: null,
      received_at: Date.now() - 40 * DAY,
    });

    // New traffic while the purge runs.
    const acknowledged: string[] = [];
    let stop = false;
    const load = (async () => {
      for (let i = 0; !stop; i++) {
        const r = await t.call('POST', '/v1/messages', {
          body: { to: `+1555556${String(i).padStart(4, '0')}`, text: 'new' },
        });
        expect(r.status).toBe(202);
        acknowledged.push(r.body.messages[0].id);
      }
    })();
    const deleted = await t.app.housekeeper.runOnce();
    stop = true;
    await load;

    expect(deleted.messages).toBe(1_200);
    expect(deleted.inbound).toBe(1);
    for (const m of [stale[0]!, stale[1_199]!]) {
      expect(await store.messages.byId(m.id)).toBeUndefined();
      expect(await store.messages.events(m.id)).toEqual([]);
    }
    const charges = await store.db.kysely
      .selectFrom('messages')
      .select('id')
      .where('charge', 'is not', null)
      .execute();
    expect(charges.map((c) => c.id)).toEqual([recent.id]);
    expect((await store.messages.byId(waiting.id))?.status).toBe('scheduled');
    expect((await store.messages.byId(recent.id))?.status).toBe('delivered');
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const id of acknowledged) expect(await store.messages.byId(id)).toBeDefined();
    // A second pass finds nothing more.
    expect((await t.app.housekeeper.runOnce()).messages).toBe(0);
  });
});
