/** The dashboard shell: session check, navigation, and a hash router (no server-side routes needed). */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { User } from './api';
import { api, setCsrf, whenUnauthorized } from './api';
import { Login } from './pages/login';
import { Overview } from './pages/overview';
import { Send } from './pages/send';
import { Messages } from './pages/messages';
import { MessageDetail } from './pages/message-detail';
import { Inbox } from './pages/inbox';
import { Keywords } from './pages/keywords';
import { Channels } from './pages/channels';
import { Admin } from './pages/admin';
import { Users } from './pages/users';
import { Audit } from './pages/audit';
import { Templates } from './pages/templates';
import { Lists } from './pages/lists';
import { Balance } from './pages/balance';
import { PolicyPage } from './pages/policy';
import { Contacts } from './pages/contacts';
import { Campaigns } from './pages/campaigns';
import { OtpPage } from './pages/otp';
import { ConfirmHost } from './confirm';
import { applyToDocument, onLanguageChanged, t } from './i18n';
import { LanguageSwitcher } from './language-switcher';
import './styles.css';

const NAV = ['overview', 'send', 'messages', 'inbox', 'keywords', 'channels', 'admin'] as const;
/** Admins' pages, their names in locales/ops. */
const OPS_NAV = ['users', 'audit'] as const;
/** The sending-policy pages (their names live in locales/policy). */
const POLICY_NAV = ['templates', 'lists', 'balance', 'policy'] as const;
/** Bulk sending: contacts, campaigns and the OTP log (their texts in locales/bulk). */
const BULK_NAV = ['contacts', 'campaigns', 'otp'] as const;

function useHash(): string[] {
  const read = () => (location.hash.replace(/^#\/?/, '') || 'overview').split('/').map(decodeURIComponent);
  const [parts, setParts] = useState(read);
  useEffect(() => {
    const on = () => setParts(read());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return parts;
}

function App() {
  const [user, setUser] = useState<User | null | undefined>(undefined);
  const [menuOpen, setMenuOpen] = useState(false);
  const [page = 'overview', arg] = useHash();
  // A new language re-renders the whole tree: every component reads t() while rendering.
  const [, setLang] = useState(0);
  useEffect(() => onLanguageChanged(() => setLang((n) => n + 1)), []);

  useEffect(() => {
    whenUnauthorized(() => setUser(null));
    api<{ user: User; csrf_token: string }>('GET', '/auth/session')
      .then((s) => {
        setCsrf(s.csrf_token);
        setUser(s.user);
      })
      .catch(() => setUser(null));
  }, []);
  useEffect(() => {
    setMenuOpen(false);
  }, [page, arg]);
  const title = NAV.find((k) => k === page);
  const opsTitle = OPS_NAV.find((k) => k === page);
  const policyTitle = POLICY_NAV.find((k) => k === page);
  const bulkTitle = BULK_NAV.find((k) => k === page);
  document.title = title
    ? `${t(`nav.${title}`)} · smsgw`
    : opsTitle
      ? `${t(`ops.nav.${opsTitle}`)} · smsgw`
      : policyTitle
        ? `${t(`pnav.${policyTitle}`)} · smsgw`
        : bulkTitle
          ? `${t(`bulk.nav.${bulkTitle}`)} · smsgw`
          : 'smsgw';

  if (user === undefined) return <p class="loading">{t('common.loading')}</p>;
  if (user === null) {
    return (
      <Login
        onLogin={(u, token) => {
          setCsrf(token);
          setUser(u);
        }}
      />
    );
  }

  const logout = async () => {
    await api('POST', '/auth/logout').catch(() => undefined);
    setCsrf('');
    setUser(null);
    location.hash = '';
  };

  let content;
  switch (page) {
    case 'send':
      content = <Send user={user} />;
      break;
    case 'messages':
      content = arg ? <MessageDetail id={arg} /> : <Messages />;
      break;
    case 'inbox':
      content = <Inbox number={arg} />;
      break;
    case 'keywords':
      content = <Keywords user={user} />;
      break;
    case 'channels':
      content = <Channels user={user} />;
      break;
    case 'admin':
      content = <Admin user={user} />;
      break;
    case 'users':
      content = user.role === 'admin' ? <Users me={user} /> : <Overview user={user} />;
      break;
    case 'audit':
      content = user.role === 'admin' ? <Audit /> : <Overview user={user} />;
      break;
    case 'templates':
      content = <Templates user={user} />;
      break;
    case 'lists':
      content = <Lists user={user} />;
      break;
    case 'balance':
      content = <Balance user={user} />;
      break;
    case 'policy':
      content = <PolicyPage user={user} />;
      break;
    case 'contacts':
      content = <Contacts />;
      break;
    case 'campaigns':
      content = <Campaigns user={user} id={arg} />;
      break;
    case 'otp':
      content = <OtpPage user={user} />;
      break;
    default:
      content = <Overview user={user} />;
  }

  return (
    <div class="layout">
      <a class="skip" href="#main">
        {t('nav.skip')}
      </a>
      <header class="topbar" data-testid="sidebar">
        <span class="brand">smsgw</span>
        <button
          class="menu-toggle"
          aria-expanded={menuOpen}
          aria-controls="nav"
          onClick={() => setMenuOpen(!menuOpen)}
        >
          {t('nav.menu')}
        </button>
        <nav id="nav" class={menuOpen ? 'open' : ''} aria-label={t('nav.main')}>
          {NAV.map((key) => (
            <a key={key} href={`#/${key}`} aria-current={page === key ? 'page' : undefined}>
              {t(`nav.${key}`)}
            </a>
          ))}
          {BULK_NAV.map((key) => (
            <a key={key} href={`#/${key}`} aria-current={page === key ? 'page' : undefined}>
              {t(`bulk.nav.${key}`)}
            </a>
          ))}
          {user.role === 'admin' &&
            OPS_NAV.map((key) => (
              <a key={key} href={`#/${key}`} aria-current={page === key ? 'page' : undefined}>
                {t(`ops.nav.${key}`)}
              </a>
            ))}
          {POLICY_NAV.map((key) => (
            <a key={key} href={`#/${key}`} aria-current={page === key ? 'page' : undefined}>
              {t(`pnav.${key}`)}
            </a>
          ))}
        </nav>
        <div class="who">
          <span data-testid="who">{user.login}</span>
          {user.role === 'admin' && <span class="badge badge-admin">{t('role.admin')}</span>}
          <button class="link" onClick={logout}>
            {t('nav.logout')}
          </button>
          <LanguageSwitcher />
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {content}
      </main>
      <ConfirmHost />
    </div>
  );
}

applyToDocument();
render(<App />, document.getElementById('app') as HTMLElement);
