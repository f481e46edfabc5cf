/**
 * Credits: a prepaid account pays per segment at acceptance, at the price of the longest
 * matching destination prefix (store/credits.ts). A message the balance does not cover is
 * refused `insufficient_balance`; in a batch that runs out mid-way the first recipients are
 * charged and the rest refused one by one. No price for the destination: `no_price`. Accounts
 * without a prepaid balance (the default) are not charged. Last in the pipeline: only messages
 * that will be stored as queued or scheduled are charged.
 */
import type { Insertable } from 'kysely';
import { debit, pick, pricesFor } from '../store/credits.js';
import type { CreditLedgerTable } from '../store/schema.js';
import { accountFlags, ownersOf } from './accounts.js';
import type { PolicyRule, Verdict } from './rule.js';

export const creditsRule: PolicyRule = {
  name: 'credits',
  async check(ctx, candidates) {
    const out = new Map<string, Verdict>();
    const flags = await accountFlags(ctx, ownersOf(candidates));
    const paying = candidates.filter((c) => flags.get(c.message.owner_id)?.prepaid);
    if (paying.length === 0) return out;
    const prices = await pricesFor(ctx.trx, [...new Set(paying.map((c) => c.message.to))]);
    const ledger: Insertable<CreditLedgerTable>[] = [];
    // Owners whose balance ran out in this transaction: the rest of their messages cost no query.
    const empty = new Map<string, number>();
    for (const c of paying) {
      const m = c.message;
      const q = pick(prices, m.to, m.encoding, m.segments);
      if (!q) {
        out.set(m.id, {
          action: 'reject',
          code: 'no_price',
          message: 'No price is set for this destination.',
        });
        continue;
      }
      if (q.total === 0) continue;
      const floor = empty.get(m.owner_id);
      const balance =
        floor !== undefined && q.total >= floor
          ? undefined
          : await debit(ctx.trx, m.owner_id, q.total, ctx.now);
      if (balance === undefined) {
        if (floor === undefined || q.total < floor) empty.set(m.owner_id, q.total);
        out.set(m.id, {
          action: 'reject',
          code: 'insufficient_balance',
          message: `The balance does not cover this message (${q.total} for ${q.segments} segment(s)).`,
        });
        continue;
      }
      ledger.push({
        user_id: m.owner_id,
        kind: 'charge',
        amount: -q.total,
        balance_after: balance,
        message_id: m.id,
        note: `${q.segments} × ${q.perSegment} (${q.prefix ? `+${q.prefix}` : 'default'}, ${m.encoding})`,
        created_at: ctx.now,
      });
    }
    for (let i = 0; i < ledger.length; i += 200) {
      await ctx.trx
        .insertInto('credit_ledger')
        .values(ledger.slice(i, i + 200))
        .execute();
    }
    return out;
  },
};
