/**
 * A recurring reminder fires on its cron schedule in its time zone (a fake clock drives the
 * schedule), once per occurrence even with two runners (two nodes) looking at the same time,
 * and each occurrence sends to the group as it is then.
 */
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { CampaignRunner, RUNNER_DEFAULTS } from '../../src/services/campaign-runner.js';
import { CampaignService } from '../../src/services/campaigns.js';
import { MessageService } from '../../src/services/messages.js';
import { createStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/index.js';
import { TEST_DBS } from '../support/db.js';

const logger = pino({ level: 'silent' });

describe.each(TEST_DBS)('recurring campaigns ($name)', (tdb) => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });

  it('fires monthly at 09:00 Rome time, once per occurrence across two runners', async () => {
    const opened = await tdb.open();
    const store: Store = createStore(opened.db);
    cleanup = opened.cleanup;
    const user = await store.users.create({ login: 'rec', passwordHash: 'x', role: 'user' });
    let now = Date.parse('2026-01-31T12:00:00Z');
    const clock = () => now;
    const messages = new MessageService(store, {
      maxRecipients: 1000,
      maxSegments: 10,
      defaultValidityMinutes: 60,
      maxAttempts: 1,
    });
    const service = new CampaignService(store, undefined, clock);
    const runners = [0, 1].map(
      () => new CampaignRunner(store, messages, logger, { ...RUNNER_DEFAULTS, leaseMs: 5_000 }, clock),
    );
    const group = await store.book.createGroup(user.id, 'tenants');
    await store.book.upsertMany(user.id, [{ number: '+393351000001', name: 'Anna' }], group.id);

    const parent = await service.create(
      { user, apiKeyId: null },
      {
        name: 'rent',
        text: 'Dear {name}, the rent is due.',
        audience: { group_ids: [group.id] },
        time_zone: 'Europe/Rome',
        recurrence: { cron: '0 9 1 * *' },
      },
    );
    // 09:00 in Rome on 1 February is 08:00 UTC (winter time).
    expect(parent).toMatchObject({
      status: 'scheduled',
      recurrence: { cron: '0 9 1 * *', next_at: '2026-02-01T08:00:00.000Z' },
    });
    const tickAll = async () => {
      await Promise.all(runners.map((r) => r.tick()));
      await Promise.all(runners.map((r) => r.idle()));
    };
    const sent = () =>
      store.db.kysely
        .selectFrom('messages')
        .select(['to', 'text', 'batch_id'])
        .orderBy('created_at')
        .execute();

    await tickAll();
    expect(await sent()).toHaveLength(0);
    now = Date.parse('2026-02-01T07:59:00Z');
    await tickAll();
    expect(await sent()).toHaveLength(0);

    now = Date.parse('2026-02-01T08:00:01Z');
    await tickAll(); // the occurrence: one child campaign
    await tickAll(); // the child runs
    await tickAll();
    let children = await store.campaigns.list(user.id, { limit: 10, parentId: parent.id as string });
    expect(children).toHaveLength(1);
    expect(children[0]).toMatchObject({
      status: 'completed',
      occurrence_at: Date.parse('2026-02-01T08:00:00Z'),
      recipients_total: 1,
    });
    expect(await sent()).toEqual([
      { to: '+393351000001', text: 'Dear Anna, the rent is due.', batch_id: children[0]!.id },
    ]);
    expect((await store.campaigns.byId(parent.id as string))?.next_run_at).toBe(
      Date.parse('2026-03-01T08:00:00Z'),
    );

    // The group grew before March; nothing more fires before then.
    await store.book.upsertMany(user.id, [{ number: '+393351000002', name: 'Bruno' }], group.id);
    now = Date.parse('2026-02-20T08:00:00Z');
    await tickAll();
    expect(await sent()).toHaveLength(1);
    now = Date.parse('2026-03-01T08:00:00Z');
    for (let i = 0; i < 3; i++) await tickAll();
    children = await store.campaigns.list(user.id, { limit: 10, parentId: parent.id as string });
    expect(children).toHaveLength(2);
    expect((await sent()).map((m) => m.to)).toEqual(['+393351000001', '+393351000001', '+393351000002']);
    // Summer time: 09:00 in Rome on 1 April is 07:00 UTC.
    expect((await store.campaigns.byId(parent.id as string))?.next_run_at).toBe(
      Date.parse('2026-04-01T07:00:00Z'),
    );

    // Paused, it does not fire; resumed, it fires at its next occurrence.
    await service.move(user.id, parent.id as string, 'pause');
    now = Date.parse('2026-04-01T07:00:30Z');
    await tickAll();
    expect(await sent()).toHaveLength(3);
    await service.move(user.id, parent.id as string, 'resume');
    for (let i = 0; i < 3; i++) await tickAll();
    expect(await sent()).toHaveLength(5);
  }, 60_000);
});
