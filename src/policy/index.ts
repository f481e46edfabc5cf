/**
 * The policy pipeline: rules in order, each seeing what the ones before it let through. The
 * order matters: refusals that cost nothing first, holds next, charging (credits) last, so a
 * message is charged only when it will be stored as queued or scheduled.
 */
import type { Candidate, PolicyContext, PolicyRule, Verdict } from './rule.js';
import { optOutRule } from './opt-out.js';
import { consentRule } from './consent.js';
import { quietHoursRule } from './quiet-hours.js';
import { blacklistRule } from './blacklist.js';
import { frequencyRule } from './frequency.js';
import { creditsRule } from './credits.js';

export type { Candidate, MessagePolicyInfo, PolicyContext, PolicyRule, Verdict } from './rule.js';
export { BYPASS_CATEGORY } from './rule.js';

export const DEFAULT_RULES: readonly PolicyRule[] = [
  optOutRule,
  blacklistRule,
  consentRule,
  frequencyRule,
  // Holds after every refusal, before charging.
  quietHoursRule,
  // Keep last: only messages every other rule let through are charged.
  creditsRule,
];

export interface Refusal {
  code: string;
  message: string;
}

/**
 * Runs the rules over the candidates and applies the verdicts to the rows in place: a refused
 * row becomes `rejected` (final at once), a held row `scheduled` until the hold ends. Returns
 * the refusals by message id.
 */
export async function applyPolicy(
  rules: readonly PolicyRule[],
  ctx: PolicyContext,
  candidates: readonly Candidate[],
): Promise<Map<string, Refusal>> {
  const refused = new Map<string, Refusal>();
  let standing = candidates.filter(
    (c) => !c.info.bypass && (c.message.status === 'queued' || c.message.status === 'scheduled'),
  );
  const passed: { rule: PolicyRule; candidates: Candidate[] }[] = [];
  for (const rule of rules) {
    if (standing.length === 0) break;
    const verdicts = await rule.check(ctx, standing);
    if (verdicts.size > 0) {
      standing = standing.filter((c) => {
        const v = verdicts.get(c.message.id);
        if (!v) return true;
        apply(c, v, refused);
        return v.action === 'hold';
      });
    }
    if (rule.release) passed.push({ rule, candidates: standing });
  }
  // What a rule took for a message a later rule refused is given back (a cap's place).
  for (const { rule, candidates: letThrough } of passed) {
    const later = letThrough.filter((c) => refused.has(c.message.id));
    if (later.length > 0) await rule.release?.(ctx, later);
  }
  return refused;
}

function apply(c: Candidate, v: Verdict, refused: Map<string, Refusal>): void {
  const m = c.message;
  if (v.action === 'reject') {
    m.status = 'rejected';
    m.error_code = v.code;
    m.error_message = v.message;
    m.final_at = m.created_at;
    refused.set(m.id, { code: v.code, message: v.message });
  } else if (v.until > m.next_attempt_at) {
    // The validity counts from when the message may leave, so a hold does not eat it.
    m.expires_at += v.until - m.next_attempt_at;
    m.status = 'scheduled';
    m.next_attempt_at = v.until;
  }
}
