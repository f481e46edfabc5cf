/**
 * Opt-in required: an owner who turned it on sends marketing messages only to numbers with a
 * standing consent record (`no_consent` otherwise). Verification and notification messages,
 * and plain text, are not marketing and pass.
 */
import { listParam, runKeys } from '../store/compiled.js';
import type { PolicyRule, Verdict } from './rule.js';
import { policySettingsOf } from './settings.js';

// Standing consents of the batch's owners and numbers: one fixed query (store/compiled.ts), as
// `owner|number` keys (runKeys: no row object per consent).
const CONSENTED = {
  sqlite: `select owner_id || '|' || number as k from consents where owner_id in (select value from json_each(?))
    and number in (select value from json_each(?)) and revoked_at is null`,
  postgres: `select owner_id || '|' || number as k from consents where owner_id = any($1::text[]) and number = any($2::text[])
    and revoked_at is null`,
};

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
    const consented = await runKeys(ctx, CONSENTED, [
      listParam(ctx.dialect, owners),
      listParam(ctx.dialect, numbers),
    ]);
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
