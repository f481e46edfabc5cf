/** Time-zone arithmetic without a library: Intl knows every IANA zone's offset. Pure. */

/**
 * The zone's offset from UTC at an instant, in ms (positive east of Greenwich); undefined for a
 * name Intl does not know.
 */
export function zoneOffsetMs(tz: string, at: number): number | undefined {
  let name: string | undefined;
  try {
    name = new Intl.DateTimeFormat('en-US', { timeZone: tz, timeZoneName: 'longOffset' })
      .formatToParts(at)
      .find((p) => p.type === 'timeZoneName')?.value;
  } catch {
    return undefined;
  }
  const m = /GMT([+-])(\d{2}):(\d{2})/.exec(name ?? '');
  if (!m) return 0; // "GMT" alone: UTC
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) * 60_000;
}
