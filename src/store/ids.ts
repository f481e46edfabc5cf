/** Time-ordered ids (UUIDv7): inserts stay append-only in the B-tree and ids sort by creation. */
import { v7 } from 'uuid';

export function newId(): string {
  return v7();
}

/** "YYYY-MM" in UTC: the key of the per-channel monthly counters. */
export function monthOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 7);
}
