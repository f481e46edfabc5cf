/**
 * Nodes and channel leases (issue 17): which gateway processes are alive, and which one runs
 * each channel. Every time here is the database's clock (`caps.now()`), the one clock all nodes
 * share; callers pass durations only.
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { fromStatuses } from '../core/message.js';
import type { Capabilities } from './db.js';
import { insertChunked, event } from './rows.js';
import type { Database } from './schema.js';

export interface NodesTable {
  /** The process's node id (config.nodeId: unique per start). */
  id: string;
  /** The node's name (SMSGW_NODE_NAME, default the hostname): what pinned channels name. */
  name: string;
  version: string;
  http_url: string | null;
  started_at: number;
  heartbeat_at: number;
  /** Set when the node stopped cleanly or was found dead by another node. */
  stopped_at: number | null;
}

export interface ChannelLeasesTable {
  channel_id: string;
  node_id: string;
  /** Bumped every time the channel changes holder: a lease is (channel, node, epoch). */
  epoch: number;
  acquired_at: number;
  /** Database-clock epoch ms after which any node may take the channel. */
  until: number;
}

export type NodeRow = NodesTable;
export type ChannelLeaseRow = ChannelLeasesTable;

type ClusterDb = Database & { nodes: NodesTable; channel_leases: ChannelLeasesTable };

export interface NodeInfo {
  id: string;
  name: string;
  version: string;
  httpUrl: string | null;
  startedAt: number;
}

export class ClusterRepo {
  private readonly db: Kysely<ClusterDb>;

  constructor(
    db: Kysely<Database>,
    private readonly caps: Capabilities,
  ) {
    this.db = db as unknown as Kysely<ClusterDb>;
  }

  /** Says this node is alive (inserts its row on the first call). Returns the database clock. */
  async heartbeat(node: NodeInfo): Promise<number> {
    const row = await this.db
      .insertInto('nodes')
      .values({
        id: node.id,
        name: node.name,
        version: node.version,
        http_url: node.httpUrl,
        started_at: node.startedAt,
        heartbeat_at: this.caps.now(),
        stopped_at: null,
      })
      .onConflict((oc) =>
        oc.column('id').doUpdateSet({
          heartbeat_at: this.caps.now(),
          http_url: node.httpUrl,
          stopped_at: null,
        }),
      )
      .returning('heartbeat_at')
      .executeTakeFirstOrThrow();
    return Number(row.heartbeat_at);
  }

  /** Nodes whose last heartbeat is younger than `staleMs` (and that did not stop). */
  live(staleMs: number): Promise<NodeRow[]> {
    return this.db
      .selectFrom('nodes')
      .selectAll()
      .where('stopped_at', 'is', null)
      .where('heartbeat_at', '>', sql<number>`${this.caps.now()} - ${staleMs}`)
      .orderBy('name')
      .execute();
  }

  /** Every node seen within `sinceMs` (status pages): live, stopped and dead ones. */
  recent(sinceMs: number): Promise<NodeRow[]> {
    return this.db
      .selectFrom('nodes')
      .selectAll()
      .where('heartbeat_at', '>', sql<number>`${this.caps.now()} - ${sinceMs}`)
      .orderBy('name')
      .orderBy('started_at', 'desc')
      .limit(1000)
      .execute();
  }

  leases(): Promise<ChannelLeaseRow[]> {
    return this.db.selectFrom('channel_leases').selectAll().execute();
  }

  /** The database clock now (epoch ms). */
  async now(): Promise<number> {
    const r = await sql<{ now: number }>`select ${this.caps.now()} as now`.execute(this.db);
    return Number(r.rows[0]?.now);
  }

  /**
   * Takes a channel when nobody holds it or its holder's lease ran out (`force`: whatever its
   * state; the one node of an exclusive database). Returns the new epoch, or undefined when
   * another node holds it.
   */
  async acquire(
    channelId: string,
    nodeId: string,
    leaseMs: number,
    force = false,
  ): Promise<number | undefined> {
    const row = await this.db
      .insertInto('channel_leases')
      .values({
        channel_id: channelId,
        node_id: nodeId,
        epoch: 1,
        acquired_at: this.caps.now(),
        until: sql<number>`${this.caps.now()} + ${leaseMs}`,
      })
      .onConflict((oc) => {
        const upd = oc.column('channel_id').doUpdateSet((eb) => ({
          node_id: eb.ref('excluded.node_id'),
          epoch: eb('channel_leases.epoch', '+', 1),
          acquired_at: eb.ref('excluded.acquired_at'),
          until: eb.ref('excluded.until'),
        }));
        return force ? upd : upd.where('channel_leases.until', '<', this.caps.now());
      })
      .returning('epoch')
      .executeTakeFirst();
    return row === undefined ? undefined : Number(row.epoch);
  }

  /**
   * Extends this node's leases on `channelIds`. Returns the channels still held with their
   * epochs; one missing was taken by another node (it let ours run out) and must stop at once.
   */
  async renew(nodeId: string, channelIds: readonly string[], leaseMs: number): Promise<Map<string, number>> {
    if (channelIds.length === 0) return new Map();
    const rows = await this.db
      .updateTable('channel_leases')
      .set({ until: sql<number>`${this.caps.now()} + ${leaseMs}` })
      .where('node_id', '=', nodeId)
      .where('channel_id', 'in', channelIds)
      .returning(['channel_id', 'epoch'])
      .execute();
    return new Map(rows.map((r) => [r.channel_id, Number(r.epoch)]));
  }

  /** Gives channels back (their drivers are stopped): any node may take them at once. */
  async release(nodeId: string, channelIds: readonly string[]): Promise<void> {
    if (channelIds.length === 0) return;
    await this.db
      .deleteFrom('channel_leases')
      .where('node_id', '=', nodeId)
      .where('channel_id', 'in', channelIds)
      .execute();
  }

  /** Leases of channels that no longer exist. */
  async dropOrphans(): Promise<void> {
    await this.db
      .deleteFrom('channel_leases')
      .where('channel_id', 'not in', (eb) => eb.selectFrom('channels').select('id'))
      .execute();
  }

  /** Forgets nodes silent for longer than `ms` (each start of a node adds a row). */
  async forget(ms: number): Promise<void> {
    await this.db
      .deleteFrom('nodes')
      .where('heartbeat_at', '<', sql<number>`${this.caps.now()} - ${ms}`)
      .execute();
  }

  async markStopped(nodeId: string): Promise<void> {
    await this.db
      .updateTable('nodes')
      .set({ stopped_at: this.caps.now() })
      .where('id', '=', nodeId)
      .execute();
  }

  /**
   * Nodes silent for longer than `deadMs` are dead: marked stopped, and the messages they had
   * claimed go back to the queue now rather than when their (long) message leases run out.
   * Safe because a node stops submitting once its channel leases (renewed with its heartbeat,
   * `deadMs` long) have run out by its own clock. Returns the dead nodes and messages requeued.
   */
  async reapDead(deadMs: number): Promise<{ nodes: NodeRow[]; requeued: number }> {
    return this.db.transaction().execute(async (trx) => {
      const dead = await trx
        .updateTable('nodes')
        .set({ stopped_at: this.caps.now() })
        .where('stopped_at', 'is', null)
        .where('heartbeat_at', '<', sql<number>`${this.caps.now()} - ${deadMs}`)
        .returningAll()
        .execute();
      let requeued = 0;
      const now = Date.now();
      for (const n of dead) {
        const rows = await trx
          .updateTable('messages')
          .set({
            status: 'queued',
            lease_owner: null,
            lease_until: null,
            next_attempt_at: now,
            updated_at: now,
          })
          .where('status', '=', 'sending')
          .where('status', 'in', fromStatuses('queued'))
          // Claim tokens are `<node id>/<boot>/<n>` (dispatch/dispatcher.ts).
          .where(sql<string>`substr(lease_owner, 1, ${n.id.length + 1})`, '=', `${n.id}/`)
          .returning(['id', 'owner_id'])
          .execute();
        await insertChunked(
          trx as never,
          'message_events',
          rows.map((r) =>
            event(r.id, r.owner_id, 'queued', null, `node ${n.name} died: returned to the queue`, null, now),
          ),
        );
        requeued += rows.length;
      }
      return { nodes: dead, requeued };
    });
  }
}
