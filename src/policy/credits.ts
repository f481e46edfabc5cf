/**
 * Credits: a prepaid account pays per segment at acceptance, at the price of the longest
 * matching destination prefix (store/credits.ts). A message the balance does not cover is
 * refused `insufficient_balance`; in a batch that runs out mid-way the first recipients are
 * charged and the rest refused one by one. No price for the destination: `no_price`. Accounts
 * without a prepaid balance (the default) are not charged. Last in the pipeline: only messages
 * that will be stored as queued or scheduled are charged.
 */
import type { Insertable } from 'kysely';
import { debit, lockBalance, pick, pricesFor } from '../store/credits.js';
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
    // Lock each paying owner's balance row (PostgreSQL: until commit; sorted, so two batches
    // cannot deadlock) and read it; then decide in memory, in request order, and write once.
    const balances = new Map<string, number>();
    for (const owner of [...new Set(paying.map((c) => c.message.owner_id))].sort()) {
      balances.set(owner, await lockBalance(ctx.trx, owner, ctx.caps.concurrentWriters));
    }
    const spent = new Map<string, number>();
    const ledger: Insertable<CreditLedgerTable>[] = [];
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
      const balance = balances.get(m.owner_id) ?? 0;
      if (q.total > balance) {
        out.set(m.id, {
          action: 'reject',
          code: 'insufficient_balance',
          message: `The balance does not cover this message (${q.total} for ${q.segments} segment(s)).`,
        });
        continue;
      }
      balances.set(m.owner_id, balance - q.total);
      spent.set(m.owner_id, (spent.get(m.owner_id) ?? 0) + q.total);
      ledger.push({
        user_id: m.owner_id,
        kind: 'charge',
        amount: -q.total,
        balance_after: balance - q.total,
        message_id: m.id,
        note: `${q.segments} × ${q.perSegment} (${q.prefix ? `+${q.prefix}` : 'default'}, ${m.encoding})`,
        created_at: ctx.now,
      });
    }
    for (const [owner, amount] of spent) await debit(ctx.trx, owner, amount, ctx.now);
    for (let i = 0; i < ledger.length; i += 200) {
      await ctx.trx
        .insertInto('credit_ledger')
        .values(ledger.slice(i, i + 200))
        .execute();
    }
    return out;
  },
};
