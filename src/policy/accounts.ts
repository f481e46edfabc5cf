/**
 * Per-user policy switches (test mode, auto-blacklist, prepaid credit) as the rules of one
 * accepting transaction see them: read once per transaction for every owner in it, shared by
 * the rules that need them (blacklist's test mode, credits). The prepaid balance comes with
 * them: where one writer runs at a time (SQLite) that read is the balance the credits rule
 * charges, and it needs no read of its own; with concurrent writers it reads it again under a
 * row lock (policy/credits.ts).
 */
import { listParam, runSql } from '../store/compiled.js';
import type { PolicyContext } from './rule.js';

const FLAGS = {
  sqlite: `select user_id, test_mode, prepaid, balance from account_policy where user_id in (select value from json_each(?))`,
  postgres: `select user_id, test_mode, prepaid, balance from account_policy where user_id = any($1::text[])`,
};

export interface AccountFlags {
  testMode: boolean;
  prepaid: boolean;
  /** The balance as this transaction read it; not locked (see the header). */
  balance: number;
}

const NONE: AccountFlags = { testMode: false, prepaid: false, balance: 0 };
const seen = new WeakMap<PolicyContext, Map<string, AccountFlags>>();

/** Flags of each owner; an owner without a row has the defaults (no test mode, unlimited). */
export async function accountFlags(
  ctx: PolicyContext,
  owners: readonly string[],
): Promise<Map<string, AccountFlags>> {
  let known = seen.get(ctx);
  if (!known) {
    known = new Map();
    seen.set(ctx, known);
  }
  const missing = owners.filter((o) => !known.has(o));
  if (missing.length > 0) {
    const rows = await runSql<{
      user_id: string;
      test_mode: number;
      prepaid: number;
      balance: number | string;
    }>(ctx, FLAGS, [listParam(ctx.dialect, missing)]);
    for (const o of missing) known.set(o, NONE);
    for (const r of rows)
      known.set(r.user_id, {
        testMode: Number(r.test_mode) === 1,
        prepaid: Number(r.prepaid) === 1,
        balance: Number(r.balance),
      });
  }
  return known;
}

/** Distinct owners of the candidates, in order. */
export function ownersOf(candidates: readonly { message: { owner_id: string } }[]): string[] {
  return [...new Set(candidates.map((c) => c.message.owner_id))];
}
