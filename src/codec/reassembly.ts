/**
 * Reassembly of concatenated inbound parts, keyed by sender, reference and part count: parts
 * may arrive out of order, duplicates are dropped, and after `timeoutMs` whatever arrived is
 * delivered as one message marked incomplete. Time comes from the caller (`now`), so this is
 * pure and testable without sleeping; call `expire(now)` periodically.
 *
 * Each part may carry a `tag` (a SIM storage index, a held acknowledgement): the whole message
 * returns the tags of every part it was made of, duplicates included, so the caller
 * acknowledges or deletes the parts only once the whole message is stored.
 */
export interface Part<T = never> {
  from: string;
  ref: number;
  total: number;
  seq: number;
  text: string;
  tag?: T;
}

export interface Reassembled<T = never> {
  from: string;
  text: string;
  incomplete: boolean;
  /** When the first part arrived. */
  firstAt: number;
  /** The tags of the parts this message was made of. */
  tags: T[];
}

export class Reassembler<T = never> {
  private readonly pending = new Map<
    string,
    { parts: Map<number, string>; total: number; from: string; firstAt: number; tags: T[] }
  >();

  constructor(private readonly timeoutMs = 300_000) {}

  /** Adds a part; returns the whole message when this part completes it. */
  add(part: Part<T>, now: number): Reassembled<T> | undefined {
    const tags = part.tag === undefined ? [] : [part.tag];
    if (part.total <= 1) return { from: part.from, text: part.text, incomplete: false, firstAt: now, tags };
    const key = `${part.from}|${part.ref}|${part.total}`;
    let entry = this.pending.get(key);
    if (!entry) {
      entry = { parts: new Map(), total: part.total, from: part.from, firstAt: now, tags: [] };
      this.pending.set(key, entry);
    }
    entry.tags.push(...tags);
    if (part.seq < 1 || part.seq > part.total || entry.parts.has(part.seq)) return undefined;
    entry.parts.set(part.seq, part.text);
    if (entry.parts.size < entry.total) return undefined;
    this.pending.delete(key);
    return {
      from: entry.from,
      text: join(entry.parts),
      incomplete: false,
      firstAt: entry.firstAt,
      tags: entry.tags,
    };
  }

  /** Messages whose parts stopped coming: delivered as they are. */
  expire(now: number): Reassembled<T>[] {
    const out: Reassembled<T>[] = [];
    for (const [key, e] of this.pending) {
      if (now - e.firstAt < this.timeoutMs) continue;
      this.pending.delete(key);
      out.push({ from: e.from, text: join(e.parts), incomplete: true, firstAt: e.firstAt, tags: e.tags });
    }
    return out;
  }

  /** Forgets every part held (a connection that dropped: its unacknowledged parts come again). */
  clear(): T[] {
    const tags = [...this.pending.values()].flatMap((e) => e.tags);
    this.pending.clear();
    return tags;
  }

  get size(): number {
    return this.pending.size;
  }
}

function join(parts: Map<number, string>): string {
  return [...parts.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([, t]) => t)
    .join('');
}
