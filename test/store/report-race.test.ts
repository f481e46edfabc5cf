/**
 * A delivery report changes a part only while the part is not final, checked in the UPDATE
 * itself: a report applied at the same moment on another connection (another node after a
 * channel lease moved) cannot take a delivered part back to `enroute`. PostgreSQL only: SQLite
 * has one writer, so the read and the write of one report cannot be split by another.
 */
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.js';
import { TEST_DBS, waitForLockWait } from '../support/db.js';
import { storeForSuite } from '../support/store.js';
import { message } from '../support/messages.js';

const POSTGRES = TEST_DBS.filter((d) => d.name === 'postgres');

describe.skipIf(POSTGRES.length === 0).each(POSTGRES)('report against a concurrent report ($name)', (tdb) => {
  let store: Store;
  let url: string;
  storeForSuite(tdb, (s, u) => {
    store = s;
    url = u as string;
  });

  it('a report read before another one committed does not undo that one', async () => {
    const owner = (await store.users.create({ login: 'rr', passwordHash: 'x', role: 'user' })).id;
    const m = message(owner, { to: '+15555550777' });
    await store.messages.acceptBatch([{ messages: [m] }]);
    expect(await store.messages.claim('tok', 10, Date.now(), 60_000)).toHaveLength(1);
    const now = Date.now();
    await store.outcomes.apply([
      {
        kind: 'sent',
        id: m.id,
        ownerId: owner,
        lease: 'tok',
        channelId: 'ch',
        remoteIds: ['race-1'],
        countUnits: 0,
        awaitsReport: true,
        startedAt: now,
        at: now,
      },
    ]);
    // The other node's report: the part is delivered, not committed yet (it holds the row).
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    try {
      await other.query('begin');
      await other.query(`update message_parts set status = 'delivered' where remote_id = 'race-1'`);
      // This node's report (an intermediate "accepted") reads the part as `sent` and waits on the row.
      const late = store.outcomes.apply([
        { kind: 'report', channelId: 'ch', remoteId: 'race-1', state: 'accepted', at: now, receivedAt: now },
      ]);
      // Committed only once the late report waits on the row: else nothing would race.
      await waitForLockWait(other, 'message_parts');
      await other.query('commit');
      await late;
    } finally {
      await other.end();
    }
    const part = await store.db.kysely
      .selectFrom('message_parts')
      .select('status')
      .where('remote_id', '=', 'race-1')
      .executeTakeFirstOrThrow();
    expect(part.status).toBe('delivered');
  });
});
