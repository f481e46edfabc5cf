/**
 * Failed-login throttle, consulted before any password hash is computed. Each scrypt costs
 * ~50 ms of a core and 32 MiB (services/secrets.ts), so without this a single client could keep
 * both cores of the reference box busy with wrong passwords (issue 12). Failures are counted per
 * login (guessing one account's password from many addresses) and per client address (trying
 * many accounts from one); over either limit the answer is 429 with Retry-After until the window
 * that holds the oldest counted failure ends. An attempt counts as failed from the moment it
 * starts (so concurrent attempts cannot all slip under the limit while their hashes run) and
 * is taken back when it succeeds; a success also clears its login's count.
 *
 * Memory is bounded: at most `maxKeys` windows are kept; the oldest go first (a Map iterates in
 * insertion order), so a flood of distinct logins cannot grow the process.
 */
export interface ThrottleLimits {
  perLogin: number;
  perIp: number;
  windowMs: number;
  maxKeys?: number;
}

interface Window {
  failures: number;
  resetAt: number;
}

export class LoginThrottle {
  private readonly windows = new Map<string, Window>();
  private readonly maxKeys: number;

  constructor(private readonly limits: ThrottleLimits) {
    this.maxKeys = limits.maxKeys ?? 100_000;
  }

  /** Milliseconds to wait before this login from this address may be tried; 0 when it may now. */
  retryAfterMs(login: string, ip: string | undefined, now = Date.now()): number {
    const waits = [this.wait(`l:${login}`, this.limits.perLogin, now)];
    if (ip) waits.push(this.wait(`i:${ip}`, this.limits.perIp, now));
    return Math.max(...waits);
  }

  /** Counts an attempt as failed before its hash runs; `succeeded` takes it back. */
  attempt(login: string, ip: string | undefined, now = Date.now()): void {
    this.count(`l:${login}`, now);
    if (ip) this.count(`i:${ip}`, now);
  }

  succeeded(login: string, ip: string | undefined): void {
    this.windows.delete(`l:${login}`);
    const w = ip ? this.windows.get(`i:${ip}`) : undefined;
    if (w && w.failures > 0) w.failures--;
  }

  get size(): number {
    return this.windows.size;
  }

  private wait(key: string, limit: number, now: number): number {
    const w = this.windows.get(key);
    if (!w || w.resetAt <= now) return 0;
    return w.failures >= limit ? w.resetAt - now : 0;
  }

  private count(key: string, now: number): void {
    const w = this.windows.get(key);
    if (w && w.resetAt > now) {
      w.failures++;
      return;
    }
    this.windows.delete(key);
    while (this.windows.size >= this.maxKeys) {
      const oldest = this.windows.keys().next().value as string;
      this.windows.delete(oldest);
    }
    this.windows.set(key, { failures: 1, resetAt: now + this.limits.windowMs });
  }
}
