/** Numbers that replied STOP to a user get nothing more from that user (`opted_out`). */
import { INSERT_CHUNK } from '../store/rows.js';
import type { PolicyRule, Verdict } from './rule.js';

export const optOutRule: PolicyRule = {
  name: 'opt_out',
  async check(ctx, candidates) {
    const out = new Map<string, Verdict>();
    const numbers = [...new Set(candidates.map((c) => c.message.to))];
    const optedOut = new Set<string>();
    for (let i = 0; i < numbers.length; i += INSERT_CHUNK) {
      const rows = await ctx.trx
        .selectFrom('opt_outs')
        .select(['owner_id', 'number'])
        .where('number', 'in', numbers.slice(i, i + INSERT_CHUNK))
        .execute();
      for (const r of rows) optedOut.add(`${r.owner_id}|${r.number}`);
    }
    for (const c of candidates) {
      if (optedOut.has(`${c.message.owner_id}|${c.message.to}`)) {
        out.set(c.message.id, {
          action: 'reject',
          code: 'opted_out',
          message: 'The recipient opted out (replied STOP).',
        });
      }
    }
    return out;
  },
};
