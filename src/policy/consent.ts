/**
 * Opt-in required: an owner who turned it on sends marketing messages only to numbers with a
 * standing consent record (`no_consent` otherwise). Verification and notification messages,
 * and plain text, are not marketing and pass.
 */
import { INSERT_CHUNK } from '../store/rows.js';
import type { PolicyRule, Verdict } from './rule.js';
import { policySettingsOf } from './settings.js';

export const consentRule: PolicyRule = {
  name: 'consent',
  async check(ctx, candidates) {
    const out = new Map<string, Verdict>();
    const marketing = candidates.filter((c) => c.info.category === 'marketing');
    if (marketing.length === 0) return out;
    const settings = await policySettingsOf(
      ctx.trx,
      candidates.map((c) => c.message.owner_id),
    );
    const needs = marketing.filter((c) => settings.get(c.message.owner_id)?.consentRequired);
    if (needs.length === 0) return out;
    const numbers = [...new Set(needs.map((c) => c.message.to))];
    const owners = [...new Set(needs.map((c) => c.message.owner_id))];
    const consented = new Set<string>();
    for (let i = 0; i < numbers.length; i += INSERT_CHUNK) {
      const rows = await ctx.trx
        .selectFrom('consents')
        .select(['owner_id', 'number'])
        .where('owner_id', 'in', owners)
        .where('number', 'in', numbers.slice(i, i + INSERT_CHUNK))
        .where('revoked_at', 'is', null)
        .execute();
      for (const r of rows) consented.add(`${r.owner_id}|${r.number}`);
    }
    for (const c of needs) {
      if (!consented.has(`${c.message.owner_id}|${c.message.to}`)) {
        out.set(c.message.id, {
          action: 'reject',
          code: 'no_consent',
          message: 'The recipient has not opted in to marketing messages (no consent on record).',
        });
      }
    }
    return out;
  },
};
