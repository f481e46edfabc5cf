/**
 * Wake-ups between nodes (the `Notifier` port). A node publishes a topic after it committed
 * something other nodes act on; every node's subscribers are called soon after. Best effort by
 * design: a lost wake-up costs at most one poll interval, because every subscriber also polls.
 * PostgreSQL: LISTEN/NOTIFY on one dedicated connection per node (postgres/). SQLite: one node,
 * so an in-process emitter (local/).
 */

/**
 * `work`: messages were committed that may be claimable now (accepted, released, retried).
 * `config`: channels, users, API keys, keyword rules or user settings changed; the payload
 * names which (`ConfigArea`). `channels`: a channel lease moved to or from a node.
 */
export type Topic = 'work' | 'config' | 'channels';

export const TOPICS: readonly Topic[] = ['work', 'config', 'channels'];

/** What a `config` notification says changed; caches of that area are dropped. */
export type ConfigArea = 'channels' | 'users' | 'keys' | 'keywords' | 'settings';

/**
 * `payload` is what the publisher passed (at most 200 characters, PostgreSQL allows 8,000).
 * `resync`: the listening connection was lost and is back; notifications may have been missed,
 * so subscribers should refresh everything they cache.
 */
export type Listener = (payload: string, info: { resync: boolean }) => void;

export interface Notifier {
  /**
   * Tells every node (this one included). Never throws and never waits for the database: call
   * it after the commit. Publishes of one topic and payload are coalesced while one is in flight,
   * so a burst of accepts costs one NOTIFY per round trip, not one per request.
   */
  publish(topic: Topic, payload?: string): void;
  /** Calls `fn` for every notification of `topic`; returns the unsubscribe function. */
  subscribe(topic: Topic, fn: Listener): () => void;
  /**
   * Resolves once listening was tried (PostgreSQL: the connection is up, or its first attempt
   * failed and it keeps retrying on its own), so a start can subscribe, wait, then read.
   */
  ready(): Promise<void>;
  /** Resolves once the publishes started so far are sent (tests, shutdown). */
  flush(): Promise<void>;
  close(): Promise<void>;
  /** Where failures go (a lost connection, a publish that failed, a subscriber that threw). */
  onError: (err: unknown, what: string) => void;
}

/** Delivers to one topic's listeners; a listener that throws does not stop the others. */
export class Listeners {
  private readonly byTopic = new Map<Topic, Set<Listener>>();

  constructor(private readonly onError: (err: unknown) => void = () => undefined) {}

  add(topic: Topic, fn: Listener): () => void {
    let set = this.byTopic.get(topic);
    if (!set) this.byTopic.set(topic, (set = new Set()));
    set.add(fn);
    return () => set.delete(fn);
  }

  get size(): number {
    let n = 0;
    for (const s of this.byTopic.values()) n += s.size;
    return n;
  }

  emit(topic: Topic, payload: string, resync = false): void {
    for (const fn of this.byTopic.get(topic) ?? []) {
      try {
        fn(payload, { resync });
      } catch (err) {
        this.onError(err);
      }
    }
  }
}

/** Payloads are short labels (a config area, a channel id); longer ones are cut. */
export function clampPayload(payload: string | undefined): string {
  return (payload ?? '').slice(0, 200);
}
