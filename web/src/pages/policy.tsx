/**
 * The sending policy (issue 14): frequency caps per recipient (admins also the global
 * defaults), opt-in required for marketing, quiet hours, auto-blacklisting; a number's consent
 * history (a data-subject request) and the erasure of its personal data (confirmed: it cannot
 * be undone).
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { User } from '../api';
import { api, qs } from '../api';
import { confirmThen } from '../confirm';
import { fmtNumber, ltr, t } from '../i18n';
import { Card, ErrorBox, Ltr, Notice, TableHead, when } from '../ui';

const PERIODS = ['minute', 'hour', 'day', 'month'] as const;
type Period = (typeof PERIODS)[number];
interface Cap {
  period: Period;
  max: number;
  category: string | null;
}
interface Window {
  category: string;
  start: string;
  end: string;
}
interface Policy {
  templates_only: boolean;
  consent_required: boolean;
  quiet_hours: Window[];
  test_mode: boolean;
  auto_blacklist_after: number | null;
}
interface Consent {
  id: string;
  number: string;
  source: string;
  text_shown: string | null;
  proof_ip: string | null;
  form_id: string | null;
  granted_at: string | null;
  revoked_at: string | null;
  revoked_by: string | null;
}
interface Erased {
  messages: number;
  canceled: number;
  inbound: number;
  consents: number;
}

/** Quiet-hour windows apply to a template category or to every message (*). */
const WINDOW_CATEGORIES = ['marketing', 'notification', 'verification', '*'];
const categoryName = (c: string) =>
  c === '*' ? t('pol.everyMessage') : t(`tpl.categoryName.${c}`, { defaultValue: c });
/** The choices, plus a category set through the API that the page does not name (kept, not lost). */
const withCurrent = (choices: string[], current: string | null) =>
  current && !choices.includes(current) ? [...choices, current] : choices;

export function PolicyPage({ user }: { user: User }) {
  return (
    <div>
      <h1>{t('pol.title')}</h1>
      <div class="grid">
        <Settings />
        <Caps scope="user" />
        {user.role === 'admin' && <Caps scope="global" />}
        <ConsentLookup />
        <Erase />
      </div>
    </div>
  );
}

function Settings() {
  const [policy, setPolicy] = useState<Policy | null>(null);
  const [windows, setWindows] = useState<Window[]>([]);
  const [autoBl, setAutoBl] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  const show = (p: Policy) => {
    setPolicy(p);
    setWindows(p.quiet_hours);
    setAutoBl(p.auto_blacklist_after === null ? '' : String(p.auto_blacklist_after));
  };
  useEffect(() => void api<Policy>('GET', '/v1/policy').then(show, setError), []);

  const save = async (e: Event) => {
    e.preventDefault();
    if (!policy) return;
    try {
      show(
        await api<Policy>('PATCH', '/v1/policy', {
          consent_required: policy.consent_required,
          quiet_hours: windows,
          auto_blacklist_after: autoBl ? Number(autoBl) : null,
        }),
      );
      setError(null);
      setSaved(true);
    } catch (err) {
      setError(err);
      setSaved(false);
    }
  };
  const setWindow = (i: number, k: keyof Window) => (e: Event) => {
    setSaved(false);
    setWindows(
      windows.map((w, j) => (j === i ? { ...w, [k]: (e.currentTarget as HTMLInputElement).value } : w)),
    );
  };

  return (
    <Card title={t('pol.settings')} wide>
      {policy && (
        <form onSubmit={save} aria-label={t('pol.settings')}>
          <ul class="plain small">
            <li>{t(policy.templates_only ? 'pol.templatesOnlyOn' : 'pol.templatesOnlyOff')}</li>
            {policy.test_mode && <li>{t('pol.testModeOn')}</li>}
          </ul>
          <label class="inline">
            <input
              type="checkbox"
              name="consent-required"
              checked={policy.consent_required}
              onChange={(e) => {
                setSaved(false);
                setPolicy({ ...policy, consent_required: e.currentTarget.checked });
              }}
            />{' '}
            {t('pol.consentRequired')}
          </label>
          <p class="muted small">{t('pol.consentRequiredHint')}</p>

          <h3>{t('pol.quietHours')}</h3>
          <p class="muted small">{t('pol.quietHoursHint')}</p>
          {windows.map((w, i) => (
            <fieldset key={i} class="form-grid">
              <legend class="sr-only">{t('pol.window', { n: fmtNumber(i + 1) })}</legend>
              <label>
                {t('pol.appliesTo')}
                <select name={`quiet-category-${i}`} value={w.category} onChange={setWindow(i, 'category')}>
                  {withCurrent(WINDOW_CATEGORIES, w.category).map((c) => (
                    <option key={c} value={c}>
                      {categoryName(c)}
                    </option>
                  ))}
                </select>
              </label>
              <label>
                {t('pol.from')}
                <input
                  type="time"
                  name={`quiet-start-${i}`}
                  required
                  value={w.start}
                  onInput={setWindow(i, 'start')}
                />
              </label>
              <label>
                {t('pol.until')}
                <input
                  type="time"
                  name={`quiet-end-${i}`}
                  required
                  value={w.end}
                  onInput={setWindow(i, 'end')}
                />
              </label>
              <div>
                <button
                  type="button"
                  class="small"
                  onClick={() => {
                    setSaved(false);
                    setWindows(windows.filter((_, j) => j !== i));
                  }}
                >
                  {t('pol.removeWindow')}
                </button>
              </div>
            </fieldset>
          ))}
          {windows.length === 0 && <p class="muted">{t('pol.noQuietHours')}</p>}
          {windows.length < 10 && (
            <button
              type="button"
              class="small"
              onClick={() => {
                setSaved(false);
                setWindows([...windows, { category: 'marketing', start: '21:00', end: '08:00' }]);
              }}
            >
              {t('pol.addWindow')}
            </button>
          )}

          <h3>{t('pol.autoBlacklist')}</h3>
          <label>
            <span>
              {t('pol.autoBlacklistAfter')} <span class="muted small">({t('pol.emptyIsOff')})</span>
            </span>
            <input
              type="number"
              name="auto-blacklist-after"
              class="narrow"
              min={1}
              max={100}
              value={autoBl}
              onInput={(e) => {
                setSaved(false);
                setAutoBl(e.currentTarget.value);
              }}
            />
          </label>
          <ErrorBox error={error} />
          {saved && <Notice>{t('pol.saved')}</Notice>}
          <div class="form-submit">
            <button type="submit" class="primary">
              {t('pol.save')}
            </button>
          </div>
        </form>
      )}
      {!policy && <ErrorBox error={error} />}
    </Card>
  );
}

function Caps({ scope }: { scope: 'user' | 'global' }) {
  const [caps, setCaps] = useState<Cap[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  const scopeQuery = scope === 'global' ? { scope: 'global' } : {};
  useEffect(
    () =>
      void api<{ caps: Cap[] }>('GET', `/v1/policy/caps${qs(scopeQuery)}`).then(
        (r) => setCaps(r.caps),
        setError,
      ),
    [scope],
  );
  const edit = (i: number, patch: Partial<Cap>) => {
    setSaved(false);
    setCaps((caps ?? []).map((c, j) => (j === i ? { ...c, ...patch } : c)));
  };
  const save = async (e: Event) => {
    e.preventDefault();
    try {
      const r = await api<{ caps: Cap[] }>('PUT', '/v1/policy/caps', { ...scopeQuery, caps });
      setCaps(r.caps);
      setError(null);
      setSaved(true);
    } catch (err) {
      setError(err);
      setSaved(false);
    }
  };
  const id = `caps-${scope}`;
  return (
    <Card title={t(scope === 'global' ? 'pol.globalCaps' : 'pol.myCaps')} wide>
      <p class="muted small">{t(scope === 'global' ? 'pol.globalCapsHint' : 'pol.capsHint')}</p>
      {caps && (
        <form onSubmit={save} aria-label={t(scope === 'global' ? 'pol.globalCaps' : 'pol.myCaps')}>
          {caps.map((c, i) => (
            <fieldset key={i} class="form-grid">
              <legend class="sr-only">{t('pol.capN', { n: fmtNumber(i + 1) })}</legend>
              <label>
                {t('pol.atMost')}
                <input
                  type="number"
                  name={`${id}-max-${i}`}
                  min={0}
                  required
                  value={c.max}
                  onInput={(e) => edit(i, { max: Number(e.currentTarget.value) })}
                />
              </label>
              <label>
                {t('pol.per')}
                <select
                  name={`${id}-period-${i}`}
                  value={c.period}
                  onChange={(e) => edit(i, { period: e.currentTarget.value as Period })}
                >
                  {PERIODS.map((p) => (
                    <option key={p} value={p}>
                      {t(`pol.period.${p}`)}
                    </option>
                  ))}
                </select>
              </label>
              <label>
                {t('pol.forCategory')}
                <select
                  name={`${id}-category-${i}`}
                  value={c.category ?? ''}
                  onChange={(e) => edit(i, { category: e.currentTarget.value || null })}
                >
                  <option value="">{t('pol.anyCategory')}</option>
                  {withCurrent(
                    WINDOW_CATEGORIES.filter((x) => x !== '*'),
                    c.category,
                  ).map((x) => (
                    <option key={x} value={x}>
                      {categoryName(x)}
                    </option>
                  ))}
                </select>
              </label>
              <div>
                <button type="button" class="small" onClick={() => setCaps(caps.filter((_, j) => j !== i))}>
                  {t('pol.removeCap')}
                </button>
              </div>
            </fieldset>
          ))}
          {caps.length === 0 && <p class="muted">{t('pol.noCaps')}</p>}
          <button
            type="button"
            class="small"
            onClick={() => {
              setSaved(false);
              setCaps([...caps, { period: 'day', max: 10, category: null }]);
            }}
          >
            {t('pol.addCap')}
          </button>
          <ErrorBox error={error} />
          {saved && <Notice>{t('pol.saved')}</Notice>}
          <div class="form-submit">
            <button type="submit" class="primary">
              {t('pol.saveCaps')}
            </button>
          </div>
        </form>
      )}
      {!caps && <ErrorBox error={error} />}
    </Card>
  );
}

/** A card with one phone number and one button (the consent look-up, the erasure), its error, then what came of it. */
function NumberCard({
  title,
  hint,
  name,
  number,
  onNumber,
  onSubmit,
  button,
  danger,
  error,
  children,
}: {
  title: string;
  hint: string;
  name: string;
  number: string;
  onNumber: (v: string) => void;
  onSubmit: (e: Event) => void;
  button: string;
  danger?: boolean;
  error: unknown;
  children: ComponentChildren;
}) {
  return (
    <Card title={title} wide>
      <p class="muted small">{hint}</p>
      <form class="inline-form" onSubmit={onSubmit} aria-label={title}>
        <label>
          {t('pol.number')}
          <input
            name={name}
            dir="ltr"
            required
            maxLength={32}
            value={number}
            onInput={(e) => onNumber(e.currentTarget.value)}
          />
        </label>
        <button type="submit" class={danger ? 'danger' : 'primary'}>
          {button}
        </button>
      </form>
      <ErrorBox error={error} />
      {children}
    </Card>
  );
}

function ConsentLookup() {
  const [number, setNumber] = useState('');
  const [found, setFound] = useState<{ number: string; consented: boolean; data: Consent[] } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const lookup = async (e: Event) => {
    e.preventDefault();
    try {
      setFound(await api('GET', `/v1/consents${qs({ number })}`));
      setError(null);
    } catch (err) {
      setFound(null);
      setError(err);
    }
  };
  return (
    <NumberCard
      title={t('pol.consentLookup')}
      hint={t('pol.consentLookupHint')}
      name="consent-number"
      number={number}
      onNumber={setNumber}
      onSubmit={lookup}
      button={t('pol.lookUp')}
      error={error}
    >
      {found && (
        <div data-testid="consent-result">
          <p>
            {t(found.consented ? 'pol.hasConsent' : 'pol.noConsent', { number: ltr(found.number) })}{' '}
            <a href={`/v1/consents/export${qs({ number: found.number, format: 'csv' })}`} download>
              {t('pol.exportHistory')}
            </a>
          </p>
          <div class="table-wrap">
            <table class="cards">
              <TableHead
                columns={[
                  t('pol.source'),
                  t('pol.textShown'),
                  t('pol.proof'),
                  t('pol.granted'),
                  t('pol.revoked'),
                ]}
              />
              <tbody>
                {found.data.map((c) => (
                  <tr key={c.id}>
                    <td data-label={t('pol.source')}>
                      <bdi>{c.source}</bdi>
                    </td>
                    <td class="text-cell" data-label={t('pol.textShown')}>
                      <bdi>{c.text_shown ?? '—'}</bdi>
                    </td>
                    <td data-label={t('pol.proof')}>
                      <Ltr>{[c.proof_ip, c.form_id].filter(Boolean).join(' · ') || '—'}</Ltr>
                    </td>
                    <td data-label={t('pol.granted')}>{when(c.granted_at)}</td>
                    <td data-label={t('pol.revoked')}>
                      {c.revoked_at ? `${when(c.revoked_at)} (${c.revoked_by ?? '—'})` : '—'}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {found.data.length === 0 && <p class="muted">{t('pol.noConsentRecords')}</p>}
        </div>
      )}
    </NumberCard>
  );
}

function Erase() {
  const [number, setNumber] = useState('');
  const [done, setDone] = useState<(Erased & { number: string }) | null>(null);
  const [error, setError] = useState<unknown>(null);
  const erase = async (e: Event) => {
    e.preventDefault();
    await confirmThen(
      {
        title: t('pol.confirmErase', { number: ltr(number.trim()) }),
        body: t('pol.confirmEraseBody'),
        action: t('pol.erase'),
        danger: true,
      },
      async () => {
        const r = await api<{ erased: Erased }>('POST', '/v1/privacy/erase', { number });
        setDone({ ...r.erased, number: number.trim() });
        setNumber('');
        setError(null);
      },
      setError,
    );
  };
  return (
    <NumberCard
      title={t('pol.erasure')}
      hint={t('pol.erasureHint')}
      name="erase-number"
      number={number}
      onNumber={setNumber}
      onSubmit={erase}
      button={t('pol.erase')}
      danger
      error={error}
    >
      {done && (
        <Notice>
          {t('pol.erased', {
            number: ltr(done.number),
            messages: fmtNumber(done.messages),
            inbound: fmtNumber(done.inbound),
            consents: fmtNumber(done.consents),
            canceled: fmtNumber(done.canceled),
          })}
        </Notice>
      )}
    </NumberCard>
  );
}
