/**
 * A per-owner cache of rows read on every send and changed by hand, rarely (policy settings,
 * templates and signatures): an entry lives `ttlMs`, and a write on this node forgets its
 * owner's at once. Another node's write is seen within `ttlMs` (docs/scale-out.md).
 *
 * A read in flight when a write forgets would store what it read before the write: `stamp()`
 * before the read and `set(…, stamp)` after it stores nothing if any forget happened between
 * (one counter for every owner: writes are rare, and a forget costs an in-flight read of another
 * owner only its caching).
 */
export class OwnerCache<T> {
  private readonly entries = new Map<string, { value: T; at: number }>();
  private generation = 0;

  constructor(
    private readonly ttlMs = 2_000,
    /** Entries at most; when full the cache starts over (a bound, not an LRU). */
    private readonly max = 10_000,
  ) {}

  /** The owner's entry while it is fresh. */
  get(owner: string, now = Date.now()): T | undefined {
    const e = this.entries.get(owner);
    return e && now - e.at < this.ttlMs ? e.value : undefined;
  }

  /** Taken before a read whose result goes to `set`. */
  stamp(): number {
    return this.generation;
  }

  /** Stores a value read since `stamp`; false (nothing stored) when a forget came between. */
  set(owner: string, value: T, stamp: number, now = Date.now()): boolean {
    if (stamp !== this.generation) return false;
    if (this.entries.size >= this.max) this.entries.clear();
    this.entries.set(owner, { value, at: now });
    return true;
  }

  /** Forgets an owner's entry, or every entry. */
  forget(owner?: string): void {
    this.generation += 1;
    if (owner === undefined) this.entries.clear();
    else this.entries.delete(owner);
  }
}
