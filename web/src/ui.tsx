/** Small shared pieces: status badges, error boxes, progress bars, dates. Text is always rendered as text. */
import type { ComponentChildren } from 'preact';
import type { ApiErrorBody } from './api';
import { ApiFailure } from './api';

export function StatusBadge({ status }: { status: string }) {
  return <span class={`badge badge-${status}`}>{status.replace('_', ' ')}</span>;
}

export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null;
  const body: ApiErrorBody | undefined = error instanceof ApiFailure ? error.body : undefined;
  return (
    <div class="error-box" role="alert">
      <strong>{body ? body.message : String((error as Error).message ?? error)}</strong>
      {body?.field && <span class="muted"> (field: {body.field})</span>}
      {body && <code class="muted"> {body.code}</code>}
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

/** A bar toward a limit (red near it) or, with `goal`, toward completion (green when there). */
export function Progress({
  value,
  max,
  label,
  goal = false,
}: {
  value: number;
  max: number | null;
  label: string;
  goal?: boolean;
}) {
  if (!max) return <span class="muted">{value.toLocaleString()} (no limit)</span>;
  const pct = Math.min(100, (value / max) * 100);
  return (
    <div class="progress-wrap">
      <div
        class={`progress ${goal ? 'progress-goal' : pct >= 90 ? 'progress-high' : ''}`}
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={max}
        aria-valuenow={value}
      >
        <div class="progress-bar" style={{ width: `${pct}%` }} />
      </div>
      <span class="progress-text">
        {value.toLocaleString()} / {max.toLocaleString()}
      </span>
    </div>
  );
}

export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' });
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
            {c || <span class="sr-only">Actions</span>}
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
      Priority <span class="muted small">(lower first)</span>
      <input name="priority" type="number" min={0} max={1000} value={value} onInput={onInput} />
    </label>
  );
}
