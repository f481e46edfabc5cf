import { useState } from 'preact/hooks';
import type { User } from '../api';
import { api } from '../api';
import { ErrorBox } from '../ui';

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
        <h1 id="login-title">smsgw</h1>
        <p class="muted">Log in to send and follow your messages.</p>
        <label>
          Login
          <input
            name="login"
            autoComplete="username"
            required
            value={login}
            onInput={(e) => setLogin(e.currentTarget.value)}
          />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        <ErrorBox error={error} />
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Logging in…' : 'Log in'}
        </button>
      </form>
    </main>
  );
}
