/**
 * A waiting long-poll (`GET /v1/events?wait=`) holds a connection, a timer and a database poll
 * every 250 ms for up to a minute. Waiters are capped per account (429 too_many_waiters: a
 * dashboard needs one per open tab) and in total (503 busy), so clients cannot pile them up.
 */
import { ApiError, say } from '../../core/errors.js';

export class LongPollLimit {
  private total = 0;
  private readonly perUser = new Map<string, number>();

  constructor(
    private readonly max: number,
    private readonly maxPerUser: number,
  ) {}

  get waiting(): number {
    return this.total;
  }

  /** Takes a slot for this user or throws; call the returned function exactly once when done. */
  enter(userId: string): () => void {
    const mine = this.perUser.get(userId) ?? 0;
    if (mine >= this.maxPerUser) {
      throw new ApiError('too_many_waiters', say('api.misc.waiters', { max: this.maxPerUser }), 'wait', {
        retry_after_s: 1,
      });
    }
    if (this.total >= this.max) {
      throw new ApiError('busy', say('api.misc.waitersBusy'), 'wait', {
        retry_after_s: 1,
      });
    }
    this.total++;
    this.perUser.set(userId, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      const left = (this.perUser.get(userId) ?? 1) - 1;
      if (left <= 0) this.perUser.delete(userId);
      else this.perUser.set(userId, left);
    };
  }
}
