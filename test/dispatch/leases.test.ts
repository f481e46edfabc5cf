/**
 * Channel leases, below the app: config, pinning, and the fencing of a lease (PostgreSQL: two
 * nodes on one database; one that stops renewing loses the channel to the other, learns it at
 * its next renewal, and stops sending by its own clock even before that).
 */
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ChannelLeases, pinnedNode } from '../../src/dispatch/leases.js';
import { createStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/index.js';
import { TEST_DBS } from '../support/db.js';
import { channel } from '../support/messages.js';

const log = pino({ level: 'silent' });

describe('cluster config and pinning', () => {
  it('takes the node name and lease from the environment and refuses bad ones', () => {
    const c = loadConfig({ SMSGW_NODE_NAME: 'gw-a.example', SMSGW_CHANNEL_LEASE_MS: '4000' });
    expect(c.cluster).toEqual({ nodeName: 'gw-a.example', channelLeaseMs: 4000 });
    expect(loadConfig({}).cluster.channelLeaseMs).toBe(6000);
    expect(() => loadConfig({ SMSGW_NODE_NAME: 'no spaces' })).toThrow(/SMSGW_NODE_NAME/);
    expect(() => loadConfig({ SMSGW_CHANNEL_LEASE_MS: '10' })).toThrow(/SMSGW_CHANNEL_LEASE_MS/);
  });

  it('reads the node a channel is pinned to from its config', () => {
    expect(pinnedNode({ config: '{"port":"/dev/ttyUSB0","node":"gw-a"}' })).toBe('gw-a');
    expect(pinnedNode({ config: '{"port":"/dev/ttyUSB0"}' })).toBeUndefined();
    expect(pinnedNode({ config: '{"node":""}' })).toBeUndefined();
    expect(pinnedNode({ config: 'not json' })).toBeUndefined();
  });
});

const pgDb = TEST_DBS.find((d) => d.name === 'postgres');

describe.skipIf(!pgDb)('lease fencing on PostgreSQL', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  it('a node that stops renewing loses the channel to another, which gets a new epoch', async () => {
    const { db, cleanup } = await (pgDb as NonNullable<typeof pgDb>).open();
    cleanups.push(cleanup);
    const store: Store = createStore(db);
    const ch = await store.channels.create(channel({ name: 'smpp-1' }));
    const LEASE = 1000;
    const x = new ChannelLeases(store, { nodeId: 'x-1', nodeName: 'x', leaseMs: LEASE }, log);
    const y = new ChannelLeases(store, { nodeId: 'y-1', nodeName: 'y', leaseMs: LEASE }, log);
    await x.round();
    expect(x.holds(ch.id)).toBe(true);
    await y.round();
    expect(y.holds(ch.id)).toBe(false); // held by x
    expect(y.nodeOf(ch.id)).toBe('x');
    const epochX = (await store.cluster.leases())[0]?.epoch;

    // x stalls (no rounds): by its own clock it stops sending once the lease may have run out…
    await new Promise((r) => setTimeout(r, LEASE + 100));
    expect(x.holds(ch.id)).toBe(false);
    // …and y takes the channel under a new epoch.
    await y.round();
    expect(y.holds(ch.id)).toBe(true);
    const lease = (await store.cluster.leases())[0];
    expect(lease).toMatchObject({ node_id: 'y-1', epoch: Number(epochX) + 1 });
    // x was silent for a lease time: y's round found it dead.
    const dead = await store.cluster.recent(60_000);
    expect(dead.find((n) => n.id === 'x-1')?.stopped_at).not.toBeNull();
    // x comes back: its renewal finds the channel gone and it does not take it back.
    await x.round();
    expect(x.holds(ch.id)).toBe(false);
    expect(x.heldIds()).toEqual([]);
    // Its heartbeat says it is alive again.
    const nodes = await store.cluster.recent(60_000);
    expect(nodes.find((n) => n.id === 'x-1')?.stopped_at).toBeNull();
    await y.stop();
    await x.stop();
    expect(await store.cluster.leases()).toEqual([]);
  });
});
