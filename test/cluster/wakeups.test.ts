/**
 * Wake-ups between nodes on one PostgreSQL (LISTEN/NOTIFY): a config change made through node A
 * takes effect on node B within a second, and a message accepted on A wakes B's dispatcher
 * although B polls only every 10 minutes.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimulatorDriver } from '../../src/channels/simulator/driver.js';
import type { PostgresNotifier } from '../../src/store/notify/postgres/index.js';
import type { TestApp } from '../support/app.js';
import { eventually, startTestApp } from '../support/app.js';
import { PG_URL, pgSchemaUrl } from '../support/db.js';

/** A config file that makes the dispatcher poll every 10 minutes: only a wake-up can start a send. */
function slowPollConfig(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'smsgw-wake-')), 'config.json');
  writeFileSync(file, JSON.stringify({ dispatch: { pollMs: 600_000 } }));
  return file;
}

/** Polls every 10 ms until `check` holds; returns the milliseconds it took. */
async function within(ms: number, check: () => boolean): Promise<number> {
  const start = performance.now();
  while (!check()) {
    if (performance.now() - start > ms) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return performance.now() - start;
}

describe.skipIf(!PG_URL)('wake-ups between nodes on PostgreSQL', () => {
  let a: TestApp;
  let b: TestApp;
  let url: string;
  let drop: () => Promise<void>;
  let channelId: string;

  beforeAll(async () => {
    const schema = await pgSchemaUrl();
    drop = schema.drop;
    url = schema.url;
    const env = { DATABASE_URL: url, SMSGW_CONFIG: slowPollConfig() };
    a = await startTestApp({ ...env, SMSGW_NODE_NAME: 'node-a' });
    b = await startTestApp({ ...env, SMSGW_NODE_NAME: 'node-b' });
    channelId = (await a.call('GET', '/v1/channels')).body.data[0].id;
    // A channel runs on one node at a time (channel leases): pinned to B, B is the one that
    // must hear about changes made through A, and only B can send what A accepts.
    const pin = await a.call('PATCH', `/v1/channels/${channelId}`, {
      body: { config: { node: 'node-b', successRate: 1 } },
    });
    expect(pin.status).toBe(200);
    await eventually(async () => (b.app.registry.get(channelId) ? true : undefined));
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await drop?.();
  });

  it('a channel interval changed through A is in force on B within a second', async () => {
    expect(b.app.registry.get(channelId)?.row.min_interval_ms).toBe(0);
    const r = await a.call('PATCH', `/v1/channels/${channelId}`, { body: { min_interval_ms: 4321 } });
    expect(r.status).toBe(200);
    await within(1000, () => b.app.registry.get(channelId)?.row.min_interval_ms === 4321);
    await a.call('PATCH', `/v1/channels/${channelId}`, { body: { min_interval_ms: 0 } });
    await within(1000, () => b.app.registry.get(channelId)?.row.min_interval_ms === 0);
  });

  it('a channel disabled through A stops on B within a second, and starts again', async () => {
    expect((await a.call('POST', `/v1/channels/${channelId}/disable`)).status).toBe(200);
    await within(1000, () => b.app.registry.get(channelId) === undefined);
    expect((await a.call('POST', `/v1/channels/${channelId}/enable`)).status).toBe(200);
    await within(1000, () => b.app.registry.get(channelId) !== undefined);
  });

  it('a channels notification (a lease moved) makes B sync its channels at once', async () => {
    // B syncs its channels for other reasons too (its lease rounds every 2 s, the notifications of
    // the test before): a window in which any sync ran says nothing, and is tried again.
    const registry = b.app.registry;
    const sync = registry.sync.bind(registry);
    let syncs = 0;
    registry.sync = () => {
      syncs++;
      return sync();
    };
    // The lease rounds wait until the end, so that only the notification can make B sync below.
    const leases = b.app.leases;
    const round = leases.onRound;
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    leases.onRound = async () => {
      await gate;
      return round();
    };
    try {
      let value = 77;
      for (; ; value++) {
        // Every sync begun so far has ended (they run one after another), none since.
        await sync();
        syncs = 0;
        // A write no repository announces (as a lease table change would be)...
        await a.app.store.db.kysely
          .updateTable('channels')
          .set({ max_in_flight: value })
          .where('id', '=', channelId)
          .execute();
        await new Promise((r) => setTimeout(r, 200));
        if (syncs === 0) break;
        expect(value).toBeLessThan(87);
      }
      expect(registry.get(channelId)?.row.max_in_flight).not.toBe(value);
      // ...then the notification the channel-lease code publishes when a lease moves.
      a.app.store.db.notifier.publish('channels', channelId);
      await within(1000, () => registry.get(channelId)?.row.max_in_flight === value);
    } finally {
      registry.sync = sync;
      leases.onRound = round;
      open();
    }
  });

  it('a key revoked through A is refused by B at once, though B had it cached', async () => {
    const user = await a.call('POST', '/v1/users', {
      body: { login: 'carol', password: 'carol-password-1' },
    });
    expect(user.status).toBe(201);
    const key = await a.call('POST', '/v1/keys', { body: { name: 'k', user_id: user.body.id } });
    expect(key.status).toBe(201);
    // B verifies and caches the key (5 s)...
    expect((await b.call('GET', '/v1/me', { auth: key.body.key })).status).toBe(200);
    expect((await a.call('DELETE', `/v1/keys/${key.body.id}`)).status).toBe(200);
    const start = performance.now();
    await eventually(
      async () => ((await b.call('GET', '/v1/me', { auth: key.body.key })).status === 401 ? true : undefined),
      5000,
    );
    // ...and forgets it on the notification, well before the cache would have run out.
    expect(performance.now() - start).toBeLessThan(1000);
  });

  it('a message accepted on A wakes the dispatcher of B, which polls every 10 minutes', async () => {
    // A takes requests but sends nothing: only B can send, and only if something wakes it.
    await a.app.dispatcher.stop();
    // Let B's loop finish whatever round it was in and go to sleep for its poll interval.
    await new Promise((r) => setTimeout(r, 300));
    const sim = b.app.registry.get(channelId)!.driver as SimulatorDriver;
    const before = sim.sent.length;
    const t0 = performance.now();
    const r = await a.call('POST', '/v1/messages', { body: { to: '+15550001111', text: 'wake up' } });
    expect(r.status).toBe(202);
    await within(5000, () => sim.sent.some((s) => s.id === r.body.messages[0].id));
    const latency = performance.now() - t0;
    // A generous bound: it says "woken", not "at the 10-minute poll" (the figure is printed).
    expect(latency).toBeLessThan(5000);
    console.info(`accepted on A → submitted by B: ${latency.toFixed(0)} ms (including the HTTP request)`);
    expect(sim.sent.length).toBe(before + 1);
  });

  it('the listening connection comes back after the server cut it, and says so', async () => {
    const n = b.app.store.db.notifier as PostgresNotifier;
    const pid = await n.listenerPid();
    expect(pid).toBeGreaterThan(0);
    let resyncs = 0;
    const off = n.subscribe('config', (_p, { resync }) => {
      if (resync) resyncs++;
    });
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query('select pg_terminate_backend($1)', [pid]);
    await admin.end();
    await within(5000, () => n.reconnects === 1 && n.listening);
    expect(await n.listenerPid()).not.toBe(pid);
    expect(resyncs).toBe(1);
    off();
    // And it listens again: a change through A still reaches B.
    await a.call('PATCH', `/v1/channels/${channelId}`, { body: { min_interval_ms: 1234 } });
    await within(1000, () => b.app.registry.get(channelId)?.row.min_interval_ms === 1234);
  });
});
