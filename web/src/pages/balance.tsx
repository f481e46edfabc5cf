/**
 * Balance and prices (issue 14): the balance and its ledger (charges, refunds, top-ups); the
 * price list per destination prefix and encoding. Admins look at any user's balance, credit it
 * (confirmed with the amount) and edit the price list. Amounts are whole credits.
 */
import { useEffect, useState } from 'preact/hooks';
import type { User } from '../api';
import { api, qs } from '../api';
import { confirmThen } from '../confirm';
import { fmtNumber, t } from '../i18n';
import { Card, ErrorBox, Ltr, RowButton, TableHead, when } from '../ui';
import { TextField, UserSelect } from '../field';

interface LedgerEntry {
  id: number;
  kind: 'charge' | 'refund' | 'topup' | 'adjust';
  amount: number;
  balance_after: number;
  message_id: string | null;
  note: string | null;
  created_at: string;
}
interface BalanceView {
  user_id: string;
  mode: 'prepaid' | 'unlimited';
  balance: number;
  ledger: LedgerEntry[];
  next_cursor: number | null;
}
interface Price {
  prefix: string;
  encoding: 'any' | 'gsm7' | 'ucs2';
  per_segment: number;
}

const signed = (n: number) => (n > 0 ? `+${fmtNumber(n)}` : fmtNumber(n));

export function Balance({ user }: { user: User }) {
  const [users, setUsers] = useState<User[]>([]);
  const [who, setWho] = useState(user.id);
  const [version, setVersion] = useState(0);
  useEffect(() => {
    if (user.role === 'admin') api<{ data: User[] }>('GET', '/v1/users').then((r) => setUsers(r.data));
  }, []);
  return (
    <div>
      <h1>{t('balance.title')}</h1>
      {user.role === 'admin' && users.length > 0 && (
        <div class="inline-form">
          <UserSelect label={t('tpl.owner')} name="balance-user" value={who} users={users} onValue={setWho} />
        </div>
      )}
      <div class="grid">
        <Account userId={who} self={who === user.id} version={version} />
        {user.role === 'admin' && (
          <Credit
            userId={who}
            login={users.find((u) => u.id === who)?.login ?? user.login}
            onDone={() => setVersion((v) => v + 1)}
          />
        )}
        <Prices admin={user.role === 'admin'} />
      </div>
    </div>
  );
}

function Account({ userId, self, version }: { userId: string; self: boolean; version: number }) {
  const [view, setView] = useState<BalanceView | null>(null);
  const [older, setOlder] = useState<LedgerEntry[]>([]);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    setOlder([]);
    api<BalanceView>('GET', `/v1/balance${qs({ user_id: self ? '' : userId })}`).then(setView, setError);
  }, [userId, version]);

  const more = async () => {
    const cursor = older.length ? older[older.length - 1]?.id : view?.ledger[view.ledger.length - 1]?.id;
    try {
      const next = await api<BalanceView>('GET', `/v1/balance${qs({ user_id: self ? '' : userId, cursor })}`);
      setOlder([...older, ...next.ledger]);
      if (view) setView({ ...view, next_cursor: next.next_cursor });
    } catch (err) {
      setError(err);
    }
  };

  const ledger = [...(view?.ledger ?? []), ...older];
  return (
    <Card title={t('balance.account')} wide>
      {view && (
        <dl class="details">
          <dt>{t('balance.balance')}</dt>
          <dd data-testid="balance-amount">
            {view.mode === 'unlimited' ? t('balance.unlimited') : fmtNumber(view.balance)}
          </dd>
          <dt>{t('balance.mode')}</dt>
          <dd>{t(view.mode === 'prepaid' ? 'balance.prepaid' : 'balance.unlimitedMode')}</dd>
        </dl>
      )}
      <h3>{t('balance.ledger')}</h3>
      <div class="table-wrap">
        <table class="cards" data-testid="ledger">
          <TableHead
            columns={[
              t('balance.when'),
              t('balance.entry'),
              t('balance.amount'),
              t('balance.after'),
              t('balance.note'),
            ]}
          />
          <tbody>
            {ledger.map((l) => (
              <tr key={l.id}>
                <td data-label={t('balance.when')}>{when(l.created_at)}</td>
                <td data-label={t('balance.entry')}>{t(`balance.kind.${l.kind}`)}</td>
                <td data-label={t('balance.amount')}>
                  <Ltr>{signed(l.amount)}</Ltr>
                </td>
                <td data-label={t('balance.after')}>
                  <Ltr>{fmtNumber(l.balance_after)}</Ltr>
                </td>
                <td class="text-cell" data-label={t('balance.note')}>
                  {l.message_id ? (
                    <a href={`#/messages/${encodeURIComponent(l.message_id)}`}>
                      <Ltr>{l.message_id}</Ltr>
                    </a>
                  ) : (
                    <bdi>{l.note ?? '—'}</bdi>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {view && ledger.length === 0 && <p class="muted">{t('balance.noLedger')}</p>}
      {view?.next_cursor && (
        <button class="small" onClick={more}>
          {t('balance.older')}
        </button>
      )}
      <ErrorBox error={error} />
    </Card>
  );
}

function Credit({ userId, login, onDone }: { userId: string; login: string; onDone: () => void }) {
  const [amount, setAmount] = useState('');
  const [note, setNote] = useState('');
  const [mode, setMode] = useState('');
  const [error, setError] = useState<unknown>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    const n = Number(amount);
    if (!Number.isInteger(n) || (n === 0 && !mode)) {
      setError(new Error(t('balance.amountWhole')));
      return;
    }
    await confirmThen(
      {
        title: t(n < 0 ? 'balance.confirmDebit' : 'balance.confirmCredit', {
          amount: fmtNumber(Math.abs(n)),
          login,
        }),
        body: mode ? t('balance.confirmMode', { mode: t(`balance.modeName.${mode}`) }) : undefined,
        action: t(n < 0 ? 'balance.debit' : 'balance.credit'),
        danger: n < 0,
      },
      async () => {
        await api('POST', `/v1/users/${encodeURIComponent(userId)}/credit`, {
          amount: n,
          ...(note ? { note } : {}),
          ...(mode ? { mode } : {}),
        });
        setAmount('');
        setNote('');
        setMode('');
        setError(null);
        onDone();
      },
      setError,
    );
  };

  return (
    <Card title={t('balance.creditTitle', { login })}>
      <form class="form-grid" onSubmit={submit} aria-label={t('balance.creditTitle', { login })}>
        <TextField
          label={t('balance.amount')}
          hint={t('balance.amountHint')}
          name="credit-amount"
          type="number"
          step={1}
          required
          dir="ltr"
          value={amount}
          onValue={setAmount}
        />
        <TextField
          label={t('balance.note')}
          name="credit-note"
          maxLength={200}
          value={note}
          onValue={setNote}
        />
        <label>
          {t('balance.mode')}
          <select name="credit-mode" value={mode} onChange={(e) => setMode(e.currentTarget.value)}>
            <option value="">{t('balance.keepMode')}</option>
            <option value="prepaid">{t('balance.modeName.prepaid')}</option>
            <option value="unlimited">{t('balance.modeName.unlimited')}</option>
          </select>
        </label>
        <ErrorBox error={error} />
        <div class="span2">
          <button type="submit" class="primary">
            {t('balance.credit')}
          </button>
        </div>
      </form>
    </Card>
  );
}

function Prices({ admin }: { admin: boolean }) {
  const [prices, setPrices] = useState<Price[]>([]);
  const [f, setF] = useState({ prefix: '', encoding: 'any', per_segment: '' });
  const [error, setError] = useState<unknown>(null);
  const load = () => api<{ data: Price[] }>('GET', '/v1/prices').then((r) => setPrices(r.data), setError);
  useEffect(() => void load(), []);
  const set = (k: keyof typeof f) => (e: Event) =>
    setF({ ...f, [k]: (e.currentTarget as HTMLInputElement).value });

  const save = async (e: Event) => {
    e.preventDefault();
    const prefix = f.prefix.replace(/^\+/, '') || 'default';
    // Changing a price in force changes what every message from now on costs: ask first.
    const current = prices.find((p) => p.prefix === prefix && p.encoding === f.encoding);
    await confirmThen(
      current && current.per_segment !== Number(f.per_segment)
        ? {
            title: t('balance.confirmChangePrice', {
              prefix: prefix === 'default' ? t('balance.everyOther') : `+${prefix}`,
              old: current.per_segment,
              new: Number(f.per_segment),
            }),
            body: t('balance.confirmChangePriceBody'),
            action: t('balance.change'),
          }
        : null,
      async () => {
        await api('PUT', '/v1/prices', {
          prefix,
          encoding: f.encoding,
          per_segment: Number(f.per_segment),
        });
        setF({ prefix: '', encoding: 'any', per_segment: '' });
        setError(null);
        await load();
      },
      setError,
    );
  };
  const remove = (p: Price) =>
    confirmThen(
      {
        title: t('balance.confirmRemovePrice', {
          prefix: p.prefix === 'default' ? t('balance.everyOther') : `+${p.prefix}`,
        }),
        action: t('balance.remove'),
        danger: true,
      },
      async () => {
        await api('DELETE', `/v1/prices/${encodeURIComponent(p.prefix)}${qs({ encoding: p.encoding })}`);
        await load();
      },
      setError,
    );

  return (
    <Card title={t('balance.prices')} wide>
      <p class="muted small">{t('balance.pricesHint')}</p>
      <div class="table-wrap">
        <table class="cards" data-testid="prices">
          <TableHead
            columns={[
              t('balance.prefix'),
              t('balance.encoding'),
              t('balance.perSegment'),
              ...(admin ? [''] : []),
            ]}
          />
          <tbody>
            {prices.map((p) => (
              <tr key={`${p.prefix}|${p.encoding}`}>
                <td data-label={t('balance.prefix')}>
                  {p.prefix === 'default' ? t('balance.everyOther') : <Ltr>{`+${p.prefix}`}</Ltr>}
                </td>
                <td data-label={t('balance.encoding')}>{t(`balance.encodingName.${p.encoding}`)}</td>
                <td data-label={t('balance.perSegment')}>{fmtNumber(p.per_segment)}</td>
                {admin && (
                  <td>
                    <RowButton label={t('balance.remove')} row={p.prefix} onClick={() => remove(p)} />
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {prices.length === 0 && <p class="muted">{t('balance.noPrices')}</p>}
      {admin && (
        <form class="form-grid" onSubmit={save} aria-label={t('balance.priceForm')}>
          <TextField
            label={t('balance.prefix')}
            hint={t('balance.prefixHint')}
            name="price-prefix"
            dir="ltr"
            inputMode="numeric"
            pattern="\+?\d{1,15}"
            maxLength={16}
            value={f.prefix}
            onInput={set('prefix')}
          />
          <label>
            {t('balance.encoding')}
            <select name="price-encoding" value={f.encoding} onChange={set('encoding')}>
              <option value="any">{t('balance.encodingName.any')}</option>
              <option value="gsm7">{t('balance.encodingName.gsm7')}</option>
              <option value="ucs2">{t('balance.encodingName.ucs2')}</option>
            </select>
          </label>
          <TextField
            label={t('balance.perSegment')}
            name="price-per-segment"
            type="number"
            min={0}
            step={1}
            required
            value={f.per_segment}
            onInput={set('per_segment')}
          />
          <div class="span2">
            <button type="submit" class="primary">
              {t('balance.savePrice')}
            </button>
          </div>
        </form>
      )}
      <ErrorBox error={error} />
    </Card>
  );
}
