/**
 * Quiet hours: a message whose category has a window (per user, or the defaults), due while it
 * is quiet where the recipient is, is held (`scheduled`) until the window ends; the dispatcher
 * claims it at `next_attempt_at` like any scheduled message. The zone: the request's, else the
 * contact's, else the one of the number's country (core/quiet-hours.ts); a number whose zone is
 * unknown is not held.
 */
import { zoneForNumber } from '../core/number-zone.js';
import { quietUntil, windowFor } from '../core/quiet-hours.js';
import { listParam, runSql } from '../store/compiled.js';
import type { Candidate, PolicyRule, Verdict } from './rule.js';
import { policySettingsOf } from './settings.js';

export const quietHoursRule: PolicyRule = {
  name: 'quiet_hours',
  async check(ctx, candidates) {
    const out = new Map<string, Verdict>();
    const settings = await policySettingsOf(
      ctx.trx,
      candidates.map((c) => c.message.owner_id),
    );
    const windowed: { c: Candidate; start: string; end: string }[] = [];
    for (const c of candidates) {
      const windows = settings.get(c.message.owner_id)?.quietHours;
      const w = windows?.length ? windowFor(windows, c.info.category) : undefined;
      if (w) windowed.push({ c, start: w.start, end: w.end });
    }
    if (windowed.length === 0) return out;
    const contactZones = await zonesOfContacts(
      ctx,
      windowed.filter((x) => !x.c.info.timeZone).map((x) => x.c),
    );
    for (const { c, start, end } of windowed) {
      const m = c.message;
      const zone = c.info.timeZone ?? contactZones.get(`${m.owner_id}|${m.to}`) ?? zoneForNumber(m.to);
      if (!zone) continue;
      const until = quietUntilMemo(Math.max(ctx.now, m.next_attempt_at), start, end, zone);
      if (until !== undefined) {
        out.set(m.id, { action: 'hold', until, reason: `quiet hours ${start}–${end} in ${zone}` });
      }
    }
    return out;
  },
};

/**
 * `quietUntil`, worked out once per zone, window and minute for every batch of that minute. A
 * message scheduled for later is quiet or not at the time it would leave (`at`), and the answer
 * is the same for every time within one minute (windows are in whole minutes). One answer costs
 * 40–100 µs (Intl's formatToParts, twice or more): kept per batch only, it was most of what the
 * rule cost a group commit of 64 one-recipient requests (+11 %, `SIZE=64 npx tsx
 * bench/policy-cpu.ts`). Bounded: cleared at 10,000 answers (a minute's worth is a few per zone).
 */
const answers = new Map<string, number | undefined>();

function quietUntilMemo(at: number, start: string, end: string, zone: string): number | undefined {
  const key = `${zone}|${start}|${end}|${Math.floor(at / 60_000)}`;
  const known = answers.get(key);
  if (known !== undefined || answers.has(key)) return known;
  const until = quietUntil(at, { start, end }, zone);
  if (answers.size >= 10_000) answers.clear();
  answers.set(key, until);
  return until;
}

// Contacts' own zones for the batch: one fixed query (store/compiled.ts).
const ZONES = {
  sqlite: `select owner_id, number, time_zone from contacts where owner_id in (select value from json_each(?))
    and number in (select value from json_each(?)) and time_zone is not null`,
  postgres: `select owner_id, number, time_zone from contacts where owner_id = any($1::text[])
    and number = any($2::text[]) and time_zone is not null`,
};

async function zonesOfContacts(
  ctx: Parameters<PolicyRule['check']>[0],
  candidates: readonly Candidate[],
): Promise<Map<string, string>> {
  const zones = new Map<string, string>();
  if (candidates.length === 0) return zones;
  const owners = [...new Set(candidates.map((c) => c.message.owner_id))];
  const numbers = [...new Set(candidates.map((c) => c.message.to))];
  const rows = await runSql<{ owner_id: string; number: string; time_zone: string | null }>(ctx, ZONES, [
    listParam(ctx.dialect, owners),
    listParam(ctx.dialect, numbers),
  ]);
  for (const r of rows) if (r.time_zone) zones.set(`${r.owner_id}|${r.number}`, r.time_zone);
  return zones;
}
