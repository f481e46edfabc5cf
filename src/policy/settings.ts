/**
 * The owners' policy settings (templates-only, opt-in required, quiet hours), read on every
 * accepting transaction and every send. Cached per owner for 2 s: the lookup cost 0.7 ms per
 * group commit of 64 requests (Kysely building the query dominates; measured with
 * bench/policy-rules.ts), and settings change by hand, rarely. A change made on this node
 * applies at once (`forgetPolicySettings`), even to a read in flight; one made on another node
 * within 2 s (store/owner-cache.ts).
 */
import type { Kysely } from 'kysely';
import type { PolicySettings } from '../store/consents.js';
import { DEFAULTS_ROW, settingsOf } from '../store/consents.js';
import { OwnerCache } from '../store/owner-cache.js';
import type { Database } from '../store/schema.js';

const cache = new OwnerCache<PolicySettings>();

export function forgetPolicySettings(userId?: string): void {
  cache.forget(userId);
}

/** Settings by owner (an owner without its own row has the defaults row's). */
export async function policySettingsOf(
  db: Kysely<Database>,
  owners: readonly string[],
): Promise<Map<string, PolicySettings>> {
  const out = new Map<string, PolicySettings>();
  const now = Date.now();
  const missing: string[] = [];
  for (const o of new Set(owners)) {
    const hit = cache.get(o, now);
    if (hit) out.set(o, hit);
    else missing.push(o);
  }
  if (missing.length === 0) return out;
  const stamp = cache.stamp();
  const rows = await db
    .selectFrom('policy_settings')
    .selectAll()
    .where('user_id', 'in', [...missing, DEFAULTS_ROW])
    .execute();
  const defaults = rows.find((r) => r.user_id === DEFAULTS_ROW);
  for (const o of missing) {
    const s = settingsOf(rows.find((r) => r.user_id === o) ?? defaults);
    cache.set(o, s, stamp, now);
    out.set(o, s);
  }
  return out;
}
