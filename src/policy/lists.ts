/** Blacklist and whitelist lookups for the rules: one query per chunk of numbers. */
import { INSERT_CHUNK } from '../store/rows.js';
import type { Candidate, PolicyContext } from './rule.js';

/** '' is the global list's owner. */
export const GLOBAL = '';

/**
 * Which (owner, number) pairs of the candidates are on a `kind` list, by `${owner}|${number}`;
 * a number on the global list is reported as `|${number}`.
 */
export async function listed(
  ctx: PolicyContext,
  kind: 'black' | 'white',
  candidates: readonly Candidate[],
): Promise<Set<string>> {
  const out = new Set<string>();
  if (candidates.length === 0) return out;
  const owners = [...new Set(candidates.map((c) => c.message.owner_id)), GLOBAL];
  const numbers = [...new Set(candidates.map((c) => c.message.to))];
  for (let i = 0; i < numbers.length; i += INSERT_CHUNK) {
    const rows = await ctx.trx
      .selectFrom('number_lists')
      .select(['owner_id', 'number'])
      .where('kind', '=', kind)
      .where('number', 'in', numbers.slice(i, i + INSERT_CHUNK))
      .where('owner_id', 'in', owners)
      .execute();
    for (const r of rows) out.add(`${r.owner_id}|${r.number}`);
  }
  return out;
}

/** On the owner's own list or the global one. */
export function onList(set: ReadonlySet<string>, c: Candidate): boolean {
  return set.has(`${c.message.owner_id}|${c.message.to}`) || set.has(`${GLOBAL}|${c.message.to}`);
}
