/** Numbers that replied STOP to a user get nothing more from that user (`opted_out`). */
import { listParam, runKeys } from '../store/compiled.js';
import type { PolicyRule, Verdict } from './rule.js';

// By the primary key (owner_id, number): owners and numbers of the batch, one query.
const OPTED_OUT = {
  sqlite: `select owner_id || '|' || number as k from opt_outs
    where owner_id in (select value from json_each(?)) and number in (select value from json_each(?))`,
  postgres: `select owner_id || '|' || number as k from opt_outs where owner_id = any($1::text[]) and number = any($2::text[])`,
};

export const optOutRule: PolicyRule = {
  name: 'opt_out',
  async check(ctx, candidates) {
    const out = new Map<string, Verdict>();
    const owners = [...new Set(candidates.map((c) => c.message.owner_id))];
    const numbers = [...new Set(candidates.map((c) => c.message.to))];
    const optedOut = await runKeys(ctx, OPTED_OUT, [
      listParam(ctx.dialect, owners),
      listParam(ctx.dialect, numbers),
    ]);
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
