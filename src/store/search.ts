/** Query pieces for search (core/search.ts folds; `smsgw_fold` is the same fold in the database). */
import type { RawBuilder } from 'kysely';
import { sql } from 'kysely';
import { containsPattern, foldText } from '../core/search.js';

/**
 * `column` contains `needle`, case folded in every script. Not indexed: callers scan in slices
 * (store/slices.ts) or over small tables.
 */
export function foldedContains(column: string, needle: string): RawBuilder<boolean> {
  return sql<boolean>`smsgw_fold(${sql.ref(column)}) like ${containsPattern(foldText(needle))} escape '\\'`;
}
