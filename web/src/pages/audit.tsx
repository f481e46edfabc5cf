/** The audit log (admins): who changed users, keys, channels, keyword rules or the policy, and how. */
import { useEffect, useState } from 'preact/hooks';
import { api, qs } from '../api';
import { ErrorBox, TableHead, when } from '../ui';
import { t } from '../i18n';

interface Entry {
  id: string;
  at: string;
  actor_id: string;
  actor_login: string;
  action: string;
  subject_kind: string;
  subject_id: string | null;
  status: number;
  details: unknown;
}
const KINDS = ['users', 'keys', 'channels', 'keywords', 'policy'] as const;
/** Ids and JSON have no spaces: they may break anywhere, or a phone scrolls sideways (672 px seen). */
const BREAK = { overflowWrap: 'anywhere' } as const;

export function Audit() {
  const [kind, setKind] = useState('');
  const [rows, setRows] = useState<Entry[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);

  const load = async (cursor: string | null) => {
    try {
      const r = await api<{ data: Entry[]; next_cursor: string | null }>(
        'GET',
        `/v1/audit${qs({ subject_kind: kind, cursor, limit: 50 })}`,
      );
      setRows(cursor ? [...rows, ...r.data] : r.data);
      setNext(r.next_cursor);
      setError(null);
    } catch (err) {
      setError(err);
    }
  };
  useEffect(() => void load(null), [kind]);

  return (
    <div>
      <h1>{t('ops.audit.title')}</h1>
      <p class="muted small">{t('ops.audit.hint')}</p>
      <label class="inline-form">
        {t('ops.audit.show')}
        <select name="audit-kind" value={kind} onChange={(e) => setKind(e.currentTarget.value)}>
          <option value="">{t('ops.audit.kind.all')}</option>
          {KINDS.map((k) => (
            <option key={k} value={k}>
              {t(`ops.audit.kind.${k}`)}
            </option>
          ))}
        </select>
      </label>
      <ErrorBox error={error} />
      <div class="card table-wrap">
        <table class="cards" data-testid="audit">
          <TableHead
            columns={[
              t('ops.audit.when'),
              t('ops.audit.actor'),
              t('ops.audit.action'),
              t('ops.audit.subject'),
              t('ops.audit.details'),
            ]}
          />
          <tbody>
            {rows.map((r) => (
              <tr key={r.id}>
                <td data-label={t('ops.audit.when')} class="nowrap">
                  {when(r.at)}
                </td>
                <td data-label={t('ops.audit.actor')}>
                  <bdi>{r.actor_login}</bdi>
                </td>
                <td data-label={t('ops.audit.action')}>
                  <code dir="ltr" style={BREAK}>
                    {r.action}
                  </code>
                </td>
                <td data-label={t('ops.audit.subject')}>
                  {t(`ops.audit.kind.${r.subject_kind}`, { defaultValue: r.subject_kind })}
                  {r.subject_id && (
                    <div class="small muted">
                      <code dir="ltr" style={BREAK}>
                        {r.subject_id}
                      </code>
                    </div>
                  )}
                </td>
                <td class="text-cell" data-label={t('ops.audit.details')}>
                  {r.details !== null && (
                    <code dir="ltr" class="small" style={BREAK}>
                      {JSON.stringify(r.details)}
                    </code>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {rows.length === 0 && <p class="muted">{t('ops.audit.none')}</p>}
      </div>
      {next && (
        <p>
          <button onClick={() => void load(next)}>{t('ops.audit.more')}</button>
        </p>
      )}
    </div>
  );
}
