/**
 * The SMPP sink of `npm run bench:vs-kannel`: the project's SMSC simulator (binds of every kind,
 * submit_sm answered with ids, a receipt for each submit that asks for one, after
 * `receiptDelayMs`, 0 included, every one DELIVRD and kept until its deliver_sm_resp) plus what
 * the comparison needs on top: submits counted per destination, so a message that arrives twice
 * is a duplicate and one that never arrives is missing, and the moment the last new one arrived.
 */
import { startSmscSimulator } from '../src/sim/smsc/simulator.js';
import type { SmscSim } from '../src/sim/smsc/simulator.js';

export interface Sink {
  port: number;
  sim: SmscSim;
  /** Distinct destinations seen. */
  readonly unique: number;
  /** Submits for a destination seen before. */
  readonly duplicates: number;
  /** performance.now() of the latest submit to a destination not seen before (0: none yet). */
  readonly lastNewAt: number;
  /** Destinations seen, without a leading '+' (Kannel and smsgw both send ton 1 digits). */
  has(destination: string): boolean;
  stop(): Promise<void>;
}

export async function startSink(receiptDelayMs: number): Promise<Sink> {
  const seen = new Set<string>();
  let duplicates = 0;
  let lastNewAt = 0;
  const sim = await startSmscSimulator({
    receiptTiming: 'delay',
    receiptDelayMs,
    successRate: 1,
    // The same id in submit_sm_resp and receipt: Kannel's default msg-id-type compares strings.
    respIdFormat: 'decimal',
    receiptIdFormat: 'decimal',
    onSubmit(to) {
      const key = to.startsWith('+') ? to.slice(1) : to;
      if (seen.has(key)) {
        duplicates++;
        return;
      }
      seen.add(key);
      lastNewAt = performance.now();
    },
  });
  return {
    port: sim.port,
    sim,
    get unique() {
      return seen.size;
    },
    get duplicates() {
      return duplicates;
    },
    get lastNewAt() {
      return lastNewAt;
    },
    has: (destination) => seen.has(destination.startsWith('+') ? destination.slice(1) : destination),
    stop: () => sim.stop(),
  };
}
