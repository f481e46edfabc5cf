/**
 * The owners' policy settings (templates-only, opt-in required, quiet hours), read on every
 * accepting transaction and every send. Cached per owner for 2 s: the lookup cost 0.7 ms per
 * group commit of 64 requests (Kysely building the query dominates; measured with
 * bench/policy-rules.ts), and settings change by hand, rarely. A change made on this node
 * applies at once (`forgetPolicySettings`); one made on another node within 2 s.
 */
import type { Kysely } from 'kysely';
import type { PolicySettings } from '../store/consents.js';
import { DEFAULTS_ROW, settingsOf } from '../store/consents.js';
import type { Database } from '../store/schema.js';

const TTL_MS = 2_000;
const MAX_CACHED = 10_000;
const cache = new Map<string, { s: PolicySettings; at: number }>();

export function forgetPolicySettings(userId?: string): void {
  if (userId === undefined) cache.clear();
  else cache.delete(userId);
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
    const hit = cache.get(o);
    if (hit && now - hit.at < TTL_MS) out.set(o, hit.s);
    else missing.push(o);
  }
  if (missing.length === 0) return out;
  const rows = await db
    .selectFrom('policy_settings')
    .selectAll()
    .where('user_id', 'in', [...missing, DEFAULTS_ROW])
    .execute();
  const defaults = rows.find((r) => r.user_id === DEFAULTS_ROW);
  if (cache.size + missing.length > MAX_CACHED) cache.clear();
  for (const o of missing) {
    const s = settingsOf(rows.find((r) => r.user_id === o) ?? defaults);
    cache.set(o, { s, at: now });
    out.set(o, s);
  }
  return out;
}
