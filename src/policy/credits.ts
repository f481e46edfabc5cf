/**
 * Credits: a prepaid account pays per segment at acceptance, at the price of the longest
 * matching destination prefix (store/credits.ts). A message the balance does not cover is
 * refused `insufficient_balance`; in a batch that runs out mid-way the first recipients are
 * charged and the rest refused one by one. No price for the destination: `no_price`. Accounts
 * without a prepaid balance (the default) are not charged. Last in the pipeline: only messages
 * that will be stored as queued or scheduled are charged.
 *
 * Cost: fixed statements (store/compiled.ts) — the prices from this node's price list (held 2 s,
 * store/credits.ts PriceCache; no statement while it is held), the balance as the account flags
 * read it (policy/accounts.ts) where one writer runs at a time and locked and read again where
 * several do, then debited and written to the ledger once per owner (ONE `charge` row per batch
 * and owner: the sum and the balance after it) — and what each message was charged is set on its
 * own row (`messages.charge`, migration 027; refunds and replace_sm read it), which the accepting
 * transaction writes anyway. A ledger row per message (a row and four index entries) cost about
 * 7 µs of CPU a message with its commit, half of accepting the message; a `credit_charges` row
 * of its own (migration 025, one b-tree) still +13–22 %; the column nothing measurable
 * (`npx tsx bench/policy-cpu.ts`, docs/benchmarks.md). Six statements a batch (flags, longest
 * prefix, prices, balance, debit, ledger) at 10–30 µs each made the rule +15 % on group commits
 * of 64 one-recipient requests; on SQLite it now runs three (flags, debit, ledger).
 */
import type { DialectSql } from '../store/compiled.js';
import { runSql } from '../store/compiled.js';
import { pickIn, priceIndexFor } from '../store/credits.js';
import { accountFlags, ownersOf } from './accounts.js';
import type { PolicyRule, Verdict } from './rule.js';

/** Locks a prepaid balance until commit (the no-op update) and reads it: concurrent writers only. */
const LOCK_BALANCE: DialectSql = {
  sqlite: '-- not used: one writer, the account flags carry the balance',
  postgres: `update account_policy set balance = balance where user_id = $1 and prepaid = 1 returning balance`,
};

const DEBIT: DialectSql = {
  sqlite: `update account_policy set balance = balance - ?, updated_at = ? where user_id = ?`,
  postgres: `update account_policy set balance = balance - $1, updated_at = $2 where user_id = $3`,
};

/** The batch's charge of one owner: one ledger row. */
const LEDGER_ROW: DialectSql = {
  sqlite: `insert into credit_ledger (user_id, kind, amount, balance_after, message_id, note, created_at)
    values (?, 'charge', ?, ?, null, ?, ?)`,
  postgres: `insert into credit_ledger (user_id, kind, amount, balance_after, message_id, note, created_at)
    values ($1, 'charge', $2, $3, null, $4, $5)`,
};

/** One owner's charges in this batch. */
interface Spent {
  amount: number;
  messages: number;
  segments: number;
}

export const creditsRule: PolicyRule = {
  name: 'credits',
  async check(ctx, candidates) {
    const out = new Map<string, Verdict>();
    const flags = await accountFlags(ctx, ownersOf(candidates));
    const paying = candidates.filter((c) => flags.get(c.message.owner_id)?.prepaid);
    if (paying.length === 0) return out;
    const numbers = paying.map((c) => c.message.to);
    const prices = ctx.prices ? await ctx.prices.indexFor(ctx, numbers) : await priceIndexFor(ctx, numbers);
    // Each paying owner's balance, then decide in memory, in request order, and write once.
    // Several writers (PostgreSQL): lock the row until commit and read it under the lock (sorted,
    // so two batches cannot deadlock). One writer (SQLite): the flags' read, in this transaction,
    // is the balance, and nothing can change it before the commit.
    const balances = new Map<string, number>();
    for (const owner of [...new Set(paying.map((c) => c.message.owner_id))].sort()) {
      if (!ctx.caps.concurrentWriters) {
        balances.set(owner, flags.get(owner)?.balance ?? 0);
        continue;
      }
      const [row] = await runSql<{ balance: number }>(ctx, LOCK_BALANCE, [owner]);
      balances.set(owner, Number(row?.balance ?? 0));
    }
    const spent = new Map<string, Spent>();
    for (const c of paying) {
      const m = c.message;
      const q = pickIn(prices, m.to, m.encoding, m.segments);
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
      const s = spent.get(m.owner_id);
      if (s) {
        s.amount += q.total;
        s.messages += 1;
        s.segments += q.segments;
      } else spent.set(m.owner_id, { amount: q.total, messages: 1, segments: q.segments });
      // Stored with the row (store/messages.ts acceptBatch writes every row's columns).
      m.charge = -q.total;
    }
    for (const [owner, s] of spent) {
      await runSql(ctx, DEBIT, [s.amount, ctx.now, owner]);
      await runSql(ctx, LEDGER_ROW, [
        owner,
        -s.amount,
        balances.get(owner) ?? 0,
        `${s.messages} message(s), ${s.segments} segment(s)`,
        ctx.now,
      ]);
    }
    return out;
  },
};
