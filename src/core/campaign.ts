/** Campaign domain: statuses, the one transition table, per-recipient text, send windows. Pure. */

export const CAMPAIGN_STATUSES = [
  'draft',
  'scheduled',
  'running',
  'paused',
  'completed',
  'canceled',
] as const;
export type CampaignStatus = (typeof CAMPAIGN_STATUSES)[number];

/**
 * Every status change of a campaign names its target and takes the allowed sources from here
 * (`campaignFrom`) in its WHERE clause, so two nodes or a late click never move it backwards.
 *
 *   create ─▶ draft | scheduled
 *   draft ─▶ scheduled | canceled            (start)
 *   scheduled ─▶ running | paused | canceled  (its time came: a runner claimed it)
 *   running ─▶ paused | completed | canceled | scheduled (waiting for a send window / next occurrence)
 *   paused ─▶ scheduled | canceled            (resume: claimed again by a runner)
 */
export const CAMPAIGN_TRANSITIONS: Readonly<Record<CampaignStatus, readonly CampaignStatus[]>> = {
  draft: ['scheduled', 'canceled'],
  scheduled: ['running', 'paused', 'canceled'],
  running: ['paused', 'completed', 'canceled', 'scheduled'],
  paused: ['scheduled', 'canceled'],
  completed: [],
  canceled: [],
};

export function canMoveCampaign(from: CampaignStatus, to: CampaignStatus): boolean {
  return CAMPAIGN_TRANSITIONS[from].includes(to);
}

/** The statuses a campaign may move to `to` from. */
export function campaignFrom(to: CampaignStatus): CampaignStatus[] {
  return CAMPAIGN_STATUSES.filter((s) => CAMPAIGN_TRANSITIONS[s].includes(to));
}

export function isCampaignStatus(s: string): s is CampaignStatus {
  return (CAMPAIGN_STATUSES as readonly string[]).includes(s);
}

/** `{name}`, `{first name}`, `{città}`: a variable is a name (letters first) in braces. */
const VARIABLE = /\{([\p{L}_][\p{L}\p{N}_ .-]{0,63})\}/gu;

/** The variable names a text uses. */
export function variablesOf(text: string): string[] {
  return [...new Set([...text.matchAll(VARIABLE)].map((m) => (m[1] as string).trim()))];
}

/**
 * Fills `{variable}` from the recipient's values (case-insensitive names). A variable with no
 * value is left empty, not printed as `{name}`; `missing` lists them so the caller can decide.
 */
export function renderText(
  text: string,
  values: Readonly<Record<string, string>>,
): { text: string; missing: string[] } {
  const lower = new Map(Object.entries(values).map(([k, v]) => [k.trim().toLowerCase(), v]));
  const missing: string[] = [];
  const out = text.replace(VARIABLE, (_m, name: string) => {
    const v = lower.get(name.trim().toLowerCase());
    if (v === undefined) missing.push(name.trim());
    return v ?? '';
  });
  return { text: out, missing };
}

/** "09:00" → 540 minutes after midnight; undefined when malformed. */
export function parseClock(s: string): number | undefined {
  const m = /^([01]?\d|2[0-4]):([0-5]\d)$/.exec(s.trim());
  if (!m) return undefined;
  const v = Number(m[1]) * 60 + Number(m[2]);
  return v <= 1440 ? v : undefined;
}

export function formatClock(minutes: number): string {
  return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Minutes after local midnight at `at` in the IANA zone `tz`. */
export function localMinutes(at: number, tz: string): number {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', {
      timeZone: tz,
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(tz, f);
  }
  let h = 0;
  let m = 0;
  for (const p of f.formatToParts(at)) {
    if (p.type === 'hour') h = Number(p.value);
    else if (p.type === 'minute') m = Number(p.value);
  }
  return h * 60 + m;
}

export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * When a recipient in `tz` may receive at `at` given the window [start, end) in local minutes
 * (end < start spans midnight): `at` itself inside the window, else the next opening. The
 * opening is found from the local clock's distance, so a DST change in between may shift it
 * by the change (the runner checks again when it wakes up).
 */
export function nextInWindow(at: number, tz: string, start: number, end: number): number {
  if (start === end) return at;
  const now = localMinutes(at, tz);
  const inside = start < end ? now >= start && now < end : now >= start || now < end;
  if (inside) return at;
  const wait = (start - now + 1440) % 1440;
  // Back to the start of the current minute, then forward to the opening minute.
  return at - (at % 60_000) + wait * 60_000;
}

/** Offset of `tz` from UTC at `at`, in ms (Rome in winter: +3,600,000). */
export function zoneOffset(at: number, tz: string): number {
  const f = new Intl.DateTimeFormat('en-US', {
    timeZone: tz,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
  const p: Record<string, number> = {};
  for (const part of f.formatToParts(at)) if (part.type !== 'literal') p[part.type] = Number(part.value);
  const asUtc = Date.UTC(
    p.year ?? 1970,
    (p.month ?? 1) - 1,
    p.day ?? 1,
    p.hour ?? 0,
    p.minute ?? 0,
    p.second ?? 0,
  );
  return asUtc - (at - (at % 1000));
}

/**
 * An ISO date-time: with `Z` or an offset it is that instant; without one (`2026-12-01T09:00`)
 * it is wall-clock time in `tz`. NaN when unreadable.
 */
export function parseZonedTime(s: string, tz: string): number {
  if (/(Z|[+-]\d\d:?\d\d)$/i.test(s.trim())) return Date.parse(s);
  const wall = Date.parse(`${s.trim()}Z`);
  if (!Number.isFinite(wall)) return NaN;
  // Two rounds: the offset at the guess, then at the corrected time (right across DST changes).
  let at = wall - zoneOffset(wall, tz);
  at = wall - zoneOffset(at, tz);
  return at;
}
