/**
 * The in-process notifier (SQLite: one node). Publishing calls this process's subscribers on
 * the next tick, as a NOTIFY would reach them after the commit, never inside the caller.
 */
import type { Listener, Notifier, Topic } from '../index.js';
import { Listeners, clampPayload } from '../index.js';

export class LocalNotifier implements Notifier {
  private readonly listeners = new Listeners((err) => this.onError(err, 'listener'));
  private closed = false;
  private pending = new Set<string>();
  onError: (err: unknown, what: string) => void = () => undefined;

  publish(topic: Topic, payload?: string): void {
    if (this.closed) return;
    const p = clampPayload(payload);
    const key = `${topic}\u0000${p}`;
    if (this.pending.has(key)) return;
    this.pending.add(key);
    setImmediate(() => {
      this.pending.delete(key);
      if (!this.closed) this.listeners.emit(topic, p);
    });
  }

  subscribe(topic: Topic, fn: Listener): () => void {
    return this.listeners.add(topic, fn);
  }

  ready(): Promise<void> {
    return Promise.resolve();
  }

  flush(): Promise<void> {
    return new Promise((resolve) => setImmediate(resolve));
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}
