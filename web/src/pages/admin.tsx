/** Settings: users (admins), API keys (secret shown once), webhooks, opt-out words and replies. */
import { useEffect, useState } from 'preact/hooks';
import type { User } from '../api';
import { api } from '../api';
import { Card, ErrorBox, Notice, TableHead, when } from '../ui';

interface Key {
  id: string;
  user_id: string;
  name: string;
  prefix: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}
interface Settings {
  webhook_url: string | null;
  inbound_webhook_url: string | null;
  webhook_secret: string | null;
  stop_words: string[] | null;
  start_words: string[] | null;
  stop_reply: string | null;
  start_reply: string | null;
  help_reply: string | null;
  transliterate: boolean;
}

export function Admin({ user }: { user: User }) {
  return (
    <div>
      <h1>Settings</h1>
      <div class="grid">
        {user.role === 'admin' && <Users me={user} />}
        <Keys />
        <Webhooks />
      </div>
    </div>
  );
}

function Users({ me }: { me: User }) {
  const [users, setUsers] = useState<User[]>([]);
  const [login, setLogin] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<'user' | 'admin'>('user');
  const [error, setError] = useState<unknown>(null);
  const load = () => api<{ data: User[] }>('GET', '/v1/users').then((r) => setUsers(r.data), setError);
  useEffect(() => void load(), []);

  const create = async (e: Event) => {
    e.preventDefault();
    try {
      await api('POST', '/v1/users', { login, password, role });
      setLogin('');
      setPassword('');
      setError(null);
      await load();
    } catch (err) {
      setError(err);
    }
  };
  const setStatus = async (u: User, status: 'active' | 'blocked') => {
    try {
      await api('PATCH', `/v1/users/${encodeURIComponent(u.id)}`, { status });
      await load();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <Card title="Users" wide>
      <table>
        <TableHead columns={['Login', 'Role', 'Status', 'Created', '']} />
        <tbody>
          {users.map((u) => (
            <tr key={u.id}>
              <th scope="row">{u.login}</th>
              <td>{u.role}</td>
              <td>{u.status}</td>
              <td>{when(u.created_at)}</td>
              <td>
                {u.id !== me.id && (
                  <button
                    class="small"
                    onClick={() => setStatus(u, u.status === 'active' ? 'blocked' : 'active')}
                  >
                    {u.status === 'active' ? 'Block' : 'Unblock'} <span class="sr-only">{u.login}</span>
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form class="inline-form" onSubmit={create} aria-label="Add a user">
        <label>
          Login
          <input
            name="new-login"
            required
            minLength={2}
            maxLength={64}
            value={login}
            onInput={(e) => setLogin(e.currentTarget.value)}
          />
        </label>
        <label>
          Password
          <input
            name="new-password"
            type="password"
            autoComplete="new-password"
            required
            minLength={8}
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        <label>
          Role
          <select
            name="new-role"
            value={role}
            onChange={(e) => setRole(e.currentTarget.value as 'user' | 'admin')}
          >
            <option value="user">user</option>
            <option value="admin">admin</option>
          </select>
        </label>
        <button type="submit" class="primary">
          Add user
        </button>
      </form>
      <ErrorBox error={error} />
    </Card>
  );
}

function Keys() {
  const [keys, setKeys] = useState<Key[]>([]);
  const [name, setName] = useState('');
  const [secret, setSecret] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = () => api<{ data: Key[] }>('GET', '/v1/keys').then((r) => setKeys(r.data), setError);
  useEffect(() => void load(), []);

  const create = async (e: Event) => {
    e.preventDefault();
    try {
      const r = await api<Key & { key: string }>('POST', '/v1/keys', { name });
      setSecret(r.key);
      setName('');
      setError(null);
      await load();
    } catch (err) {
      setError(err);
    }
  };
  const revoke = async (k: Key) => {
    if (!confirm(`Revoke the key "${k.name}"? Applications using it stop working at once.`)) return;
    try {
      await api('DELETE', `/v1/keys/${encodeURIComponent(k.id)}`);
      await load();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <Card title="API keys">
      {secret && (
        <Notice>
          Copy the new key now; it is not shown again:
          <code class="secret" data-testid="new-key">
            {secret}
          </code>
        </Notice>
      )}
      <ul class="plain">
        {keys.map((k) => (
          <li key={k.id}>
            <strong>{k.name}</strong> <code>{k.prefix}…</code>{' '}
            <span class="muted small">
              {k.revoked_at ? `revoked ${when(k.revoked_at)}` : `last used ${when(k.last_used_at)}`}
            </span>{' '}
            {!k.revoked_at && (
              <button class="small" onClick={() => revoke(k)}>
                Revoke <span class="sr-only">{k.name}</span>
              </button>
            )}
          </li>
        ))}
      </ul>
      <form class="inline-form" onSubmit={create} aria-label="Create an API key">
        <label>
          Key name
          <input
            name="key-name"
            required
            maxLength={64}
            value={name}
            onInput={(e) => setName(e.currentTarget.value)}
          />
        </label>
        <button type="submit" class="primary">
          Create key
        </button>
      </form>
      <ErrorBox error={error} />
    </Card>
  );
}

function Webhooks() {
  const [s, setS] = useState<Settings | null>(null);
  const [form, setForm] = useState<Record<string, string>>({});
  const [transliterate, setTransliterate] = useState(false);
  const [saved, setSaved] = useState(false);
  const [showSecret, setShowSecret] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const fill = (r: Settings) => {
    setS(r);
    setTransliterate(r.transliterate);
    setForm({
      webhook_url: r.webhook_url ?? '',
      inbound_webhook_url: r.inbound_webhook_url ?? '',
      stop_words: (r.stop_words ?? []).join(', '),
      start_words: (r.start_words ?? []).join(', '),
      stop_reply: r.stop_reply ?? '',
      start_reply: r.start_reply ?? '',
      help_reply: r.help_reply ?? '',
    });
  };
  useEffect(() => void api<Settings>('GET', '/v1/settings').then(fill, setError), []);

  const words = (v: string | undefined) => {
    const list = (v ?? '').split(/[,\s]+/).filter(Boolean);
    return list.length ? list : null;
  };
  const save = async (e: Event) => {
    e.preventDefault();
    setSaved(false);
    try {
      const r = await api<Settings>('PATCH', '/v1/settings', {
        webhook_url: form.webhook_url || null,
        inbound_webhook_url: form.inbound_webhook_url || null,
        stop_words: words(form.stop_words),
        start_words: words(form.start_words),
        stop_reply: form.stop_reply || null,
        start_reply: form.start_reply || null,
        help_reply: form.help_reply || null,
        transliterate,
      });
      fill(r);
      setSaved(true);
      setError(null);
    } catch (err) {
      setError(err);
    }
  };
  const rotate = async () => {
    try {
      fill(await api<Settings>('POST', '/v1/settings/rotate-secret'));
      setShowSecret(true); // a new secret must be copied into the receiver now
    } catch (err) {
      setError(err);
    }
  };
  const field = (k: string, label: string, type = 'text', hint?: string) => (
    <label class={type === 'textarea' ? 'span2' : ''}>
      {label} {hint && <span class="muted small">({hint})</span>}
      {type === 'textarea' ? (
        <textarea
          name={k}
          rows={2}
          value={form[k] ?? ''}
          onInput={(e) => setForm({ ...form, [k]: e.currentTarget.value })}
        />
      ) : (
        <input
          name={k}
          type={type}
          value={form[k] ?? ''}
          onInput={(e) => setForm({ ...form, [k]: e.currentTarget.value })}
        />
      )}
    </label>
  );

  return (
    <Card title="Webhooks and opt-out" wide>
      <form class="form-grid" onSubmit={save}>
        {field('webhook_url', 'Status webhook URL', 'url')}
        {field('inbound_webhook_url', 'Inbound webhook URL', 'url')}
        <div class="span2">
          Signing secret:{' '}
          {s?.webhook_secret && showSecret ? (
            <code class="secret">{s.webhook_secret}</code>
          ) : s?.webhook_secret ? (
            <button type="button" class="small" onClick={() => setShowSecret(true)}>
              Show
            </button>
          ) : (
            <span class="muted">none yet</span>
          )}{' '}
          <button type="button" class="small" onClick={rotate}>
            New secret
          </button>
        </div>
        {field('stop_words', 'STOP words', 'text', 'comma-separated; default STOP, UNSUBSCRIBE…')}
        {field('start_words', 'START words', 'text', 'comma-separated')}
        {field('stop_reply', 'Reply to STOP', 'textarea')}
        {field('start_reply', 'Reply to START', 'textarea')}
        {field('help_reply', 'Reply to HELP', 'textarea')}
        <label class="inline span2">
          <input
            type="checkbox"
            checked={transliterate}
            onChange={(e) => setTransliterate(e.currentTarget.checked)}
          />
          Transliterate typographic characters (“smart quotes”, dashes, …) so texts stay GSM-7
        </label>
        <ErrorBox error={error} />
        <div class="span2">
          <button type="submit" class="primary">
            Save settings
          </button>{' '}
          {saved && <span role="status">Saved.</span>}
        </div>
      </form>
    </Card>
  );
}
