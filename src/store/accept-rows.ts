/**
 * The fields of a message row that accepting changes in memory: the sending policy's verdicts
 * (policy/index.ts `apply`: status, refusal, hold), the credits rule's charge (policy/credits.ts)
 * and the category acceptBatch writes. A group commit that fails is written again item by item
 * (store/batcher.ts) with the same row objects, so a failed accept puts them back as the way in
 * built them: otherwise a retry kept a charge never debited, or a refusal (the status is no
 * longer `queued`, so the policy skipped the row) owed to a sibling that never committed.
 */
import type { NewMessage } from './schema.js';

const FIELDS = [
  'status',
  'error_code',
  'error_message',
  'final_at',
  'next_attempt_at',
  'expires_at',
  'charge',
  'category',
] as const satisfies readonly (keyof NewMessage)[];

/** Remembers the fields of the rows; the returned function puts them back (absent ones removed). */
export function keepAcceptFields(rows: readonly NewMessage[]): () => void {
  const kept = rows.map((m) => {
    const row = m as unknown as Record<string, unknown>;
    return { row, values: FIELDS.map((f) => (f in row ? { v: row[f] } : undefined)) };
  });
  return () => {
    for (const { row, values } of kept) {
      FIELDS.forEach((f, i) => {
        const was = values[i];
        if (was) row[f] = was.v;
        else delete row[f];
      });
    }
  };
}
