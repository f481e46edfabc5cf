/** Messages: history with filters and search, cursor pages, live status, CSV export. */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Message } from '../api';
import type { MessageStatus } from '../../../src/core/message.js';
import { STATUSES, api, qs } from '../api';
import { followEvents } from '../live';
import { ErrorBox, Ltr, StatusBadge, TableHead, reason, statusName, when } from '../ui';
import { fmtNumber, ltr, t } from '../i18n';

interface Filters {
  status: string;
  to: string;
  q: string;
  since: string;
  until: string;
}

const EMPTY: Filters = { status: '', to: '', q: '', since: '', until: '' };

/** Local calendar dates to the API's ISO instants; "until" includes the whole day. */
function toQuery(f: Filters) {
  const day = (d: string, plus = 0) =>
    d ? new Date(new Date(`${d}T00:00`).getTime() + plus).toISOString() : undefined;
  return {
    status: f.status,
    to: f.to.trim(),
    q: f.q.trim(),
    since: day(f.since),
    until: day(f.until, 86_400_000),
  };
}

export function Messages() {
  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const [rows, setRows] = useState<Message[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(false);
  const [canceled, setCanceled] = useState<string | null>(null);
  const rowsRef = useRef<Message[]>([]);
  rowsRef.current = rows;
  const filtersRef = useRef<Filters>(filters);
  filtersRef.current = filters;

  // Only the newest request may fill the table: a slow answer to an older one is dropped.
  const generation = useRef(0);
  const load = async (f: Filters, after?: string) => {
    const mine = ++generation.current;
    setLoading(true);
    try {
      const r = await api<{ data: Message[]; next_cursor: string | null }>(
        'GET',
        `/v1/messages${qs({ ...toQuery(f), limit: 50, cursor: after })}`,
      );
      if (mine !== generation.current) return;
      setRows((prev) => (after ? [...prev, ...r.data] : r.data));
      setCursor(r.next_cursor);
      setError(null);
    } catch (err) {
      if (mine === generation.current) setError(err);
    } finally {
      if (mine === generation.current) setLoading(false);
    }
  };

  // Reloads of the first page for news, at most one every 1.5 s however busy the feed is.
  const reloadTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const reloadSoon = () => {
    if (reloadTimer.current) return;
    reloadTimer.current = setTimeout(() => {
      reloadTimer.current = undefined;
      void load(filtersRef.current);
    }, 1_500);
  };
  useEffect(() => () => clearTimeout(reloadTimer.current), []);

  useEffect(() => {
    void load(filters);
  }, [filters]);

  // Status changes arrive from the change feed: rows on screen update in place at once, and the
  // first page is reloaded when other messages changed (sent from the API, SMPP, another tab,
  // or moved into the filter), so it stays what a fresh load would show.
  useEffect(
    () =>
      followEvents((events) => {
        const latest = new Map<string, MessageStatus>();
        for (const e of events) latest.set(e.message_id, e.status);
        const known = new Set(rowsRef.current.map((m) => m.id));
        // A message not on screen changed: it may be new, or now match the filter.
        if (events.some((e) => !known.has(e.message_id)) && rowsRef.current.length <= 50) reloadSoon();
        if (![...latest.keys()].some((id) => known.has(id))) return;
        setRows((prev) =>
          prev.map((m) => (latest.has(m.id) ? { ...m, status: latest.get(m.id) as MessageStatus } : m)),
        );
      }),
    [],
  );

  const apply = (e: Event) => {
    e.preventDefault();
    setFilters({ ...draft });
  };
  const reset = () => {
    setDraft(EMPTY);
    setFilters(EMPTY);
  };
  const cancel = async (m: Message) => {
    try {
      const r = await api<Message>('DELETE', `/v1/messages/${encodeURIComponent(m.id)}`);
      setRows((prev) => prev.map((x) => (x.id === m.id ? r : x)));
      setCanceled(m.to);
    } catch (err) {
      setError(err);
    }
  };
  const set = (k: keyof Filters) => (e: Event) =>
    setDraft({ ...draft, [k]: (e.currentTarget as HTMLInputElement).value });

  return (
    <div>
      <h1>{t('nav.messages')}</h1>
      <form class="card filters" onSubmit={apply} role="search" aria-label={t('messages.filter')}>
        <label>
          {t('common.status')}
          <select name="status" value={draft.status} onChange={set('status')}>
            <option value="">{t('messages.any')}</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {statusName(s)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('common.number')}
          <input name="to" dir="ltr" value={draft.to} onInput={set('to')} placeholder="+4915…" />
        </label>
        <label>
          {t('messages.textContains')}
          <input name="q" type="search" value={draft.q} onInput={set('q')} />
        </label>
        <label>
          {t('messages.since')}
          <input name="since" type="date" value={draft.since} onInput={set('since')} />
        </label>
        <label>
          {t('messages.until')}
          <input name="until" type="date" value={draft.until} onInput={set('until')} />
        </label>
        <div class="filter-actions">
          <button type="submit" class="primary">
            {t('messages.apply')}
          </button>
          <button type="button" onClick={reset}>
            {t('messages.reset')}
          </button>
          <a class="button" href={`/v1/messages/export${qs(toQuery(filters))}`} download>
            {t('messages.export')}
          </a>
        </div>
      </form>
      <ErrorBox error={error} />
      {canceled && <p role="status">{t('messages.canceledTo', { to: ltr(canceled) })}</p>}
      <div class="card table-wrap">
        <table class="messages cards">
          <caption class="sr-only">{t('messages.caption')}</caption>
          <TableHead
            columns={[
              t('messages.created'),
              t('messages.to'),
              t('send.text'),
              t('messages.segments'),
              t('common.status'),
              '',
            ]}
          />
          <tbody>
            {rows.map((m) => (
              <tr key={m.id} data-status={m.status}>
                <td class="nowrap" data-label={t('messages.created')}>
                  {when(m.created_at)}
                </td>
                <td class="nowrap" data-label={t('messages.to')}>
                  <a href={`#/messages/${encodeURIComponent(m.id)}`}>
                    <Ltr>{m.to}</Ltr>
                  </a>
                </td>
                <td class="text-cell" dir="auto" data-label={t('send.text')}>
                  {m.text}
                </td>
                <td data-label={t('messages.segments')}>{fmtNumber(m.segments)}</td>
                <td data-label={t('common.status')}>
                  <StatusBadge status={m.status} />
                  {m.error && <span class="muted small"> {reason(m.error)}</span>}
                </td>
                <td>
                  {(m.status === 'queued' || m.status === 'scheduled') && (
                    <button
                      class="small"
                      onClick={() => cancel(m)}
                      aria-label={t('messages.cancelTo', { to: m.to })}
                    >
                      {t('common.cancel')}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {!loading && rows.length === 0 && <p class="muted">{t('messages.none')}</p>}
        {cursor && (
          <button onClick={() => load(filters, cursor)} disabled={loading}>
            {t('messages.more')}
          </button>
        )}
      </div>
    </div>
  );
}
