/**
 * Parts of concatenated submits (UDH or SAR) held, unanswered, until the whole message is in.
 * Nothing here is acknowledged: a part is answered only once its message is committed, or
 * refused when it cannot complete. What a session may hold is bounded by count and by age, and
 * a session that closes takes its parts with it (it cannot be answered any more; the client
 * resends them after the rebind).
 */

/** One held part; the caller adds whatever it needs to answer it later. */
export interface HeldPart {
  /** The session that sent it; per-session limits count by this. */
  session: object;
  /** Position in the message, 1-based. */
  partSeq: number;
  text: string;
  /** registered_delivery of this part (clients ask on the first part, the last, or every part). */
  registered: number;
}

export interface PartsLimits {
  /** A message whose parts do not all arrive within this is refused (its parts are answered with an error). */
  maxAgeMs: number;
  /** Parts one session may hold at once; more are refused until some complete or age out. */
  maxPerSession: number;
}

interface Entry<P> {
  total: number;
  parts: P[];
  timer: NodeJS.Timeout;
}

export type HoldResult<P> =
  | { kind: 'held' }
  /** The session holds its limit already: refuse this part (a temporary error, the client resends it). */
  | { kind: 'full' }
  /** The last part arrived: the message's parts, one per position in order, plus resent copies to answer too. */
  | { kind: 'complete'; parts: P[]; copies: P[] };

export class PartsHold<P extends HeldPart> {
  private readonly entries = new Map<string, Entry<P>>();
  private readonly perSession = new Map<object, number>();

  constructor(
    private readonly limits: PartsLimits,
    /** Called with every part of a message that did not complete in time. */
    private readonly expired: (parts: P[]) => void,
  ) {}

  /** Parts held now, all sessions together. */
  get size(): number {
    let n = 0;
    for (const e of this.entries.values()) n += e.parts.length;
    return n;
  }

  heldBy(session: object): number {
    return this.perSession.get(session) ?? 0;
  }

  /**
   * Holds one part under `key` (the same key for every part of a message). A part sent again
   * (same position) is kept too, so both copies are answered with the same outcome.
   */
  hold(key: string, total: number, part: P): HoldResult<P> {
    if (this.heldBy(part.session) >= this.limits.maxPerSession) return { kind: 'full' };
    let entry = this.entries.get(key);
    if (!entry) {
      const timer = setTimeout(() => this.expire(key), this.limits.maxAgeMs);
      timer.unref();
      entry = { total, parts: [], timer };
      this.entries.set(key, entry);
    }
    entry.parts.push(part);
    this.count(part.session, 1);
    const distinct = new Map<number, P>();
    for (const p of entry.parts) if (!distinct.has(p.partSeq)) distinct.set(p.partSeq, p);
    if (distinct.size < entry.total) return { kind: 'held' };
    this.remove(key, entry);
    const parts = [...distinct.values()].sort((a, b) => a.partSeq - b.partSeq);
    const first = new Set(parts);
    return { kind: 'complete', parts, copies: entry.parts.filter((p) => !first.has(p)) };
  }

  /** A session ends: its parts are dropped (and returned, to be refused if it can still answer). */
  dropSession(session: object): P[] {
    if (!this.perSession.has(session)) return [];
    const dropped: P[] = [];
    for (const [key, entry] of this.entries) {
      entry.parts = entry.parts.filter((p) => p.session !== session || (dropped.push(p), false));
      if (entry.parts.length === 0) {
        clearTimeout(entry.timer);
        this.entries.delete(key);
      }
    }
    this.perSession.delete(session);
    return dropped;
  }

  close(): void {
    for (const e of this.entries.values()) clearTimeout(e.timer);
    this.entries.clear();
    this.perSession.clear();
  }

  private expire(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.remove(key, entry);
    this.expired(entry.parts);
  }

  private remove(key: string, entry: Entry<P>): void {
    clearTimeout(entry.timer);
    this.entries.delete(key);
    for (const p of entry.parts) this.count(p.session, -1);
  }

  private count(session: object, delta: number): void {
    const n = (this.perSession.get(session) ?? 0) + delta;
    if (n > 0) this.perSession.set(session, n);
    else this.perSession.delete(session);
  }
}

/**
 * The receipt a concatenated message asks for, from all its parts: Kannel sets
 * registered_delivery on the first part only, Jasmin on every part, others on the last.
 * SMPP values: 1 any final outcome, 2 failure only, 3 success only (SMPP 5.0); 1 wins over
 * the narrower ones, and failure-only plus success-only together is any outcome.
 */
export function receiptRequest(registered: readonly number[]): number {
  const asked = new Set(registered.map((r) => r & 0x03));
  if (asked.has(1) || (asked.has(2) && asked.has(3))) return 1;
  if (asked.has(2)) return 2;
  if (asked.has(3)) return 3;
  return 0;
}
