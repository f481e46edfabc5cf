/**
 * Users (admins): each user's role (changed after a confirmation), a new password (typed twice,
 * confirmed), and the user's API keys with revoke. Adding and blocking users stays in Settings.
 */
import { useEffect, useState } from 'preact/hooks';
import type { User } from '../api';
import { api } from '../api';
import { ErrorBox, Notice, RowButton, TableHead } from '../ui';
import { confirmThen } from '../confirm';
import type { Key } from '../keys';
import { KeyItem, revokeKey } from '../keys';
import { t } from '../i18n';
import { NewPasswordField } from '../field';

export function Users({ me }: { me: User }) {
  const [users, setUsers] = useState<User[]>([]);
  const [keys, setKeys] = useState<Key[]>([]);
  const [open, setOpen] = useState<{ id: string; what: 'password' | 'keys' } | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  // Bumped to remount the role selects: a cancelled change shows the role the user still has.
  const [version, setVersion] = useState(0);
  const [error, setError] = useState<unknown>(null);

  const load = async () => {
    try {
      const [u, k] = await Promise.all([
        api<{ data: User[] }>('GET', '/v1/users'),
        api<{ data: Key[] }>('GET', '/v1/keys'),
      ]);
      setUsers(u.data);
      setKeys(k.data);
      setError(null);
    } catch (err) {
      setError(err);
    }
  };
  useEffect(() => void load(), []);

  const changeRole = async (u: User, role: 'admin' | 'user') => {
    if (role === u.role) return;
    const done = await confirmThen(
      {
        title: t('ops.users.confirmRole', { login: u.login, role: t(`role.${role}`) }),
        body: role === 'admin' ? t('ops.users.confirmRoleAdmin') : t('ops.users.confirmRoleUser'),
        action: t('ops.users.changeRole'),
        danger: role === 'admin',
      },
      async () => {
        await api('PATCH', `/v1/users/${encodeURIComponent(u.id)}`, { role });
        await load();
      },
      setError,
    );
    if (!done) setVersion((v) => v + 1); // declined or refused: the select shows the role in force
  };

  const revoke = async (k: Key) => {
    try {
      if (await revokeKey(k)) await load();
    } catch (err) {
      setError(err);
    }
  };

  const toggle = (id: string, what: 'password' | 'keys') =>
    setOpen(open?.id === id && open.what === what ? null : { id, what });

  return (
    <div>
      <h1>{t('ops.nav.users')}</h1>
      <p class="muted small">{t('ops.users.hint')}</p>
      <ErrorBox error={error} />
      {notice && <Notice>{notice}</Notice>}
      <div class="card table-wrap">
        <table class="cards" data-testid="users">
          <TableHead
            columns={[t('login.login'), t('users.role'), t('common.status'), t('ops.users.keys'), '']}
          />
          <tbody>
            {users.map((u) => {
              const mine = keys.filter((k) => k.user_id === u.id);
              const active = mine.filter((k) => !k.revoked_at).length;
              return [
                <tr key={u.id} data-login={u.login}>
                  <th scope="row" data-label={t('login.login')}>
                    <bdi>{u.login}</bdi>
                  </th>
                  <td data-label={t('users.role')}>
                    <select
                      key={`${u.id}-${version}`}
                      aria-label={t('ops.users.roleOf', { login: u.login })}
                      value={u.role}
                      disabled={u.id === me.id}
                      onChange={(e) => void changeRole(u, e.currentTarget.value as 'admin' | 'user')}
                    >
                      <option value="user">{t('role.user')}</option>
                      <option value="admin">{t('role.admin')}</option>
                    </select>
                  </td>
                  <td data-label={t('common.status')}>
                    {t(`users.status.${u.status}`, { defaultValue: u.status })}
                  </td>
                  <td data-label={t('ops.users.keys')}>
                    <button
                      class="link"
                      aria-expanded={open?.id === u.id && open.what === 'keys'}
                      onClick={() => toggle(u.id, 'keys')}
                    >
                      {t('ops.users.keys')} ({active})
                    </button>
                  </td>
                  <td>
                    <RowButton
                      label={t('ops.users.setPassword')}
                      row={u.login}
                      aria-expanded={open?.id === u.id && open.what === 'password'}
                      onClick={() => toggle(u.id, 'password')}
                    />
                  </td>
                </tr>,
                open?.id === u.id && (
                  <tr key={`${u.id}-more`}>
                    <td colSpan={5}>
                      {open.what === 'password' ? (
                        <PasswordForm
                          user={u}
                          onDone={(msg) => {
                            setOpen(null);
                            setNotice(msg);
                          }}
                        />
                      ) : (
                        <KeyList login={u.login} keys={mine} onRevoke={revoke} />
                      )}
                    </td>
                  </tr>
                ),
              ];
            })}
          </tbody>
        </table>
      </div>
    </div>
  );
}

function KeyList({ login, keys, onRevoke }: { login: string; keys: Key[]; onRevoke: (k: Key) => void }) {
  return (
    <section aria-label={t('ops.users.keysOf', { login })}>
      {keys.length === 0 && <p class="muted">{t('ops.users.noKeys')}</p>}
      <ul class="plain">
        {keys.map((k) => (
          <KeyItem key={k.id} k={k} onRevoke={() => onRevoke(k)} />
        ))}
      </ul>
    </section>
  );
}

function PasswordForm({ user, onDone }: { user: User; onDone: (notice: string) => void }) {
  const [a, setA] = useState('');
  const [b, setB] = useState('');
  const [error, setError] = useState<unknown>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (a !== b) {
      setError(new Error(t('ops.users.mismatch')));
      return;
    }
    await confirmThen(
      {
        title: t('ops.users.confirmPassword', { login: user.login }),
        body: t('ops.users.confirmPasswordBody'),
        action: t('ops.users.setPassword'),
        danger: true,
      },
      async () => {
        await api('PATCH', `/v1/users/${encodeURIComponent(user.id)}`, { password: a });
        onDone(t('ops.users.passwordSet', { login: user.login }));
      },
      setError,
    );
  };
  return (
    <form
      class="inline-form"
      onSubmit={submit}
      aria-label={t('ops.users.passwordFor', { login: user.login })}
    >
      <NewPasswordField label={t('ops.users.password')} maxLength={256} value={a} onValue={setA} />
      <NewPasswordField label={t('ops.users.passwordAgain')} maxLength={256} value={b} onValue={setB} />
      <button type="submit" class="primary">
        {t('ops.users.setPassword')}
      </button>
      <ErrorBox error={error} />
    </form>
  );
}
