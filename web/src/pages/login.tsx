import { useState } from 'preact/hooks';
import type { User } from '../api';
import { api } from '../api';
import { ErrorBox } from '../ui';
import { t } from '../i18n';
import { LanguageSwitcher } from '../language-switcher';
import { TextField } from '../field';

export function Login({ onLogin }: { onLogin: (u: User, csrf: string) => void }) {
  const [login, setLogin] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const r = await api<{ user: User; csrf_token: string }>('POST', '/auth/login', { login, password });
      onLogin(r.user, r.csrf_token);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="login">
      <form onSubmit={submit} class="card" aria-labelledby="login-title">
        <div class="login-head">
          <h1 id="login-title">smsgw</h1>
          <LanguageSwitcher />
        </div>
        <p class="muted">{t('login.intro')}</p>
        <TextField
          label={t('login.login')}
          name="login"
          autoComplete="username"
          required
          value={login}
          onValue={setLogin}
        />
        <TextField
          label={t('login.password')}
          name="password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onValue={setPassword}
        />
        <ErrorBox error={error} />
        <button type="submit" class="primary" disabled={busy}>
          {busy ? t('login.busy') : t('login.submit')}
        </button>
      </form>
    </main>
  );
}
