/** Calendar periods (UTC) of the frequency caps. Pure. */
export const PERIODS = ['minute', 'hour', 'day', 'month'] as const;
export type Period = (typeof PERIODS)[number];

/** Start of the calendar period that contains `now` (epoch ms, UTC). */
export function periodStart(period: Period, now: number): number {
  switch (period) {
    case 'minute':
      return now - (now % 60_000);
    case 'hour':
      return now - (now % 3_600_000);
    case 'day':
      return now - (now % 86_400_000);
    case 'month': {
      const d = new Date(now);
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    }
  }
}

export function isPeriod(s: string): s is Period {
  return (PERIODS as readonly string[]).includes(s);
}
