/**
 * The OTP log (issue 15): each one-time password's number, state, attempts, sends and times,
 * newest first, filtered by number; an admin sees every account's with its owner. The code is
 * never shown: the gateway keeps only its keyed hash, and the log does not return even that.
 */
import { useEffect, useState } from 'preact/hooks';
import type { OtpLog, User } from '../api';
import { api, qs } from '../api';
import { fmtNumber, t } from '../i18n';
import { Card, ErrorBox, Ltr, TableHead, when } from '../ui';

const STATE_CLASS: Record<string, string> = {
  verified: 'badge-delivered',
  pending: 'badge-sending',
  expired: 'badge-expired',
  too_many_attempts: 'badge-failed',
};

export function OtpPage({ user }: { user: User }) {
  const [to, setTo] = useState('');
  const [rows, setRows] = useState<OtpLog[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [owners, setOwners] = useState<Map<string, string>>(new Map());
  const [error, setError] = useState<unknown>(null);
  const admin = user.role === 'admin';

  const load = async (more = false) => {
    try {
      const page = await api<{ data: OtpLog[]; next_cursor: string | null }>(
        'GET',
        `/v1/otp${qs({ to: to.trim(), limit: 100, cursor: more ? cursor : '' })}`,
      );
      setRows((prev) => (more && prev ? [...prev, ...page.data] : page.data));
      setCursor(page.next_cursor);
      setError(null);
    } catch (err) {
      setError(err);
    }
  };
  useEffect(() => void load(), []);
  useEffect(() => {
    if (!admin) return;
    api<{ data: User[] }>('GET', '/v1/users').then(
      (r) => setOwners(new Map(r.data.map((u) => [u.id, u.login]))),
      () => undefined,
    );
  }, [admin]);

  const columns = [
    t('bulk.otp.number'),
    t('bulk.otp.state'),
    t('bulk.otp.attempts'),
    t('bulk.otp.sends'),
    t('bulk.otp.created'),
    t('bulk.otp.expires'),
    ...(admin ? [t('bulk.otp.owner')] : []),
  ];
  return (
    <div>
      <h1>{t('bulk.otp.title')}</h1>
      <Card title={t('bulk.otp.log')} wide>
        <p class="muted small">{t('bulk.otp.hint')}</p>
        <form
          class="filters"
          role="search"
          onSubmit={(e) => {
            e.preventDefault();
            void load();
          }}
        >
          <label>
            {t('bulk.otp.number')}
            <input
              name="otp-to"
              dir="ltr"
              maxLength={64}
              value={to}
              onInput={(e) => setTo(e.currentTarget.value)}
            />
          </label>
          <button type="submit">{t('bulk.otp.filter')}</button>
        </form>
        <div class="table-wrap">
          <table class="cards" data-testid="otp-table">
            <TableHead columns={columns} />
            <tbody>
              {rows?.map((o) => (
                <tr key={o.id}>
                  <td data-label={t('bulk.otp.number')}>
                    <Ltr>{o.to}</Ltr>
                    <div class="muted small">
                      <a href={`#/messages/${encodeURIComponent(o.message_id)}`}>{t('bulk.otp.message')}</a>
                    </div>
                  </td>
                  <td data-label={t('bulk.otp.state')}>
                    <span class={`badge ${STATE_CLASS[o.status] ?? ''}`}>
                      {t(`bulk.otp.status.${o.status}`)}
                    </span>
                  </td>
                  <td data-label={t('bulk.otp.attempts')}>
                    <Ltr>
                      {fmtNumber(o.attempts)} / {fmtNumber(o.max_attempts)}
                    </Ltr>
                  </td>
                  <td data-label={t('bulk.otp.sends')}>{fmtNumber(o.sends)}</td>
                  <td data-label={t('bulk.otp.created')}>{when(o.created_at)}</td>
                  <td data-label={t('bulk.otp.expires')}>
                    {o.verified_at
                      ? t('bulk.otp.verifiedAt', { when: when(o.verified_at) })
                      : when(o.expires_at)}
                  </td>
                  {admin && <td data-label={t('bulk.otp.owner')}>{owners.get(o.owner_id) ?? o.owner_id}</td>}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {rows && rows.length === 0 && <p class="muted">{t('bulk.otp.empty')}</p>}
        {cursor && (
          <button class="form-submit" onClick={() => load(true)}>
            {t('bulk.otp.more')}
          </button>
        )}
        <ErrorBox error={error} />
      </Card>
    </div>
  );
}
