/**
 * The policy settings of the owners in an accepting transaction, read once per transaction
 * (one query for every rule that needs them: consent, quiet hours).
 */
import type { PolicySettings } from '../store/consents.js';
import { DEFAULTS_ROW, settingsOf } from '../store/consents.js';
import type { Candidate, PolicyContext } from './rule.js';

const perTransaction = new WeakMap<PolicyContext, Promise<Map<string, PolicySettings>>>();

export function ownerSettings(
  ctx: PolicyContext,
  candidates: readonly Candidate[],
): Promise<Map<string, PolicySettings>> {
  let p = perTransaction.get(ctx);
  if (!p) {
    p = load(ctx, [...new Set(candidates.map((c) => c.message.owner_id))]);
    perTransaction.set(ctx, p);
  }
  return p;
}

async function load(ctx: PolicyContext, owners: string[]): Promise<Map<string, PolicySettings>> {
  const rows = await ctx.trx
    .selectFrom('policy_settings')
    .selectAll()
    .where('user_id', 'in', [...owners, DEFAULTS_ROW])
    .execute();
  const defaults = rows.find((r) => r.user_id === DEFAULTS_ROW);
  const out = new Map<string, PolicySettings>();
  for (const o of owners) out.set(o, settingsOf(rows.find((r) => r.user_id === o) ?? defaults));
  return out;
}
