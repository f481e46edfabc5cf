/**
 * Group commit: callers submit items and get a promise; items that arrive while a flush is
 * running are written together in the next flush (one transaction, one fsync). Under load the
 * batch grows by itself; when idle a lone item is flushed at once, so latency stays low. A
 * batch that fails is written again item by item, so one bad item fails alone.
 */
export class WriteBatcher<T, R> {
  private pending: { item: T; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  private flushing = false;
  private scheduled = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly flush: (items: T[]) => Promise<R[]>,
    private readonly maxBatch = 2000,
  ) {}

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      // setImmediate, not a microtask: it runs after every request read in this event-loop turn
      // has been handled, so they all share one transaction (and one fsync) instead of one each.
      if (!this.flushing && !this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          void this.run();
        });
      }
    });
  }

  /** Resolves when nothing is pending or being written (used by graceful shutdown and tests). */
  idle(): Promise<void> {
    if (!this.flushing && this.pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async run(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0, this.maxBatch);
        try {
          const results = await this.flush(batch.map((p) => p.item));
          batch.forEach((p, i) => p.resolve(results[i] as R));
        } catch (err) {
          if (batch.length === 1) (batch[0] as (typeof batch)[0]).reject(err);
          // One bad item must not fail the others that shared its transaction: each goes
          // again alone, and only the bad one is refused.
          else for (const p of batch) await this.flush([p.item]).then((r) => p.resolve(r[0] as R), p.reject);
        }
      }
    } finally {
      this.flushing = false;
      const waiters = this.idleWaiters.splice(0);
      for (const w of waiters) w();
    }
  }
}
