/**
 * The PostgreSQL notifier: LISTEN on one dedicated connection per node (outside the pool, so a
 * busy pool never delays a wake-up and a wake-up never holds a pooled connection), NOTIFY
 * through the pool. NOTIFY is transactional in PostgreSQL; we publish after our own commit, so a
 * listener that wakes finds the rows.
 *
 * The listening connection reconnects by itself (backoff 100 ms doubling to 5 s) and, once back,
 * tells every subscriber to resync, since notifications sent while it was away are lost. A ping
 * every 15 s finds a connection that died silently (a NAT or a failover dropping it).
 *
 * Channel names carry the schema (`smsgw_work` in `public`, `smsgw_work_<hash>` elsewhere):
 * NOTIFY is per database, and two installations in two schemas must not wake each other.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import type { Listener, Notifier, Topic } from '../index.js';
import { Listeners, TOPICS, clampPayload } from '../index.js';

export interface PostgresNotifierOptions {
  connectionString: string;
  /** Where NOTIFY is sent (the store's pool). */
  pool: pg.Pool;
  pingMs?: number;
}

const MAX_BACKOFF_MS = 5_000;

export class PostgresNotifier implements Notifier {
  private readonly listeners: Listeners;
  private client: pg.Client | undefined;
  private connecting: Promise<void> | undefined;
  private closed = false;
  private backoffMs = 100;
  private retryTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private channelNames: Promise<Map<Topic, string>> | undefined;
  /** Publishes in flight per topic+payload, and whether another was asked for meanwhile. */
  private readonly inFlight = new Map<string, { again: boolean; done: Promise<void> }>();
  private everConnected = false;
  onError: (err: unknown, what: string) => void = () => undefined;
  /** Times the listening connection was re-established (a metric; tests read it). */
  reconnects = 0;

  constructor(private readonly opts: PostgresNotifierOptions) {
    this.listeners = new Listeners((err) => this.onError(err, 'listener'));
  }

  /** True while the listening connection is up. */
  get listening(): boolean {
    return this.client !== undefined;
  }

  /** The backend pid of the listening connection (tests cut it to prove the reconnect). */
  async listenerPid(): Promise<number | undefined> {
    const c = this.client as (pg.Client & { processID?: number }) | undefined;
    return c?.processID;
  }

  publish(topic: Topic, payload?: string): void {
    if (this.closed) return;
    const p = clampPayload(payload);
    const key = `${topic}\u0000${p}`;
    const running = this.inFlight.get(key);
    if (running) {
      running.again = true;
      return;
    }
    const entry = { again: false, done: Promise.resolve() };
    entry.done = (async () => {
      do {
        entry.again = false;
        try {
          const names = await this.names();
          await this.opts.pool.query('select pg_notify($1, $2)', [names.get(topic), p]);
        } catch (err) {
          // A lost wake-up costs one poll interval; the caller's commit stands.
          this.onError(err, 'publish');
        }
      } while (entry.again && !this.closed);
      this.inFlight.delete(key);
    })();
    this.inFlight.set(key, entry);
  }

  subscribe(topic: Topic, fn: Listener): () => void {
    const off = this.listeners.add(topic, fn);
    // Listening starts with the first subscriber: a CLI command that only writes opens no
    // second connection.
    void this.ensureListening();
    return off;
  }

  ready(): Promise<void> {
    return this.ensureListening();
  }

  async flush(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight.values()].map((e) => e.done));
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    await this.flush();
    await this.connecting?.catch(() => undefined);
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => undefined);
  }

  private names(): Promise<Map<Topic, string>> {
    this.channelNames ??= this.opts.pool
      .query<{ s: string }>('select current_schema() as s')
      .then((r) => channelNames(r.rows[0]?.s ?? 'public'))
      .catch((err: unknown) => {
        this.channelNames = undefined;
        throw err;
      });
    return this.channelNames;
  }

  private ensureListening(): Promise<void> {
    if (this.closed || this.client || this.connecting) return this.connecting ?? Promise.resolve();
    this.connecting = this.connect().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.opts.connectionString, keepAlive: true });
    let failed = false;
    const fail = (err: unknown) => {
      if (failed) return;
      failed = true;
      if (this.client === client) this.client = undefined;
      clearInterval(this.pingTimer);
      client.removeAllListeners('notification');
      void client.end().catch(() => undefined);
      if (this.closed) return;
      this.onError(err, 'listen connection lost; reconnecting');
      this.retryTimer = setTimeout(() => void this.ensureListening(), this.backoffMs);
      this.retryTimer.unref();
      this.backoffMs = Math.min(MAX_BACKOFF_MS, this.backoffMs * 2);
    };
    client.on('error', fail);
    client.on('end', () => fail(new Error('listen connection ended')));
    try {
      const names = await this.names();
      const topicOf = new Map([...names].map(([t, n]) => [n, t]));
      client.on('notification', (n) => {
        const topic = topicOf.get(n.channel);
        if (topic) this.listeners.emit(topic, n.payload ?? '');
      });
      await client.connect();
      for (const name of names.values()) await client.query(`LISTEN ${pg.escapeIdentifier(name)}`);
    } catch (err) {
      fail(err);
      return;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    const first = !this.everConnected;
    this.everConnected = true;
    this.client = client;
    this.backoffMs = 100;
    this.pingTimer = setInterval(() => {
      client.query('select 1').catch(fail);
    }, this.opts.pingMs ?? 15_000);
    this.pingTimer.unref();
    if (!first) {
      this.reconnects++;
      // Whatever was published while we were away is lost: every subscriber refreshes.
      for (const t of TOPICS) this.listeners.emit(t, '', true);
    }
  }
}

/** `smsgw_<topic>` in `public`; elsewhere suffixed with a hash of the schema (names ≤ 63 bytes). */
export function channelNames(schema: string): Map<Topic, string> {
  const suffix =
    schema === 'public' ? '' : `_${createHash('sha256').update(schema).digest('hex').slice(0, 12)}`;
  return new Map(TOPICS.map((t) => [t, `smsgw_${t}${suffix}`]));
}
