/** Small shared pieces: status badges, error boxes, progress bars, dates. Text is always rendered as text. */
import type { ComponentChildren, JSX } from 'preact';
import type { ApiErrorBody } from './api';
import { ApiFailure } from './api';
import { fmtDateTime, fmtNumber, t } from './i18n';

/** A message status in the page's language; the class keeps the stable status name. */
export function StatusBadge({ status }: { status: string }) {
  return <span class={`badge badge-${status}`}>{statusName(status)}</span>;
}

export function statusName(status: string): string {
  return t(`status.${status}`, { defaultValue: status.replaceAll('_', ' ') });
}

/** Phone numbers, ids and codes read left to right even inside right-to-left text. */
export function Ltr({ children }: { children: ComponentChildren }) {
  return <bdi dir="ltr">{children}</bdi>;
}

export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null;
  const body: ApiErrorBody | undefined = error instanceof ApiFailure ? error.body : undefined;
  return (
    <div class="error-box" role="alert">
      <strong>{body ? body.message : String((error as Error).message ?? error)}</strong>
      {body?.field && <span class="muted"> ({t('common.field', { field: body.field })})</span>}
      {body && (
        <code class="muted" dir="ltr">
          {' '}
          {body.code}
        </code>
      )}
    </div>
  );
}

export function Notice({ children }: { children: ComponentChildren }) {
  return (
    <div class="notice" role="status">
      {children}
    </div>
  );
}

/** A bar toward a limit (red near it). */
export function Progress({ value, max, label }: { value: number; max: number | null; label: string }) {
  if (!max)
    return (
      <span class="muted">
        {fmtNumber(value)} ({t('common.noLimit')})
      </span>
    );
  const pct = Math.min(100, (value / max) * 100);
  return (
    <div class="progress-wrap">
      <div
        class={`progress ${pct >= 90 ? 'progress-high' : ''}`}
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={max}
        aria-valuenow={value}
      >
        <div class="progress-bar" style={{ inlineSize: `${pct}%` }} />
      </div>
      <span class="progress-text">
        <Ltr>
          {fmtNumber(value)} / {fmtNumber(max)}
        </Ltr>
      </span>
    </div>
  );
}

/** Completion of a batch: delivered green, failed red, canceled grey, the rest still on the way. */
export function Outcomes({
  delivered,
  failed,
  canceled,
  total,
  label,
}: {
  delivered: number;
  failed: number;
  canceled: number;
  total: number;
  label: string;
}) {
  const pct = (n: number) => `${total > 0 ? Math.min(100, (n / total) * 100) : 0}%`;
  const done = delivered + failed + canceled;
  return (
    <div
      class="progress outcomes"
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={total}
      aria-valuenow={done}
    >
      <div class="progress-bar seg-delivered" style={{ inlineSize: pct(delivered) }} />
      <div class="progress-bar seg-failed" data-testid="failed-bar" style={{ inlineSize: pct(failed) }} />
      <div class="progress-bar seg-canceled" style={{ inlineSize: pct(canceled) }} />
    </div>
  );
}

export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  return fmtDateTime(iso);
}

export function Card({
  title,
  children,
  wide,
}: {
  title: string;
  children: ComponentChildren;
  wide?: boolean;
}) {
  return (
    <section class={`card ${wide ? 'card-wide' : ''}`} aria-label={title}>
      <h2>{title}</h2>
      {children}
    </section>
  );
}

/** A table head; an empty label is an actions column, named for screen readers only. */
export function TableHead({ columns }: { columns: string[] }) {
  return (
    <thead>
      <tr>
        {columns.map((c, i) => (
          <th scope="col" key={i}>
            {c || <span class="sr-only">{t('common.actions')}</span>}
          </th>
        ))}
      </tr>
    </thead>
  );
}

/** Routing and rule priority: 0–1000, lower goes first. */
export function PriorityField({ value, onInput }: { value: string; onInput: (e: Event) => void }) {
  return (
    <label>
      {t('common.priority')} <span class="muted small">({t('common.lowerFirst')})</span>
      <input name="priority" type="number" min={0} max={1000} value={value} onInput={onInput} />
    </label>
  );
}

/** A delivery or refusal reason in the page's language; the server's sentence when we have none. */
export function reason(error: { code: string; message?: string | null } | null | undefined): string {
  if (!error) return '';
  return t(`errorCode.${error.code}`, { defaultValue: error.message ?? error.code.replaceAll('_', ' ') });
}

/**
 * A button that acts on one row of a list: the verb shows, and screen readers hear the row it
 * acts on too, so that a column of "Delete" buttons can be told apart.
 */
export function RowButton({
  label,
  row,
  primary,
  ...button
}: Omit<JSX.ButtonHTMLAttributes<HTMLButtonElement>, 'class' | 'children' | 'label'> & {
  label: string;
  row: string;
  primary?: boolean;
}) {
  return (
    <button class={primary ? 'small primary' : 'small'} {...button}>
      {label} <span class="sr-only">{row}</span>
    </button>
  );
}
