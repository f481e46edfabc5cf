/**
 * Channel leases (issue 17): each channel runs on exactly one node at a time. Every node
 * heartbeats and renews its leases every third of the lease time; a channel whose holder stops
 * renewing is free when its lease runs out (by the database's clock) and the next node takes it.
 *
 * - A channel whose config names a `node` (a modem or local Gammu on that host's serial port)
 *   is only ever taken by the node of that name.
 * - Other channels (SMPP, remote Gammu, simulator) go to whichever node takes them, up to a fair
 *   share: ceil(movable channels / live nodes). A node holding at least two more than another
 *   live node gives one back per round (driver stopped first, then the lease deleted; it does
 *   not take that one again for a lease time), so a node that joins gets work within a few
 *   rounds and nobody hoards.
 * - Fencing: a lease is (channel, node, epoch). A renewal that finds the channel gone (another
 *   node's epoch) stops it at once. Independently, `holds()` is false once the local deadline
 *   passes — the time the last successful renewal was *sent* plus the lease time, which is never
 *   later than the database's `until` — so a node cut off from the database stops submitting
 *   before anyone else may take its channel. The dispatcher checks before each claim and submit.
 * - A node silent for a lease time is dead: the first node to notice puts the messages it had
 *   claimed back in the queue (their outcomes are fenced by claim token, store/outcomes.ts).
 *
 * One process owning its database (SQLite, `caps.exclusiveNode`) holds every enabled channel,
 * taking over leases a previous run left behind.
 */
import { packageVersion } from '../package-root.js';
import type { Logger } from 'pino';
import type { Store } from '../store/index.js';
import type { ChannelRow } from '../store/schema.js';
import type { ChannelLeaseRow, NodeRow } from '../store/cluster.js';

export interface LeaseOptions {
  nodeId: string;
  nodeName: string;
  leaseMs: number;
}

/** The node a channel's config pins it to, if any. */
export function pinnedNode(row: Pick<ChannelRow, 'config'>): string | undefined {
  try {
    const node = (JSON.parse(row.config) as { node?: unknown }).node;
    return typeof node === 'string' && node !== '' ? node : undefined;
  } catch {
    return undefined;
  }
}

const VERSION = readVersion();

/**
 * The one node of an exclusive database renews nothing anyone could take: a round (heartbeat,
 * new channels) every 30 s is enough, and edits through the API sync at once anyway.
 */
const EXCLUSIVE_ROUND_MS = 30_000;

function readVersion(): string {
  try {
    return packageVersion();
  } catch {
    return 'unknown';
  }
}

interface Held {
  epoch: number;
  /** Local clock: past this, the lease may have run out; stop sending. */
  deadline: number;
  pinned: boolean;
}

export class ChannelLeases {
  private readonly held = new Map<string, Held>();
  private readonly exclusive: boolean;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private ticking: Promise<void> = Promise.resolve();
  private readonly startedAt = Date.now();
  private httpUrl: string | null = null;
  /** Channel id → name of the node holding it, as of the last round (status pages). */
  private placement = new Map<string, string>();
  /**
   * Runs a round and brings the drivers in line with it: set to registry.sync(), which calls
   * round(), starts and stops drivers, then afterSync().
   */
  onRound: () => Promise<void> = () => this.round();
  /** Given back this round; deleted from the table once their drivers stopped (afterSync). */
  private pendingRelease: string[] = [];
  /** Channels given back for balance: not taken again here before this (local) time. */
  private readonly givenBack = new Map<string, number>();
  /** Called when a dead node's messages went back to the queue. */
  onRequeued: () => void = () => undefined;

  constructor(
    private readonly store: Store,
    private readonly opts: LeaseOptions,
    private readonly log: Logger,
  ) {
    this.exclusive = store.db.caps.exclusiveNode;
  }

  /** True while this node may send through the channel (checked before each claim and submit). */
  holds(channelId: string, now = Date.now()): boolean {
    const h = this.held.get(channelId);
    return h !== undefined && h.deadline > now;
  }

  heldIds(): string[] {
    return [...this.held.keys()];
  }

  /** Name of the node running the channel now, or null when none does. */
  nodeOf(channelId: string): string | null {
    if (this.held.has(channelId)) return this.opts.nodeName;
    return this.placement.get(channelId) ?? null;
  }

  /** Takes this node's channels (one round) and keeps renewing. */
  async start(): Promise<void> {
    this.running = true;
    await this.onRound();
  }

  /** Publishes the node's HTTP address (known only once it listens) with a heartbeat now. */
  async setHttpUrl(url: string): Promise<void> {
    this.httpUrl = url;
    await this.heartbeat();
  }

  private heartbeat(): Promise<number> {
    return this.store.cluster.heartbeat({
      id: this.opts.nodeId,
      name: this.opts.nodeName,
      version: VERSION,
      httpUrl: this.httpUrl,
      startedAt: this.startedAt,
    });
  }

  /** Renews, takes and gives back channels (one round); never throws. */
  round(): Promise<void> {
    const next = this.ticking.then(() => this.roundOnce());
    this.ticking = next.catch(() => undefined);
    return next;
  }

  /** The drivers of channels given back are stopped: let other nodes take them now. */
  async afterSync(): Promise<void> {
    const ids = this.pendingRelease.filter((id) => !this.held.has(id));
    this.pendingRelease = [];
    if (ids.length === 0) return;
    try {
      await this.store.cluster.release(this.opts.nodeId, ids);
      // Other nodes run a lease round now instead of at their next tick (app.ts subscribes).
      this.store.db.notifier.publish('channels');
    } catch (err) {
      this.log.warn({ err }, 'could not give channel leases back; they run out by themselves');
    }
  }

  /** Stops the rounds (first step of shutdown: no driver is started again). */
  halt(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
  }

  /** Stops renewing; gives every channel back (their drivers must be stopped already). */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    await this.ticking;
    const ids = this.heldIds();
    this.held.clear();
    try {
      await this.store.cluster.release(this.opts.nodeId, ids);
      await this.store.cluster.markStopped(this.opts.nodeId);
      if (ids.length > 0) this.store.db.notifier.publish('channels');
    } catch (err) {
      this.log.warn({ err }, 'could not give the channel leases back; they run out by themselves');
    }
  }

  private schedule(ms: number): void {
    if (!this.running) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(
      () => void this.onRound().catch((err) => this.log.error({ err }, 'channel lease round failed')),
      Math.max(10, ms),
    );
    this.timer.unref();
  }

  private async roundOnce(): Promise<void> {
    const every = this.exclusive ? EXCLUSIVE_ROUND_MS : Math.max(300, Math.floor(this.opts.leaseMs / 3));
    let nextMs = every;
    try {
      nextMs = await this.renewAndBalance(every);
    } catch (err) {
      this.log.error({ err }, 'channel lease round failed; retrying');
      nextMs = Math.min(every, 1000);
      // No renewal: drivers of channels past their deadline must stop.
      const now = Date.now();
      const expired = [...this.held].filter(([, h]) => h.deadline <= now).map(([id]) => id);
      if (expired.length > 0) {
        for (const id of expired) this.held.delete(id);
        this.log.warn({ channels: expired }, 'channel leases ran out without renewal; channels stopped');
      }
    }
    this.schedule(nextMs);
  }

  /** One round; returns when the next one should run. */
  private async renewAndBalance(every: number): Promise<number> {
    const { nodeId, nodeName, leaseMs } = this.opts;
    const sent = Date.now();
    const dbNow = await this.heartbeat();
    const deadline = this.exclusive ? Number.POSITIVE_INFINITY : sent + leaseMs;
    const renewed = await this.store.cluster.renew(nodeId, this.heldIds(), leaseMs);
    for (const [id, h] of this.held) {
      if (renewed.get(id) === h.epoch) {
        h.deadline = deadline;
      } else {
        this.held.delete(id);
        this.log.warn({ channel: id }, 'channel lease lost to another node; channel stopped');
      }
    }

    const [rows, leases, live] = await Promise.all([
      this.store.channels.list(),
      this.store.cluster.leases(),
      this.exclusive ? Promise.resolve([] as NodeRow[]) : this.store.cluster.live(leaseMs),
    ]);
    const enabled = rows.filter((r) => r.enabled === 1);
    const leaseOf = new Map<string, ChannelLeaseRow>(leases.map((l) => [l.channel_id, l]));
    const liveIds = new Set(live.map((n) => n.id));
    liveIds.add(nodeId);

    // Give back what is disabled, deleted or pinned to another node now.
    const release: string[] = [];
    const wantedIds = new Set(
      enabled.filter((r) => this.exclusive || (pinnedNode(r) ?? nodeName) === nodeName).map((r) => r.id),
    );
    for (const id of this.held.keys()) if (!wantedIds.has(id)) release.push(id);

    const movable = enabled.filter((r) => pinnedNode(r) === undefined);
    const fair = this.exclusive ? movable.length : Math.ceil(movable.length / liveIds.size);
    let mine = movable.filter((r) => this.held.has(r.id) && !release.includes(r.id)).length;
    let soonest = Number.POSITIVE_INFINITY;
    for (const r of enabled) {
      if (this.held.has(r.id) || !wantedIds.has(r.id)) continue;
      const pinned = pinnedNode(r) !== undefined;
      if (!pinned && mine >= fair) continue;
      if (!pinned && (this.givenBack.get(r.id) ?? 0) > Date.now()) continue;
      const l = leaseOf.get(r.id);
      if (!this.exclusive && l && l.until >= dbNow && l.node_id !== nodeId) {
        // Held elsewhere: look again right when that lease would run out if not renewed.
        soonest = Math.min(soonest, l.until - dbNow + 20);
        continue;
      }
      const epoch = await this.store.cluster.acquire(r.id, nodeId, leaseMs, this.exclusive);
      if (epoch === undefined) continue;
      this.held.set(r.id, { epoch, deadline, pinned });
      if (!pinned) mine++;
      this.log.info({ channel: r.name, epoch, previous: l?.node_id }, 'channel lease taken');
    }

    // Balance: holding two or more channels more than another live node, give one back this
    // round (it is not taken back here for a lease time, so the node below gets it). Comparing
    // with the fewest, not with the share: 4 channels on 3 nodes held 2, 2, 0 would otherwise
    // leave the third node idle for ever.
    if (!this.exclusive && liveIds.size > 1) {
      const counts = new Map<string, number>([...liveIds].filter((id) => id !== nodeId).map((id) => [id, 0]));
      for (const r of movable) {
        const l = leaseOf.get(r.id);
        if (l && l.until >= dbNow && counts.has(l.node_id))
          counts.set(l.node_id, (counts.get(l.node_id) ?? 0) + 1);
      }
      const fewest = Math.min(...counts.values());
      const extra = movable.find((r) => this.held.has(r.id) && !release.includes(r.id));
      if (mine > fewest + 1 && extra) {
        release.push(extra.id);
        this.givenBack.set(extra.id, Date.now() + leaseMs);
        this.log.info({ channel: extra.name, mine, fewest }, 'channel given back for another node (balance)');
      }
    }

    for (const [id, until] of this.givenBack) if (until <= Date.now()) this.givenBack.delete(id);
    for (const id of release) this.held.delete(id);
    // Deleted from the table only once the registry stopped their drivers (afterSync).
    this.pendingRelease.push(...release);

    if (!this.exclusive) {
      const reaped = await this.store.cluster.reapDead(leaseMs);
      for (const n of reaped.nodes)
        this.log.warn(
          { node: n.name, id: n.id, requeued: reaped.requeued },
          'node stopped heartbeating: marked dead',
        );
      if (reaped.requeued > 0) this.onRequeued();
    }

    // Status pages show nodes of the last hour; a week of history is plenty.
    await this.store.cluster.forget(7 * 86_400_000);

    const names = new Map([...live.map((n) => [n.id, n.name] as const), [nodeId, nodeName] as const]);
    this.placement = new Map(
      leases
        .filter((l) => l.until >= dbNow && names.has(l.node_id) && !release.includes(l.channel_id))
        .map((l) => [l.channel_id, names.get(l.node_id) as string]),
    );
    for (const id of this.held.keys()) this.placement.set(id, nodeName);
    return Math.min(every, soonest);
  }

  /** Nodes seen in the last hour with their heartbeats and the channels each holds (GET /v1/nodes). */
  status(): Promise<NodeStatus[]> {
    return nodeStatus(this.store, this.opts.leaseMs, this.opts.nodeId);
  }
}

/**
 * Nodes seen in the last hour, newest start first per name, with their heartbeats and the
 * channels each holds (GET /v1/nodes, `smsgw nodes`). `selfId`: the node asking.
 */
export async function nodeStatus(store: Store, leaseMs: number, selfId?: string): Promise<NodeStatus[]> {
  const exclusive = store.db.caps.exclusiveNode;
  // Silent for three rounds: no longer live.
  const liveMs = exclusive ? 3 * EXCLUSIVE_ROUND_MS : leaseMs;
  const [nodes, leases, rows, dbNow] = await Promise.all([
    store.cluster.recent(3_600_000),
    store.cluster.leases(),
    store.channels.list(),
    store.cluster.now(),
  ]);
  const names = new Map(rows.map((r) => [r.id, r.name]));
  return nodes.map((n) => ({
    id: n.id,
    name: n.name,
    version: n.version,
    http_url: n.http_url,
    self: n.id === selfId,
    status: n.stopped_at !== null ? 'stopped' : n.heartbeat_at >= dbNow - liveMs ? 'live' : 'silent',
    started_at: new Date(Number(n.started_at)).toISOString(),
    heartbeat_at: new Date(Number(n.heartbeat_at)).toISOString(),
    heartbeat_age_ms: Math.max(0, dbNow - Number(n.heartbeat_at)),
    stopped_at: n.stopped_at === null ? null : new Date(Number(n.stopped_at)).toISOString(),
    channels: leases
      .filter((l) => l.node_id === n.id && n.stopped_at === null && (exclusive || l.until >= dbNow))
      .map((l) => ({
        id: l.channel_id,
        name: names.get(l.channel_id) ?? null,
        epoch: Number(l.epoch),
        lease_until: new Date(Number(l.until)).toISOString(),
      })),
  }));
}

export interface NodeStatus {
  id: string;
  name: string;
  version: string;
  http_url: string | null;
  /** The node answering the request. */
  self: boolean;
  /** live: heartbeating; silent: missed its lease time (dead until it comes back); stopped. */
  status: 'live' | 'silent' | 'stopped';
  started_at: string;
  heartbeat_at: string;
  heartbeat_age_ms: number;
  stopped_at: string | null;
  channels: { id: string; name: string | null; epoch: number; lease_until: string }[];
}
