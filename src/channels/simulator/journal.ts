/**
 * The simulator's pending receipts, kept in a file as a real SMSC keeps them: a receipt the
 * simulated network owes survives a kill -9 of the gateway and is reported after the restart,
 * so a crash test can tell a lost message from a receipt that died with the process (issue 11:
 * 6,352 of 20,000 messages stayed `sent` for ever after 5 kills, all of them the simulator's).
 *
 * One JSON line per submit (`{"n","due","ids","o"}`), appended before `submit` returns, and one
 * `{"done":n}` line once all its reports are committed. Lines reach the kernel with one
 * `write(2)` each and are not fsynced: that survives the death of the process, which is what
 * this is for; an OS crash may lose the newest receipts, and the gateway then treats those
 * messages as an SMSC that lost them (they expire). Cost per submit, measured on the shared
 * 2-core box (`npx tsx bench/simulator-journal.ts`, six runs): about 4 µs more than in memory
 * (medians 8–24 µs without the file, 13–32 µs with it; the box's noise is as large).
 *
 * The file is rewritten without its finished entries when they outnumber the live ones (and at
 * every open), so it stays about as large as what is pending.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

export type SimOutcome =
  'delivered' | 'unknown_subscriber' | 'absent_subscriber' | 'network_error' | 'expired';

/** What the simulated network will report for the parts of one submit, and when. */
export interface PendingReceipt {
  /** Sequence number within the journal. */
  n: number;
  /** Epoch ms when the network reports. */
  due: number;
  /** The remote ids `submit` returned, one per part. */
  ids: string[];
  /** Every part gets this outcome, except with last_part_fails (the last one is absent). */
  outcome: SimOutcome | 'last_part_fails';
}

const FILE = 'receipts.jsonl';
/** Rewrite the file once this many finished entries have piled up (and they outnumber the live). */
const COMPACT_AFTER = 1000;

export class ReceiptJournal {
  private fd: number | undefined;
  private next = 1;
  private readonly live = new Map<number, PendingReceipt>();
  private dead = 0;
  /** Lines the last open could not read (a torn write, a foreign file); logged by the caller. */
  skipped = 0;

  constructor(private readonly dir: string) {}

  get path(): string {
    return join(this.dir, FILE);
  }

  get size(): number {
    return this.live.size;
  }

  /** Reads what was pending when the journal was last closed (or the process died); opens it for appends. */
  open(): PendingReceipt[] {
    mkdirSync(this.dir, { recursive: true });
    this.live.clear();
    this.skipped = 0;
    if (existsSync(this.path)) {
      for (const line of readFileSync(this.path, 'utf8').split('\n')) {
        if (line === '') continue;
        try {
          const rec = JSON.parse(line) as Partial<PendingReceipt> & {
            o?: PendingReceipt['outcome'];
            done?: number;
          };
          if (typeof rec.done === 'number') this.live.delete(rec.done);
          else if (
            typeof rec.n === 'number' &&
            typeof rec.due === 'number' &&
            Array.isArray(rec.ids) &&
            typeof rec.o === 'string'
          ) {
            this.live.set(rec.n, { n: rec.n, due: rec.due, ids: rec.ids.map(String), outcome: rec.o });
          } else this.skipped++;
        } catch {
          this.skipped++;
        }
      }
    }
    // A loop, not Math.max(...keys): up to maxPendingReceipts keys would overflow the arguments.
    this.next = 1;
    for (const n of this.live.keys()) if (n >= this.next) this.next = n + 1;
    this.compact();
    return [...this.live.values()].sort((a, b) => a.due - b.due || a.n - b.n);
  }

  /** Appends a pending receipt; when this returns, a kill -9 no longer loses it. */
  add(due: number, ids: string[], outcome: PendingReceipt['outcome']): PendingReceipt {
    const entry: PendingReceipt = { n: this.next++, due, ids, outcome };
    this.append(`${JSON.stringify({ n: entry.n, due, ids, o: outcome })}\n`);
    this.live.set(entry.n, entry);
    return entry;
  }

  /** Every report of the entry is committed: it will not be reported again. */
  done(n: number): void {
    if (!this.live.delete(n) || this.fd === undefined) return;
    this.append(`{"done":${n}}\n`);
    this.dead++;
    if (this.dead >= COMPACT_AFTER && this.dead > this.live.size) this.compact();
  }

  /** Closes the file and keeps it: what is still pending is reported after the next open. */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private append(line: string): void {
    if (this.fd === undefined) throw new Error('the receipt journal is not open');
    writeSync(this.fd, line);
  }

  /** Writes the live entries to a new file and renames it over the old one (atomic on POSIX). */
  private compact(): void {
    this.close();
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      const lines = [...this.live.values()].map((e) =>
        JSON.stringify({ n: e.n, due: e.due, ids: e.ids, o: e.outcome }),
      );
      if (lines.length > 0) writeSync(fd, `${lines.join('\n')}\n`);
      // The rename must not reach the disk before the data it points to.
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
    this.dead = 0;
    this.fd = openSync(this.path, 'a');
  }
}
