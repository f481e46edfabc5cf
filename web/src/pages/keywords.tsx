/** Keywords and opt-outs: rules that answer, forward or tag inbound texts; numbers that said STOP. */
import { useEffect, useState } from 'preact/hooks';
import type { User } from '../api';
import { api } from '../api';
import { Card, ErrorBox, Ltr, PriorityField, RowButton, TableHead, when } from '../ui';
import { confirmThen } from '../confirm';
import { fmtNumber, ltr, t } from '../i18n';
import { TextField } from '../field';

interface Rule {
  id: string;
  match_type: 'exact' | 'prefix' | 'regex';
  pattern: string;
  action: 'auto_reply' | 'forward' | 'tag';
  reply_text: string | null;
  forward_url: string | null;
  tag: string | null;
  priority: number;
  enabled: boolean;
}
interface OptOut {
  number: string;
  keyword: string | null;
  owner_id: string;
  created_at: string;
}

const ACTION_FIELD = { auto_reply: 'reply_text', forward: 'forward_url', tag: 'tag' } as const;

export function Keywords({ user }: { user: User }) {
  return (
    <div>
      <h1>{t('keywords.title')}</h1>
      <div class="grid">
        <Rules />
        <OptOuts user={user} />
      </div>
    </div>
  );
}

function Rules() {
  const [rules, setRules] = useState<Rule[]>([]);
  const [f, setF] = useState({
    match_type: 'exact',
    pattern: '',
    action: 'auto_reply',
    value: '',
    priority: '100',
  });
  const [error, setError] = useState<unknown>(null);
  // The rule being edited in the form below; null: the form adds a new rule.
  const [editing, setEditing] = useState<Rule | null>(null);
  const load = () => api<{ data: Rule[] }>('GET', '/v1/keywords').then((r) => setRules(r.data), setError);
  useEffect(() => void load(), []);
  const set = (k: keyof typeof f) => (e: Event) =>
    setF({ ...f, [k]: (e.currentTarget as HTMLInputElement).value });

  const add = async (e: Event) => {
    e.preventDefault();
    try {
      const field = ACTION_FIELD[f.action as keyof typeof ACTION_FIELD];
      const body = {
        match_type: f.match_type,
        pattern: f.pattern,
        action: f.action,
        [field]: f.value,
        priority: Number(f.priority),
      };
      if (editing) await api('PATCH', `/v1/keywords/${encodeURIComponent(editing.id)}`, body);
      else await api('POST', '/v1/keywords', body);
      setEditing(null);
      setF({ ...f, pattern: '', value: '' });
      setError(null);
      await load();
    } catch (err) {
      setError(err);
    }
  };
  const edit = (r: Rule) => {
    setEditing(r);
    setF({
      match_type: r.match_type,
      pattern: r.pattern,
      action: r.action,
      value: r.reply_text ?? r.forward_url ?? r.tag ?? '',
      priority: String(r.priority),
    });
  };
  const cancelEdit = () => {
    setEditing(null);
    setF({ ...f, pattern: '', value: '' });
  };
  const toggle = (r: Rule) =>
    confirmThen(
      r.enabled
        ? {
            title: t('ops.keywords.confirmOff', { pattern: r.pattern }),
            body: t('ops.keywords.confirmOffBody'),
            action: t('ops.keywords.switchOff'),
            danger: true,
          }
        : null,
      async () => {
        await api('PATCH', `/v1/keywords/${encodeURIComponent(r.id)}`, { enabled: !r.enabled });
        await load();
      },
      setError,
    );
  const remove = (r: Rule) =>
    confirmThen(
      {
        title: t('keywords.confirmDelete', { pattern: r.pattern }),
        body: t('keywords.confirmDeleteBody'),
        action: t('common.delete'),
        danger: true,
      },
      async () => {
        await api('DELETE', `/v1/keywords/${encodeURIComponent(r.id)}`);
        await load();
      },
      setError,
    );

  return (
    <Card title={t('keywords.rules')} wide>
      <p class="muted small">{t('keywords.rulesHint')}</p>
      <div class="table-wrap">
        <table class="cards">
          <TableHead
            columns={[
              t('keywords.match'),
              t('keywords.pattern'),
              t('keywords.action'),
              t('common.priority'),
              t('ops.keywords.on'),
              '',
            ]}
          />
          <tbody>
            {rules.map((r) => (
              <tr key={r.id} class={r.enabled ? '' : 'muted'}>
                <td data-label={t('keywords.match')}>{t(`keywords.matchType.${r.match_type}`)}</td>
                <td data-label={t('keywords.pattern')}>
                  <code dir="auto">{r.pattern}</code>
                </td>
                <td class="text-cell" data-label={t('keywords.action')}>
                  {t(`keywords.actionType.${r.action}`)}: <bdi>{r.reply_text ?? r.forward_url ?? r.tag}</bdi>
                </td>
                <td data-label={t('common.priority')}>{fmtNumber(r.priority)}</td>
                <td data-label={t('ops.keywords.on')}>
                  <input
                    type="checkbox"
                    role="switch"
                    checked={r.enabled}
                    onClick={(e) => {
                      e.preventDefault(); // the box follows the server's answer, after any confirmation
                      void toggle(r);
                    }}
                    aria-label={t('ops.keywords.switchNamed', { pattern: r.pattern })}
                  />{' '}
                  {!r.enabled && <span class="badge">{t('ops.keywords.off')}</span>}
                </td>
                <td>
                  <button
                    class="small"
                    onClick={() => edit(r)}
                    aria-label={t('ops.keywords.editNamed', { pattern: r.pattern })}
                  >
                    {t('ops.keywords.edit')}
                  </button>{' '}
                  <RowButton
                    label={t('common.delete')}
                    row={t('keywords.ruleNamed', { pattern: r.pattern })}
                    onClick={() => remove(r)}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {rules.length === 0 && <p class="muted">{t('keywords.noRules')}</p>}
      <form
        class="form-grid"
        onSubmit={add}
        aria-label={
          editing ? t('ops.keywords.editNamed', { pattern: editing.pattern }) : t('keywords.addForm')
        }
      >
        <label>
          {t('keywords.match')}
          <select name="match_type" value={f.match_type} onChange={set('match_type')}>
            <option value="exact">{t('keywords.matchType.exact')}</option>
            <option value="prefix">{t('keywords.matchType.prefix')}</option>
            <option value="regex">{t('keywords.matchType.regex')}</option>
          </select>
        </label>
        <TextField
          label={t('keywords.pattern')}
          name="pattern"
          required
          maxLength={200}
          value={f.pattern}
          onInput={set('pattern')}
        />
        <label>
          {t('keywords.action')}
          <select name="action" value={f.action} onChange={set('action')}>
            <option value="auto_reply">{t('keywords.actionChoice.auto_reply')}</option>
            <option value="forward">{t('keywords.actionChoice.forward')}</option>
            <option value="tag">{t('keywords.actionChoice.tag')}</option>
          </select>
        </label>
        <label>
          {t(`keywords.valueLabel.${f.action}`)}
          <input
            name="value"
            required
            type={f.action === 'forward' ? 'url' : 'text'}
            value={f.value}
            onInput={set('value')}
          />
        </label>
        <PriorityField value={f.priority} onInput={set('priority')} />
        <ErrorBox error={error} />
        <div class="span2">
          <button type="submit" class="primary">
            {editing ? t('common.save') : t('keywords.add')}
          </button>
          {editing && (
            <>
              {' '}
              <button type="button" onClick={cancelEdit}>
                {t('common.cancel')}
              </button>
            </>
          )}
        </div>
      </form>
    </Card>
  );
}

function OptOuts({ user }: { user: User }) {
  const [rows, setRows] = useState<OptOut[]>([]);
  const [number, setNumber] = useState('');
  const [error, setError] = useState<unknown>(null);
  const load = () => api<{ data: OptOut[] }>('GET', '/v1/opt-outs').then((r) => setRows(r.data), setError);
  useEffect(() => void load(), []);

  const add = async (e: Event) => {
    e.preventDefault();
    try {
      await api('POST', '/v1/opt-outs', { number });
      setNumber('');
      setError(null);
      await load();
    } catch (err) {
      setError(err);
    }
  };
  const remove = (o: OptOut) =>
    confirmThen(
      {
        title: t('optOuts.confirmRemove', { number: ltr(o.number) }),
        body: t('optOuts.confirmRemoveBody'),
        action: t('optOuts.remove'),
        danger: true,
      },
      async () => {
        await api('DELETE', `/v1/opt-outs/${encodeURIComponent(o.number)}`);
        await load();
      },
      setError,
    );

  return (
    <Card title={t('optOuts.title')} wide>
      <p class="muted small">{t('optOuts.hint')}</p>
      <div class="table-wrap">
        <table class="cards">
          <TableHead columns={[t('common.number'), t('optOuts.how'), t('optOuts.since'), '']} />
          <tbody>
            {rows.map((o) => (
              <tr key={`${o.owner_id}:${o.number}`}>
                <td data-label={t('common.number')}>
                  <Ltr>{o.number}</Ltr>
                </td>
                <td data-label={t('optOuts.how')}>{o.keyword ?? '—'}</td>
                <td data-label={t('optOuts.since')}>{when(o.created_at)}</td>
                <td>
                  {o.owner_id === user.id && (
                    <RowButton label={t('optOuts.remove')} row={o.number} onClick={() => remove(o)} />
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {rows.length === 0 && <p class="muted">{t('optOuts.none')}</p>}
      <form class="inline-form" onSubmit={add} aria-label={t('optOuts.addForm')}>
        <TextField
          label={t('common.number')}
          name="opt-out-number"
          dir="ltr"
          required
          value={number}
          onValue={setNumber}
        />
        <button type="submit" class="primary">
          {t('optOuts.block')}
        </button>
      </form>
      <ErrorBox error={error} />
    </Card>
  );
}
