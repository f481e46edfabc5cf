/** Settings: users (admins), API keys (secret shown once), webhooks, opt-out words and replies. */
import { useEffect, useState } from 'preact/hooks';
import type { User } from '../api';
import { api } from '../api';
import { Card, ErrorBox, Notice, RowButton, TableHead, when } from '../ui';
import { confirmThen } from '../confirm';
import type { Key } from '../keys';
import { KeyItem, revokeKey } from '../keys';
import { LANGUAGES, type Lang, language, t } from '../i18n';
import { NewPasswordField, TextField } from '../field';

/** The gateway's default words and replies of one language (GET /v1/settings/keywords). */
interface KeywordDefaults {
  lang: Lang;
  stop: string[];
  start: string[];
  help: string[];
  replies: { stop: string; start: string; help: string };
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
      <h1>{t('nav.admin')}</h1>
      <div class="grid">
        {user.role === 'admin' && <Users me={user} />}
        <Keys me={user} />
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
  const setStatus = (u: User, status: 'active' | 'blocked') =>
    confirmThen(
      status === 'blocked'
        ? {
            title: t('users.confirmBlock', { login: u.login }),
            body: t('users.confirmBlockBody'),
            action: t('users.block'),
            danger: true,
          }
        : null,
      async () => {
        await api('PATCH', `/v1/users/${encodeURIComponent(u.id)}`, { status });
        await load();
      },
      setError,
    );

  return (
    <Card title={t('users.title')} wide>
      <div class="table-wrap">
        <table class="cards">
          <TableHead
            columns={[t('login.login'), t('users.role'), t('common.status'), t('messages.created'), '']}
          />
          <tbody>
            {users.map((u) => (
              <tr key={u.id}>
                <th scope="row">{u.login}</th>
                <td data-label={t('users.role')}>{t(`role.${u.role}`)}</td>
                <td data-label={t('common.status')}>
                  {t(`users.status.${u.status}`, { defaultValue: u.status })}
                </td>
                <td data-label={t('messages.created')}>{when(u.created_at)}</td>
                <td>
                  {u.id !== me.id && (
                    <RowButton
                      label={u.status === 'active' ? t('users.block') : t('users.unblock')}
                      row={u.login}
                      onClick={() => setStatus(u, u.status === 'active' ? 'blocked' : 'active')}
                    />
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <form class="inline-form" onSubmit={create} aria-label={t('users.addForm')}>
        <TextField
          label={t('login.login')}
          name="new-login"
          required
          minLength={2}
          maxLength={64}
          value={login}
          onValue={setLogin}
        />
        <NewPasswordField
          label={t('login.password')}
          name="new-password"
          value={password}
          onValue={setPassword}
        />
        <label>
          {t('users.role')}
          <select
            name="new-role"
            value={role}
            onChange={(e) => setRole(e.currentTarget.value as 'user' | 'admin')}
          >
            <option value="user">{t('role.user')}</option>
            <option value="admin">{t('role.admin')}</option>
          </select>
        </label>
        <button type="submit" class="primary">
          {t('users.add')}
        </button>
      </form>
      <ErrorBox error={error} />
    </Card>
  );
}

function Keys({ me }: { me: User }) {
  const [keys, setKeys] = useState<Key[]>([]);
  // An admin sees every user's keys: each is named with its owner.
  const [owners, setOwners] = useState<Map<string, string>>(new Map());
  useEffect(() => {
    if (me.role === 'admin')
      api<{ data: User[] }>('GET', '/v1/users').then(
        (r) => setOwners(new Map(r.data.map((u) => [u.id, u.login]))),
        () => undefined,
      );
  }, [me]);
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
    try {
      if (await revokeKey(k)) await load();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <Card title={t('keys.title')}>
      {secret && (
        <Notice>
          {t('keys.copyNow')}
          <code class="secret" data-testid="new-key">
            {secret}
          </code>
        </Notice>
      )}
      <ul class="plain">
        {keys.map((k) => (
          <KeyItem
            key={k.id}
            k={k}
            owner={k.user_id !== me.id ? owners.get(k.user_id) : undefined}
            onRevoke={() => revoke(k)}
          />
        ))}
      </ul>
      <form class="inline-form" onSubmit={create} aria-label={t('keys.createForm')}>
        <TextField
          label={t('keys.name')}
          name="key-name"
          required
          maxLength={64}
          value={name}
          onValue={setName}
        />
        <button type="submit" class="primary">
          {t('keys.create')}
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
  const [defaults, setDefaults] = useState<KeywordDefaults[]>([]);

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
  useEffect(
    () =>
      void api<{ languages: KeywordDefaults[] }>('GET', '/v1/settings/keywords').then(
        (r) => setDefaults(r.languages),
        setError,
      ),
    [],
  );
  // The defaults are every language's words together (core/keywords.ts).
  const all = (kind: 'stop' | 'start') => [...new Set(defaults.flatMap((d) => d[kind]))];

  const words = (v: string | undefined) => {
    const list = (v ?? '').split(/[,\s]+/).filter(Boolean);
    return list.length ? list : null;
  };
  // The default words are added to what is set, to be edited from there.
  const merge = (current: string | undefined, add: string[]) =>
    [...new Set([...(words(current) ?? []), ...add])].join(', ');
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
  const rotate = () =>
    confirmThen(
      s?.webhook_secret
        ? {
            title: t('webhooks.confirmRotate'),
            body: t('webhooks.confirmRotateBody'),
            action: t('webhooks.rotate'),
            danger: true,
          }
        : null,
      async () => {
        fill(await api<Settings>('POST', '/v1/settings/rotate-secret'));
        setShowSecret(true); // a new secret must be copied into the receiver now
      },
      setError,
    );
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
    <Card title={t('webhooks.title')} wide>
      <form class="form-grid" onSubmit={save}>
        {field('webhook_url', t('webhooks.statusUrl'), 'url')}
        {field('inbound_webhook_url', t('webhooks.inboundUrl'), 'url')}
        <div class="span2">
          {t('webhooks.secret')}{' '}
          {s?.webhook_secret && showSecret ? (
            <code class="secret" dir="ltr">
              {s.webhook_secret}
            </code>
          ) : s?.webhook_secret ? (
            <button type="button" class="small" onClick={() => setShowSecret(true)}>
              {t('webhooks.show')}
            </button>
          ) : (
            <span class="muted">{t('webhooks.noneYet')}</span>
          )}{' '}
          <button type="button" class="small" onClick={rotate} disabled={!s}>
            {t('webhooks.rotate')}
          </button>
        </div>
        {field('stop_words', t('optOutWords.stop'), 'text', t('optOutWords.commaDefault'))}
        {field('start_words', t('optOutWords.start'), 'text', t('optOutWords.commaDefault'))}
        <DefaultWords
          defaults={defaults}
          onUse={() =>
            setForm({
              ...form,
              stop_words: merge(form.stop_words, all('stop')),
              start_words: merge(form.start_words, all('start')),
            })
          }
        />
        {field('stop_reply', t('optOutWords.stopReply'), 'textarea', t('optOutWords.emptyDefault'))}
        {field('start_reply', t('optOutWords.startReply'), 'textarea', t('optOutWords.emptyDefault'))}
        {field('help_reply', t('optOutWords.helpReply'), 'textarea', t('optOutWords.emptyDefault'))}
        <label class="inline span2">
          <input
            type="checkbox"
            checked={transliterate}
            onChange={(e) => setTransliterate(e.currentTarget.checked)}
          />
          {t('webhooks.transliterate')}
        </label>
        <ErrorBox error={error} />
        <div class="span2">
          <button type="submit" class="primary">
            {t('webhooks.save')}
          </button>{' '}
          {saved && <span role="status">{t('webhooks.saved')}</span>}
        </div>
      </form>
    </Card>
  );
}

/**
 * The gateway's default words and replies (server-side, core/keywords.ts and src/i18n/): the
 * page's language in full (each word → its reply), then the words of the other languages. With
 * no words of the owner's own they all count, and a reply goes in the language of the word.
 * The arrow is drawn by CSS (.maps-to), so it points the reading way in Persian too.
 */
function DefaultWords({ defaults, onUse }: { defaults: KeywordDefaults[]; onUse: () => void }) {
  const mine = defaults.find((d) => d.lang === language()) ?? defaults[0];
  if (!mine) return null;
  const name = (lang: Lang) => LANGUAGES.find((l) => l.code === lang)?.name ?? lang;
  const row = (words: string[], reply: string) => (
    <li>
      <bdi>{words.join(', ')}</bdi> <span class="maps-to" aria-hidden="true" /> {reply}
    </li>
  );
  return (
    <div class="span2 local-words" data-testid="local-words">
      <p class="small">{t('optOutWords.localTitle')}</p>
      <ul class="small plain">
        {row(mine.stop, mine.replies.stop)}
        {row(mine.start, mine.replies.start)}
        {row(mine.help, mine.replies.help)}
        {defaults
          .filter((d) => d !== mine)
          .map((d) => (
            <li key={d.lang} lang={d.lang}>
              {name(d.lang)}: <bdi>{d.stop.join(', ')}</bdi> · <bdi>{d.start.join(', ')}</bdi> ·{' '}
              <bdi>{d.help.join(', ')}</bdi>
            </li>
          ))}
      </ul>
      <button type="button" class="small" onClick={onUse}>
        {t('optOutWords.useLocal')}
      </button>
    </div>
  );
}
