/** Keywords and opt-outs: rules that answer, forward or tag inbound texts; numbers that said STOP. */
import { useEffect, useState } from 'preact/hooks';
import type { User } from '../api';
import { api } from '../api';
import { Card, ErrorBox, PriorityField, TableHead, when } from '../ui';

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
const ACTION_LABEL = { auto_reply: 'Reply text', forward: 'Forward to URL', tag: 'Tag' } as const;

export function Keywords({ user }: { user: User }) {
  return (
    <div>
      <h1>Keywords and opt-outs</h1>
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
  const load = () => api<{ data: Rule[] }>('GET', '/v1/keywords').then((r) => setRules(r.data), setError);
  useEffect(() => void load(), []);
  const set = (k: keyof typeof f) => (e: Event) =>
    setF({ ...f, [k]: (e.currentTarget as HTMLInputElement).value });

  const add = async (e: Event) => {
    e.preventDefault();
    try {
      const field = ACTION_FIELD[f.action as keyof typeof ACTION_FIELD];
      await api('POST', '/v1/keywords', {
        match_type: f.match_type,
        pattern: f.pattern,
        action: f.action,
        [field]: f.value,
        priority: Number(f.priority),
      });
      setF({ ...f, pattern: '', value: '' });
      setError(null);
      await load();
    } catch (err) {
      setError(err);
    }
  };
  const remove = async (r: Rule) => {
    try {
      await api('DELETE', `/v1/keywords/${encodeURIComponent(r.id)}`);
      await load();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <Card title="Keyword rules" wide>
      <p class="muted small">
        Checked in priority order (lower first) against every inbound text; the first match acts. STOP, START
        and HELP are handled before any rule.
      </p>
      <table>
        <TableHead columns={['Match', 'Pattern', 'Action', 'Priority', '']} />
        <tbody>
          {rules.map((r) => (
            <tr key={r.id}>
              <td>{r.match_type}</td>
              <td>
                <code>{r.pattern}</code>
              </td>
              <td class="text-cell">
                {r.action.replace('_', ' ')}: {r.reply_text ?? r.forward_url ?? r.tag}
              </td>
              <td>{r.priority}</td>
              <td>
                <button class="small" onClick={() => remove(r)}>
                  Delete <span class="sr-only">rule {r.pattern}</span>
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {rules.length === 0 && <p class="muted">No rules yet.</p>}
      <form class="form-grid" onSubmit={add} aria-label="Add a keyword rule">
        <label>
          Match
          <select name="match_type" value={f.match_type} onChange={set('match_type')}>
            <option value="exact">exact word</option>
            <option value="prefix">starts with</option>
            <option value="regex">regular expression</option>
          </select>
        </label>
        <label>
          Pattern
          <input name="pattern" required maxLength={200} value={f.pattern} onInput={set('pattern')} />
        </label>
        <label>
          Action
          <select name="action" value={f.action} onChange={set('action')}>
            <option value="auto_reply">reply automatically</option>
            <option value="forward">forward to a URL</option>
            <option value="tag">tag the sender</option>
          </select>
        </label>
        <label>
          {ACTION_LABEL[f.action as keyof typeof ACTION_LABEL]}
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
            Add rule
          </button>
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
  const remove = async (o: OptOut) => {
    if (!confirm(`Send to ${o.number} again? Only do this if the person asked to receive messages.`)) return;
    try {
      await api('DELETE', `/v1/opt-outs/${encodeURIComponent(o.number)}`);
      await load();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <Card title="Opt-outs" wide>
      <p class="muted small">Messages to these numbers are refused with the reason opted_out.</p>
      <table>
        <TableHead columns={['Number', 'How', 'Since', '']} />
        <tbody>
          {rows.map((o) => (
            <tr key={`${o.owner_id}:${o.number}`}>
              <td>{o.number}</td>
              <td>{o.keyword ?? '—'}</td>
              <td>{when(o.created_at)}</td>
              <td>
                {o.owner_id === user.id && (
                  <button class="small" onClick={() => remove(o)}>
                    Remove <span class="sr-only">{o.number}</span>
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length === 0 && <p class="muted">Nobody has opted out.</p>}
      <form class="inline-form" onSubmit={add} aria-label="Add an opt-out">
        <label>
          Number
          <input
            name="opt-out-number"
            required
            value={number}
            onInput={(e) => setNumber(e.currentTarget.value)}
          />
        </label>
        <button type="submit" class="primary">
          Block this number
        </button>
      </form>
      <ErrorBox error={error} />
    </Card>
  );
}
