/**
 * A webhook delivery's outcome is recorded only under the lease it was attempted with: a node
 * whose lease ran out (another node took the row and delivered it) changes nothing, on SQLite
 * and PostgreSQL.
 */
import { describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.js';
import { TEST_DBS } from '../support/db.js';
import { storeForSuite } from '../support/store.js';

describe.each(TEST_DBS)('webhook delivery leases ($name)', (tdb) => {
  let store: Store;
  storeForSuite(tdb, (s) => (store = s));

  it('a slow node whose lease was taken over cannot overwrite the delivery the new holder recorded', async () => {
    const now = Date.now();
    await store.webhooks.enqueue({
      event_id: 'evt_lease_1',
      owner_id: 'u1',
      kind: 'status',
      ordering_key: 'm1',
      url: 'http://127.0.0.1:9/hook',
      payload: '{}',
      next_attempt_at: now - 1_000,
      give_up_at: now + 86_400_000,
      created_at: now,
    });
    const [slow] = await store.webhooks.claimDue(now, now + 60_000, 10);
    expect(slow?.event_id).toBe('evt_lease_1');
    // The slow node's lease runs out; another node takes the row and delivers it.
    await store.db.kysely.updateTable('webhook_outbox').set({ lease_until: 1 }).execute();
    const [taker] = await store.webhooks.claimDue(Date.now(), Date.now() + 60_000, 10);
    expect(taker?.id).toBe(slow?.id);
    // While the taker is still delivering (the row still pending, under its lease), the slow
    // node's late attempt writes nothing: the lease it was made under is gone.
    const early = { statusCode: 500, error: null, durationMs: 30_000, at: Date.now() };
    expect(await store.webhooks.recordAttempt(slow!, early, Date.now() + 1_000)).toBe('superseded');
    const attempt = { statusCode: 200, error: null, durationMs: 5, at: Date.now() };
    expect(await store.webhooks.recordAttempt(taker!, attempt, Date.now() + 1_000)).toBe('delivered');
    // The slow node's attempt finally fails: it is not recorded over the delivery.
    const late = { statusCode: 500, error: null, durationMs: 30_000, at: Date.now() };
    expect(await store.webhooks.recordAttempt(slow!, late, Date.now() + 1_000)).toBe('superseded');
    const row = await store.db.kysely
      .selectFrom('webhook_outbox')
      .select(['status', 'attempts', 'last_status_code'])
      .where('event_id', '=', 'evt_lease_1')
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ status: 'delivered', attempts: 1, last_status_code: 200 });
  });
});
