/**
 * Blacklisted numbers (the user's list or the global one) are refused `blacklisted`; a
 * test-mode account may send only to numbers on its own whitelist (`not_whitelisted`).
 */
import { accountFlags, ownersOf } from './accounts.js';
import { listed, onList, whitelisted } from './lists.js';
import type { PolicyRule, Verdict } from './rule.js';

export const blacklistRule: PolicyRule = {
  name: 'blacklist',
  async check(ctx, candidates) {
    const out = new Map<string, Verdict>();
    const black = await listed(ctx, 'black', candidates);
    const flags = await accountFlags(ctx, ownersOf(candidates));
    const testing = candidates.filter((c) => flags.get(c.message.owner_id)?.testMode);
    const white = testing.length > 0 ? await whitelisted(ctx, testing) : new Set<string>();
    for (const c of candidates) {
      if (onList(black, c)) {
        out.set(c.message.id, {
          action: 'reject',
          code: 'blacklisted',
          message: 'The recipient is on a blacklist.',
        });
      } else if (
        flags.get(c.message.owner_id)?.testMode &&
        !white.has(`${c.message.owner_id}|${c.message.to}`)
      ) {
        out.set(c.message.id, {
          action: 'reject',
          code: 'not_whitelisted',
          message: 'The account is in test mode and the recipient is not on its whitelist.',
        });
      }
    }
    return out;
  },
};
