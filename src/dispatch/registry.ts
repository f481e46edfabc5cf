/**
 * Running channels: one driver per enabled channel row, with the live numbers routing needs
 * (in flight, last send, this month's usage, health). Drivers are built by type from factories,
 * so adding a channel type is one registration.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ChannelDriver, ChannelEvents, ChannelFactory, ChannelHealth } from '../channels/port.js';
import { resolveSecrets } from '../channels/secrets.js';
import type { ChannelSnapshot } from '../core/routing.js';
import type { ClaimScope } from '../store/claim-scope.js';
import type { Store } from '../store/index.js';
import { monthOf } from '../store/ids.js';
import type { ChannelRow } from '../store/schema.js';

export interface RunningChannel {
  row: ChannelRow;
  driver: ChannelDriver;
  inFlight: number;
  lastSendAt: number;
  usedThisMonth: number;
  month: string;
  health: ChannelHealth;
  prefixes: string[];
  /** Ask the network for delivery reports (channel config `receipts`, default true). */
  receipts: boolean;
}

/** Where channel events go; each promise resolves when the event is committed. */
export type ChannelEventSink = {
  deliveryReport(channelId: string, r: Parameters<ChannelEvents['deliveryReport']>[0]): Promise<void>;
  inbound(channelId: string, s: Parameters<ChannelEvents['inbound']>[0]): Promise<void>;
};

/** Where channels run when several nodes share the database (dispatch/leases.ts). */
export interface Placement {
  /** Renews, takes and gives back channel leases (before the drivers are brought in line). */
  round(): Promise<void>;
  /** After the drivers are in line: gives back in the database what this node let go. */
  afterSync(): Promise<void>;
  /** This node may send through the channel now. */
  holds(channelId: string, now?: number): boolean;
  /** Name of the node running the channel, or null. */
  nodeOf(channelId: string): string | null;
}

export class ChannelRegistry {
  private readonly running = new Map<string, RunningChannel>();
  /** Every channel row as of the last sync, running here or not. */
  private rows: ChannelRow[] = [];
  private placement: Placement | undefined;
  private readonly factories = new Map<string, ChannelFactory>();
  /** The sync in progress (see sync()). */
  private syncing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
    private readonly sink: ChannelEventSink,
    /** Drivers keep their state under `<dataDir>/channels/<id>/`; none without it. */
    private readonly dataDir?: string,
  ) {}

  register(type: string, factory: ChannelFactory): void {
    this.factories.set(type, factory);
  }

  types(): string[] {
    return [...this.factories.keys()];
  }

  /** Throws when the type is unknown or the driver rejects the config (used to validate API input). */
  validate(type: string, config: Record<string, unknown>, name: string): void {
    const factory = this.factories.get(type);
    if (!factory) throw new Error(`unknown channel type "${type}"; known: ${this.types().join(', ')}`);
    factory(resolveSecrets(config) as Record<string, unknown>, { name });
  }

  get(id: string): RunningChannel | undefined {
    return this.running.get(id);
  }

  all(): RunningChannel[] {
    return [...this.running.values()];
  }

  /**
   * Starts what is enabled and not running, stops what was disabled or removed, restarts changed
   * ones. One sync at a time: two that overlap (an API edit and the minutely sync) would each
   * stop the old driver and start a new one, leaving two drivers on one serial port.
   */
  sync(): Promise<void> {
    const next = this.syncing.then(async () => {
      await this.placement?.round();
      await this.syncOnce();
      await this.placement?.afterSync();
    });
    this.syncing = next.catch(() => undefined);
    return next;
  }

  private async syncOnce(): Promise<void> {
    const rows = await this.store.channels.list();
    const month = monthOf(Date.now());
    const counters = await this.store.channels.counters(month);
    this.rows = rows;
    const wanted = new Map(rows.filter((r) => r.enabled === 1 && this.mayUse(r.id)).map((r) => [r.id, r]));
    for (const [id, ch] of this.running) {
      const row = wanted.get(id);
      if (!row || row.config !== ch.row.config || row.type !== ch.row.type) {
        await this.stopOne(ch);
        this.running.delete(id);
      } else {
        ch.row = row;
        ch.prefixes = prefixesOf(row);
        ch.receipts = receiptsOf(row);
        ch.month = month;
        ch.usedThisMonth = Math.max(ch.usedThisMonth, counters.get(id) ?? 0);
      }
    }
    for (const row of wanted.values()) {
      if (this.running.has(row.id)) continue;
      await this.startOne(row, counters.get(row.id) ?? 0, month);
    }
  }

  private async startOne(row: ChannelRow, used: number, month: string): Promise<void> {
    const log = this.log.child({ channel: row.name });
    const factory = this.factories.get(row.type);
    const health: ChannelHealth = { status: 'down', inFlight: 0 };
    if (!factory) {
      log.error({ type: row.type }, 'no driver for this channel type');
      return;
    }
    let driver: ChannelDriver;
    try {
      driver = factory(resolveSecrets(JSON.parse(row.config)) as Record<string, unknown>, {
        name: row.name,
        stateDir: this.dataDir === undefined ? undefined : join(this.dataDir, 'channels', row.id),
      });
    } catch (err) {
      log.error({ err }, 'channel config rejected by its driver');
      await this.store.channels.update(row.id, { state: 'error' });
      return;
    }
    const ch: RunningChannel = {
      row,
      driver,
      inFlight: 0,
      lastSendAt: 0,
      usedThisMonth: used,
      month,
      health,
      prefixes: prefixesOf(row),
      receipts: receiptsOf(row),
    };
    this.running.set(row.id, ch);
    const events: ChannelEvents = {
      deliveryReport: (r) => this.sink.deliveryReport(row.id, r),
      inbound: (s) => this.sink.inbound(row.id, s),
      state: (h) => {
        ch.health = h;
      },
    };
    try {
      await driver.start(events);
      ch.health = driver.health();
      log.info({ type: row.type }, 'channel started');
    } catch (err) {
      ch.health = { status: 'down', inFlight: 0, lastError: (err as Error).message };
      log.error({ err }, 'channel failed to start; it will retry by itself if its driver does');
    }
  }

  private async stopOne(ch: RunningChannel): Promise<void> {
    try {
      await ch.driver.stop();
    } catch (err) {
      this.log.warn({ err, channel: ch.row.name }, 'channel stop failed');
    }
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.running.values()].map((ch) => this.stopOne(ch)));
    this.running.clear();
  }

  /** Channels run on the node holding their lease (dispatch/leases.ts); without one, all run here. */
  setPlacement(p: Placement): void {
    this.placement = p;
  }

  /** This node may send through the channel now (its lease is valid by the local deadline). */
  mayUse(channelId: string, now = Date.now()): boolean {
    return this.placement ? this.placement.holds(channelId, now) : true;
  }

  /** The node running the channel now (null: none); this node's name when there is no placement. */
  nodeOf(channelId: string): string | null {
    if (this.placement) return this.placement.nodeOf(channelId);
    return this.running.has(channelId) ? 'local' : null;
  }

  /**
   * Routing input across nodes: the channels this node holds as they are, and every other
   * enabled channel as down (it runs elsewhere). The router needs the latter to know that a real
   * channel exists somewhere (a shared simulator then stands back).
   */
  routingSnapshot(now: number): ChannelSnapshot[] {
    const local = this.snapshot(now).filter((c) => this.mayUse(c.id, now));
    const here = new Set(local.map((c) => c.id));
    const remote = this.rows
      .filter((r) => r.enabled === 1 && !here.has(r.id))
      .map((r): ChannelSnapshot => ({
        id: r.id,
        ownerId: r.owner_id,
        enabled: true,
        up: false,
        flash: false,
        replace: false,
        maxSegments: 0,
        monthlyLimit: r.monthly_limit,
        countMode: r.count_mode,
        usedThisMonth: 0,
        inFlight: 0,
        maxInFlight: r.max_in_flight,
        minIntervalMs: r.min_interval_ms,
        lastSendAt: 0,
        priority: r.priority,
        prefixes: [],
        simulated: r.type === 'simulator',
      }));
    return [...local, ...remote];
  }

  /**
   * Which queued messages this node may claim: those a channel it holds can send. Undefined
   * (everything) when it holds every enabled channel, as a single node does.
   */
  claimScope(now: number): ClaimScope | undefined {
    const enabled = this.rows.filter((r) => r.enabled === 1);
    const held = enabled.filter((r) => this.running.has(r.id) && this.mayUse(r.id, now));
    if (held.length === enabled.length) return undefined;
    const realExists = enabled.some((r) => r.type !== 'simulator');
    return {
      held: held.map((r) => r.id),
      enabled: enabled.map((r) => r.id),
      owners: [...new Set(held.flatMap((r) => (r.owner_id === null ? [] : [r.owner_id])))],
      shared: held.some((r) => r.owner_id === null && !(r.type === 'simulator' && realExists)),
      ownersWithOwn: [...new Set(enabled.flatMap((r) => (r.owner_id === null ? [] : [r.owner_id])))],
    };
  }

  /** Routing input: every running channel as the router sees it. */
  snapshot(now: number): ChannelSnapshot[] {
    const month = monthOf(now);
    return this.all().map((ch) => {
      if (ch.month !== month) {
        // A new calendar month starts every counter from zero.
        ch.month = month;
        ch.usedThisMonth = 0;
      }
      const h = ch.driver.health();
      return {
        id: ch.row.id,
        ownerId: ch.row.owner_id,
        enabled: ch.row.enabled === 1,
        up: h.status === 'up',
        flash: ch.driver.capabilities.flash,
        replace: ch.driver.capabilities.replace,
        maxSegments: ch.driver.capabilities.maxSegments,
        monthlyLimit: ch.row.monthly_limit,
        countMode: ch.row.count_mode,
        usedThisMonth: ch.usedThisMonth,
        inFlight: ch.inFlight,
        maxInFlight: ch.row.max_in_flight,
        minIntervalMs: ch.row.min_interval_ms,
        lastSendAt: ch.lastSendAt,
        priority: ch.row.priority,
        prefixes: ch.prefixes,
        simulated: ch.driver.capabilities.simulated === true,
      };
    });
  }
}

function receiptsOf(row: ChannelRow): boolean {
  try {
    return (JSON.parse(row.config) as { receipts?: unknown }).receipts !== false;
  } catch {
    return true;
  }
}

function prefixesOf(row: ChannelRow): string[] {
  try {
    const cfg = JSON.parse(row.config) as { prefixes?: unknown };
    return Array.isArray(cfg.prefixes) ? cfg.prefixes.filter((p): p is string => typeof p === 'string') : [];
  } catch {
    return [];
  }
}
