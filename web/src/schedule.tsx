/**
 * The scheduling fields Send and the campaign wizard share: a date or time field, the time-zone
 * picker, and a fieldset whose legend is the checkbox that opens it (schedule, sending window).
 */
import type { ComponentChildren } from 'preact';
import { fmtDateTime, t } from './i18n';

export const LOCAL_TZ = Intl.DateTimeFormat().resolvedOptions().timeZone;
// UTC and the browser's own zone first (Chromium's list has no "UTC" at all), then the rest.
export const ZONES: string[] = [
  ...new Set([
    'UTC',
    LOCAL_TZ,
    ...((Intl as unknown as { supportedValuesOf?: (k: string) => string[] }).supportedValuesOf?.(
      'timeZone',
    ) ?? []),
  ]),
];

/** "30 Nov 2030, 09:30 UTC": the instant in the zone it was chosen in, the zone named. */
export function inZone(instant: Date, tz: string): string {
  return `${fmtDateTime(instant, { dateStyle: 'medium', timeStyle: 'short', timeZone: tz })} ${tz}`;
}

/** A date or a time, labelled inline. */
export function WhenField({
  label,
  type,
  name,
  value,
  onValue,
}: {
  label: string;
  type: 'date' | 'time';
  name: string;
  value: string;
  onValue: (v: string) => void;
}) {
  return (
    <label class="inline">
      {label}
      <input type={type} name={name} value={value} onInput={(e) => onValue(e.currentTarget.value)} />
    </label>
  );
}

/** The time zone a date and time are read in. */
export function ZoneSelect({
  name,
  value,
  onValue,
}: {
  name: string;
  value: string;
  onValue: (v: string) => void;
}) {
  return (
    <label class="inline">
      {t('send.timeZone')}
      <select name={name} value={value} onChange={(e) => onValue(e.currentTarget.value)}>
        {ZONES.map((z) => (
          <option key={z} value={z}>
            {z}
          </option>
        ))}
      </select>
    </label>
  );
}

/** A fieldset whose legend is a checkbox; what it holds shows only while it is ticked. */
export function CheckedFieldset({
  class: cls,
  name,
  label,
  checked,
  onToggle,
  children,
}: {
  class: string;
  name: string;
  label: string;
  checked: boolean;
  onToggle: (on: boolean) => void;
  children: ComponentChildren;
}) {
  return (
    <fieldset class={cls}>
      <legend>
        <label class="inline">
          <input
            type="checkbox"
            name={name}
            checked={checked}
            onChange={(e) => onToggle(e.currentTarget.checked)}
          />
          {label}
        </label>
      </legend>
      {checked && children}
    </fieldset>
  );
}
