/**
 * Admission of SMPP connections: at most `maxConnections` open in total and
 * `maxConnectionsPerIp` from one address, counted from accept to close (bound or not), so one
 * host cannot take every slot with idle sockets. Pure bookkeeping; the server closes what is
 * refused.
 */
export class ConnectionGate {
  private readonly perIp = new Map<string, number>();
  private open = 0;
  /** Connections refused since start (for logs and tests). */
  refused = 0;

  constructor(private readonly limits: { maxConnections: number; maxConnectionsPerIp: number }) {}

  /** Takes a slot for `ip`; false when a limit is reached (nothing taken). */
  admit(ip: string): boolean {
    const n = this.perIp.get(ip) ?? 0;
    if (this.open >= this.limits.maxConnections || n >= this.limits.maxConnectionsPerIp) {
      this.refused++;
      return false;
    }
    this.open++;
    this.perIp.set(ip, n + 1);
    return true;
  }

  /** Gives back the slot of a closed connection. */
  release(ip: string): void {
    const n = (this.perIp.get(ip) ?? 0) - 1;
    if (n > 0) this.perIp.set(ip, n);
    else this.perIp.delete(ip);
    this.open = Math.max(0, this.open - 1);
  }

  get connections(): number {
    return this.open;
  }
}
