/**
 * Reports applied as a group (store/report-batch.ts) give what one by one gave: a multipart
 * message is final once, when its last part is, with the status and error of its parts; a
 * second report about a final part is a duplicate, also inside one group; a report whose id
 * names no part waits in pending_reports; a report right after its `sent` in the same batch
 * finds the part.
 */
import { describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.js';
import type { Outcome } from '../../src/store/outcomes.js';
import { TEST_DBS } from '../support/db.js';
import { message } from '../support/messages.js';
import { storeForSuite } from '../support/store.js';

describe.each(TEST_DBS)('reports applied as a group ($name)', (tdb) => {
  let store: Store;
  storeForSuite(tdb, (s) => (store = s));

  async function sending(owner: string, n: number, token: string) {
    const ms = Array.from({ length: n }, (_, i) =>
      message(owner, { to: `+1555555${String(i).padStart(4, '0')}` }),
    );
    await store.messages.acceptBatch([{ messages: ms }]);
    const claimed = await store.messages.claim(token, n, Date.now(), 60_000);
    expect(claimed).toHaveLength(n);
    return ms.map((m) => m.id);
  }
  const sent = (id: string, owner: string, token: string, remoteIds: string[], at: number): Outcome => ({
    kind: 'sent',
    id,
    ownerId: owner,
    lease: token,
    channelId: 'ch',
    remoteIds,
    countUnits: 0,
    awaitsReport: true,
    startedAt: at,
    at,
  });
  const report = (
    remoteId: string,
    state: 'delivered' | 'undelivered' | 'accepted',
    at: number,
    errorCode?: string,
    altIds?: string[],
  ): Outcome => ({
    kind: 'report',
    channelId: 'ch',
    remoteId,
    state,
    at,
    receivedAt: at,
    ...(errorCode ? { errorCode } : {}),
    ...(altIds ? { altIds } : {}),
  });

  it('finalises each message once, from all its parts, with duplicates counted and strays kept', async () => {
    const owner = (await store.users.create({ login: `rb-${tdb.name}`, passwordHash: 'x', role: 'user' })).id;
    const [a, b, c] = await sending(owner, 3, 'tok-rb');
    const t = Date.now();
    const summary = await store.outcomes.apply([
      sent(a!, owner, 'tok-rb', ['a0', 'a1'], t),
      sent(b!, owner, 'tok-rb', ['b0', 'b1'], t),
      sent(c!, owner, 'tok-rb', ['c0'], t),
      // One group: a's two parts, b's first part (failed), c on its way, a stray.
      report('a0', 'delivered', t + 1),
      report('a1', 'delivered', t + 2),
      report('b0', 'undelivered', t + 3, 'unknown_subscriber'),
      report('c0', 'accepted', t + 4),
      report('nobody', 'delivered', t + 5),
      // a0 again (a new group): a duplicate; b's last part makes b final.
      report('a0', 'delivered', t + 6),
      report('b1', 'delivered', t + 7),
    ]);
    expect(summary.finals).toEqual([
      { id: a, status: 'delivered' },
      { id: b, status: 'partially_delivered' },
    ]);
    expect(summary.duplicates).toBe(1);
    expect(summary.pending).toEqual([{ channelId: 'ch', remoteId: 'nobody' }]);
    const rows = await store.db.kysely
      .selectFrom('messages')
      .select(['id', 'status', 'error_code', 'final_at'])
      .where('id', 'in', [a!, b!, c!])
      .execute();
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(byId.get(a!)).toMatchObject({ status: 'delivered', error_code: null, final_at: t + 2 });
    expect(byId.get(b!)).toMatchObject({ status: 'partially_delivered', error_code: 'unknown_subscriber' });
    expect(Number(byId.get(b!)?.final_at)).toBe(t + 7);
    expect(byId.get(c!)).toMatchObject({ status: 'sent', final_at: null });
    const part = await store.db.kysely
      .selectFrom('message_parts')
      .select('status')
      .where('remote_id', '=', 'c0')
      .executeTakeFirstOrThrow();
    expect(part.status).toBe('enroute');
    const finals = await store.db.kysely
      .selectFrom('message_events')
      .select(['message_id', 'status'])
      .where('message_id', 'in', [a!, b!])
      .where('status', 'in', ['delivered', 'partially_delivered'])
      .execute();
    expect(finals).toHaveLength(2);
  });

  it('applies a report matched by a converted id in its place in the group, as one by one', async () => {
    const owner = (await store.users.create({ login: `rb-alt-${tdb.name}`, passwordHash: 'x', role: 'user' }))
      .id;
    const [grouped, single] = await sending(owner, 2, 'tok-rb-alt');
    const t = Date.now();
    await store.outcomes.apply([
      sent(grouped!, owner, 'tok-rb-alt', ['6f1a'], t),
      sent(single!, owner, 'tok-rb-alt', ['6f1b'], t),
    ]);
    // A names the part by its exact id and delivers it; B names it only in a converted form
    // (hex id sent back in decimal) and comes later: the part is final by then, so B is a duplicate.
    const reports = (hex: string, dec: string): Outcome[] => [
      report(hex, 'delivered', t + 1),
      report(dec, 'undelivered', t + 2, 'unknown_subscriber', [hex]),
    ];
    const summary = await store.outcomes.apply(reports('6f1a', String(0x6f1a)));
    let singleDuplicates = 0;
    for (const r of reports('6f1b', String(0x6f1b))) {
      singleDuplicates += (await store.outcomes.apply([r])).duplicates;
    }
    expect(singleDuplicates).toBe(1);
    expect(summary.duplicates).toBe(1);
    expect(summary.finals).toEqual([{ id: grouped, status: 'delivered' }]);
    expect(summary.pending).toEqual([]);
    const rows = await store.db.kysely
      .selectFrom('messages')
      .select(['id', 'status', 'error_code', 'final_at'])
      .where('id', 'in', [grouped!, single!])
      .execute();
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const id of [grouped!, single!]) {
      expect(byId.get(id)).toMatchObject({ status: 'delivered', error_code: null });
      expect(Number(byId.get(id)?.final_at)).toBe(t + 1);
    }
  });
});
