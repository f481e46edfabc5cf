/**
 * Templates and sender signatures (issue 14): a user's own with their review state and the
 * rejection reason, a form to submit or edit one (editing sends it back to review), the live
 * segment count of a template's text; for admins the review queue (approve, or reject with a
 * reason after a confirmation).
 */
import { useEffect, useState } from 'preact/hooks';
import type { User } from '../api';
import { api } from '../api';
import { confirmThen } from '../confirm';
import { t } from '../i18n';
import { Card, ErrorBox, RowButton, TableHead, when } from '../ui';
import { TextField } from '../field';

type Kind = 'templates' | 'signatures';
type ReviewStatus = 'pending' | 'approved' | 'rejected';

interface Item {
  id: string;
  owner_id: string;
  name: string;
  text: string;
  category?: string;
  placement?: 'prefix' | 'suffix';
  status: ReviewStatus;
  reason: string | null;
  updated_at: string;
}

const CATEGORIES = ['verification', 'notification', 'marketing'] as const;

export function ReviewBadge({ status }: { status: ReviewStatus }) {
  return <span class={`badge badge-review-${status}`}>{t(`tpl.status.${status}`)}</span>;
}

export function Templates({ user }: { user: User }) {
  // One change counter: a decision in the queue refreshes the lists beside it.
  const [version, setVersion] = useState(0);
  const changed = () => setVersion((v) => v + 1);
  return (
    <div>
      <h1>{t('tpl.title')}</h1>
      <div class="grid">
        {user.role === 'admin' && <Queue kind="templates" version={version} onChange={changed} />}
        {user.role === 'admin' && <Queue kind="signatures" version={version} onChange={changed} />}
        <Mine kind="templates" user={user} version={version} onChange={changed} />
        <Mine kind="signatures" user={user} version={version} onChange={changed} />
      </div>
    </div>
  );
}

function Mine({
  kind,
  user,
  version,
  onChange,
}: {
  kind: Kind;
  user: User;
  version: number;
  onChange: () => void;
}) {
  const [items, setItems] = useState<Item[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [editing, setEditing] = useState<Item | null>(null);
  const empty = { name: '', text: '', category: 'notification', placement: 'prefix' };
  const [f, setF] = useState(empty);
  const [segments, setSegments] = useState<{ segments: number; encoding: string } | null>(null);

  useEffect(() => {
    api<{ data: Item[] }>('GET', `/v1/${kind}`).then(
      // An admin sees everyone's in the queue; here only their own.
      (r) => setItems(r.data.filter((i) => i.owner_id === user.id)),
      setError,
    );
  }, [kind, version]);

  useEffect(() => {
    if (kind !== 'templates' || !f.text) {
      setSegments(null);
      return;
    }
    const timer = setTimeout(() => {
      api<{ segments: number; encoding: string }>('POST', '/v1/messages/preview', { text: f.text }).then(
        setSegments,
        () => setSegments(null),
      );
    }, 150);
    return () => clearTimeout(timer);
  }, [f.text, kind]);

  const set = (k: keyof typeof f) => (e: Event) =>
    setF({ ...f, [k]: (e.currentTarget as HTMLInputElement).value });

  const startEdit = (i: Item) => {
    setEditing(i);
    setF({
      name: i.name,
      text: i.text,
      category: i.category ?? 'notification',
      placement: i.placement ?? 'prefix',
    });
  };
  const cancelEdit = () => {
    setEditing(null);
    setF(empty);
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    const body =
      kind === 'templates'
        ? { name: f.name, text: f.text, category: f.category }
        : { name: f.name, text: f.text, placement: f.placement };
    try {
      if (editing) await api('PATCH', `/v1/${kind}/${encodeURIComponent(editing.id)}`, body);
      else await api('POST', `/v1/${kind}`, body);
      setError(null);
      cancelEdit();
      onChange();
    } catch (err) {
      setError(err);
    }
  };

  const remove = (i: Item) =>
    confirmThen(
      { title: t('tpl.confirmDelete', { name: i.name }), action: t('tpl.delete'), danger: true },
      async () => {
        await api('DELETE', `/v1/${kind}/${encodeURIComponent(i.id)}`);
        onChange();
      },
      setError,
    );

  const isTemplate = kind === 'templates';
  return (
    <Card title={t(isTemplate ? 'tpl.myTemplates' : 'tpl.mySignatures')} wide>
      <p class="muted small">{t(isTemplate ? 'tpl.templatesHint' : 'tpl.signaturesHint')}</p>
      <div class="table-wrap">
        <table class="cards" data-testid={`my-${kind}`}>
          <TableHead
            columns={[
              t('tpl.name'),
              t('tpl.text'),
              t(isTemplate ? 'tpl.category' : 'tpl.placement'),
              t('tpl.state'),
              t('tpl.changed'),
              '',
            ]}
          />
          <tbody>
            {items.map((i) => (
              <tr key={i.id}>
                <td data-label={t('tpl.name')}>
                  <bdi>{i.name}</bdi>
                </td>
                <td class="text-cell" data-label={t('tpl.text')}>
                  <bdi>{i.text}</bdi>
                </td>
                <td data-label={t(isTemplate ? 'tpl.category' : 'tpl.placement')}>
                  {isTemplate
                    ? t(`tpl.categoryName.${i.category ?? 'notification'}`)
                    : t(`tpl.placementName.${i.placement ?? 'prefix'}`)}
                </td>
                <td data-label={t('tpl.state')}>
                  <ReviewBadge status={i.status} />
                  {i.status === 'rejected' && i.reason && (
                    <div class="small" data-testid="reject-reason">
                      {t('tpl.reasonIs')} <bdi>{i.reason}</bdi>
                    </div>
                  )}
                </td>
                <td data-label={t('tpl.changed')}>{when(i.updated_at)}</td>
                <td class="actions">
                  <RowButton label={t('tpl.edit')} row={i.name} onClick={() => startEdit(i)} />
                  <RowButton label={t('tpl.delete')} row={i.name} onClick={() => remove(i)} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {items.length === 0 && <p class="muted">{t(isTemplate ? 'tpl.noTemplates' : 'tpl.noSignatures')}</p>}
      <form
        class="form-grid"
        onSubmit={submit}
        aria-label={t(isTemplate ? 'tpl.templateForm' : 'tpl.signatureForm')}
      >
        <TextField
          label={t('tpl.name')}
          name={`${kind}-name`}
          required
          maxLength={100}
          value={f.name}
          onInput={set('name')}
        />
        {isTemplate ? (
          <label>
            {t('tpl.category')}
            <select name="category" value={f.category} onChange={set('category')}>
              {CATEGORIES.map((c) => (
                <option key={c} value={c}>
                  {t(`tpl.categoryName.${c}`)}
                </option>
              ))}
            </select>
          </label>
        ) : (
          <label>
            {t('tpl.placement')}
            <select name="placement" value={f.placement} onChange={set('placement')}>
              <option value="prefix">{t('tpl.placementName.prefix')}</option>
              <option value="suffix">{t('tpl.placementName.suffix')}</option>
            </select>
          </label>
        )}
        <label class="span2">
          {t('tpl.text')}
          {isTemplate ? (
            <textarea
              name="template-text"
              required
              rows={3}
              dir="auto"
              value={f.text}
              onInput={set('text')}
            />
          ) : (
            <input
              name="signature-text"
              required
              maxLength={32}
              dir="auto"
              value={f.text}
              onInput={set('text')}
            />
          )}
        </label>
        {isTemplate && (
          <p class="span2 muted small" data-testid="template-segments" aria-live="polite">
            {t('tpl.variablesHint')}{' '}
            {segments &&
              t('tpl.segments', {
                count: segments.segments,
                encoding: segments.encoding.toUpperCase(),
              })}
          </p>
        )}
        {editing?.status === 'approved' && <p class="span2 warn small">{t('tpl.editBackToReview')}</p>}
        <ErrorBox error={error} />
        <div class="span2">
          <button type="submit" class="primary">
            {editing ? t('tpl.saveForReview') : t('tpl.submitForReview')}
          </button>{' '}
          {editing && (
            <button type="button" onClick={cancelEdit}>
              {t('tpl.cancelEdit')}
            </button>
          )}
        </div>
      </form>
    </Card>
  );
}

function Queue({ kind, version, onChange }: { kind: Kind; version: number; onChange: () => void }) {
  const [items, setItems] = useState<Item[]>([]);
  const [users, setUsers] = useState<Record<string, string>>({});
  const [reasons, setReasons] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    api<{ data: Item[] }>('GET', `/v1/${kind}?status=pending`).then((r) => setItems(r.data), setError);
  }, [kind, version]);
  useEffect(() => {
    api<{ data: User[] }>('GET', '/v1/users').then(
      (r) => setUsers(Object.fromEntries(r.data.map((u) => [u.id, u.login]))),
      () => undefined,
    );
  }, []);

  const approve = async (i: Item) => {
    try {
      await api('POST', `/v1/${kind}/${encodeURIComponent(i.id)}/approve`);
      setError(null);
      onChange();
    } catch (err) {
      setError(err);
    }
  };
  const reject = async (e: Event, i: Item) => {
    e.preventDefault();
    const reason = (reasons[i.id] ?? '').trim();
    if (!reason) return;
    await confirmThen(
      {
        title: t('tpl.confirmReject', { name: i.name }),
        body: t('tpl.confirmRejectBody', { reason }),
        action: t('tpl.reject'),
        danger: true,
      },
      async () => {
        await api('POST', `/v1/${kind}/${encodeURIComponent(i.id)}/reject`, { reason });
        setError(null);
        setReasons({ ...reasons, [i.id]: '' });
        onChange();
      },
      setError,
    );
  };

  const isTemplate = kind === 'templates';
  return (
    <Card title={t(isTemplate ? 'tpl.queueTemplates' : 'tpl.queueSignatures')} wide>
      <div class="table-wrap">
        <table class="cards" data-testid={`queue-${kind}`}>
          <TableHead columns={[t('tpl.owner'), t('tpl.name'), t('tpl.text'), t('tpl.submitted'), '']} />
          <tbody>
            {items.map((i) => (
              <tr key={i.id}>
                <td data-label={t('tpl.owner')}>
                  <bdi>{users[i.owner_id] ?? i.owner_id}</bdi>
                </td>
                <td data-label={t('tpl.name')}>
                  <bdi>{i.name}</bdi>
                  {isTemplate && (
                    <div class="muted small">{t(`tpl.categoryName.${i.category ?? 'notification'}`)}</div>
                  )}
                </td>
                <td class="text-cell" data-label={t('tpl.text')}>
                  <bdi>{i.text}</bdi>
                </td>
                <td data-label={t('tpl.submitted')}>{when(i.updated_at)}</td>
                <td class="actions">
                  <RowButton primary label={t('tpl.approve')} row={i.name} onClick={() => approve(i)} />
                  <form class="inline-form" onSubmit={(e) => reject(e, i)}>
                    <label>
                      <span class="sr-only">{t('tpl.rejectReason')}</span>
                      <input
                        name="reject-reason"
                        required
                        maxLength={500}
                        placeholder={t('tpl.rejectReason')}
                        value={reasons[i.id] ?? ''}
                        onInput={(e) => setReasons({ ...reasons, [i.id]: e.currentTarget.value })}
                      />
                    </label>
                    <RowButton type="submit" label={t('tpl.reject')} row={i.name} />
                  </form>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {items.length === 0 && <p class="muted">{t('tpl.queueEmpty')}</p>}
      <ErrorBox error={error} />
    </Card>
  );
}
