/**
 * Blacklist and whitelist (issue 14): the user's own lists and, for admins, the global ones;
 * add and remove (confirmed), CSV import showing the refused rows, CSV export.
 */
import { useEffect, useState } from 'preact/hooks';
import type { ApiErrorBody, User } from '../api';
import { ApiFailure, api, csrfToken, qs } from '../api';
import { confirmAction, confirmThen } from '../confirm';
import { fmtNumber, language, ltr, t } from '../i18n';
import { Card, ErrorBox, Ltr, RowButton, TableHead, when } from '../ui';
import { TextField } from '../field';

type ListKind = 'black' | 'white';
type Scope = 'user' | 'global';

interface Entry {
  number: string;
  reason: string | null;
  source: string;
  scope: Scope;
  created_at: string;
}
interface Page {
  data: Entry[];
  total: number;
  max: number;
  next_cursor: string | null;
}
interface ImportResult {
  added: number;
  already_listed: number;
  invalid_count: number;
  invalid: { line: number; value: string; reason: string }[];
}

/** A CSV file is read in the page and sent as text/csv (the server takes up to 8 MiB). */
const MAX_CSV = 8 * 1024 * 1024;

async function importCsv(kind: ListKind, scope: Scope, csv: string): Promise<ImportResult> {
  const res = await fetch(`/v1/${kind}list/import${qs({ scope: scope === 'global' ? 'global' : '' })}`, {
    method: 'POST',
    headers: {
      accept: 'application/json',
      'accept-language': language(),
      'content-type': 'text/csv',
      'x-csrf-token': csrfToken(),
    },
    body: csv,
    credentials: 'same-origin',
  });
  const body = (await res.json().catch(() => undefined)) as
    ImportResult | { error?: ApiErrorBody } | undefined;
  if (!res.ok)
    throw new ApiFailure(
      res.status,
      (body as { error?: ApiErrorBody } | undefined)?.error ?? {
        code: `http_${res.status}`,
        message: res.statusText,
      },
    );
  return body as ImportResult;
}

export function Lists({ user }: { user: User }) {
  return (
    <div>
      <h1>{t('lists.title')}</h1>
      <div class="grid">
        <ListCard kind="black" scope="user" />
        <ListCard kind="white" scope="user" />
        {user.role === 'admin' && <ListCard kind="black" scope="global" />}
        {user.role === 'admin' && <ListCard kind="white" scope="global" />}
      </div>
    </div>
  );
}

function ListCard({ kind, scope }: { kind: ListKind; scope: Scope }) {
  const [page, setPage] = useState<Page | null>(null);
  const [number, setNumber] = useState('');
  const [reason, setReason] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [imported, setImported] = useState<ImportResult | null>(null);
  const [busy, setBusy] = useState(false);
  const scopeQuery = scope === 'global' ? { scope: 'global' } : {};
  const id = `${kind}-${scope}`;

  const load = () =>
    api<Page>('GET', `/v1/${kind}list${qs({ ...scopeQuery, limit: 500 })}`).then(setPage, setError);
  useEffect(() => void load(), [kind, scope]);

  const add = async (e: Event) => {
    e.preventDefault();
    try {
      await api('POST', `/v1/${kind}list`, { number, ...(reason ? { reason } : {}), ...scopeQuery });
      setNumber('');
      setReason('');
      setError(null);
      await load();
    } catch (err) {
      setError(err);
    }
  };

  const remove = (entry: Entry) =>
    confirmThen(
      {
        title: t(kind === 'black' ? 'lists.confirmRemoveBlack' : 'lists.confirmRemoveWhite', {
          number: ltr(entry.number),
        }),
        body: t(kind === 'black' ? 'lists.confirmRemoveBlackBody' : 'lists.confirmRemoveWhiteBody'),
        action: t('lists.remove'),
        danger: true,
      },
      async () => {
        await api('DELETE', `/v1/${kind}list/${encodeURIComponent(entry.number)}${qs(scopeQuery)}`);
        setError(null);
        await load();
      },
      setError,
    );

  const onFile = async (e: Event) => {
    const input = e.currentTarget as HTMLInputElement;
    const file = input.files?.[0];
    if (!file) return;
    setImported(null);
    if (file.size > MAX_CSV) {
      setError(new Error(t('lists.fileTooLarge')));
      input.value = '';
      return;
    }
    // Bulk: one file may add thousands of numbers.
    const ok = await confirmAction({
      title: t('lists.confirmImport', { file: file.name, list: title }),
      body: t('lists.confirmImportBody'),
      action: t('lists.importCsv'),
    });
    if (!ok) {
      input.value = '';
      return;
    }
    setBusy(true);
    try {
      setImported(await importCsv(kind, scope, await file.text()));
      setError(null);
      await load();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
      input.value = '';
    }
  };

  const title =
    scope === 'global'
      ? t(kind === 'black' ? 'lists.globalBlack' : 'lists.globalWhite')
      : t(kind === 'black' ? 'lists.myBlack' : 'lists.myWhite');

  return (
    <Card title={title} wide>
      <p class="muted small">{t(kind === 'black' ? 'lists.blackHint' : 'lists.whiteHint')}</p>
      {page && (
        <p class="small" data-testid={`${id}-count`}>
          {t('lists.count', { count: page.total, max: fmtNumber(page.max) })}
        </p>
      )}
      <div class="table-wrap">
        <table class="cards" data-testid={`${id}-table`}>
          <TableHead
            columns={[t('lists.number'), t('lists.reason'), t('lists.source'), t('lists.added'), '']}
          />
          <tbody>
            {page?.data.map((e) => (
              <tr key={e.number}>
                <td data-label={t('lists.number')}>
                  <Ltr>{e.number}</Ltr>
                </td>
                <td class="text-cell" data-label={t('lists.reason')}>
                  <bdi>{e.reason ?? '—'}</bdi>
                </td>
                <td data-label={t('lists.source')}>
                  {t(`lists.sourceName.${e.source}`, { defaultValue: e.source })}
                </td>
                <td data-label={t('lists.added')}>{when(e.created_at)}</td>
                <td>
                  <RowButton label={t('lists.remove')} row={e.number} onClick={() => remove(e)} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {page && page.data.length === 0 && <p class="muted">{t('lists.empty')}</p>}
      {page?.next_cursor && <p class="muted small">{t('lists.exportForAll')}</p>}
      <form class="form-grid" onSubmit={add} aria-label={t('lists.addForm', { list: title })}>
        <TextField
          label={t('lists.number')}
          name={`${id}-number`}
          dir="ltr"
          required
          maxLength={32}
          value={number}
          onValue={setNumber}
        />
        <TextField
          label={t('lists.reason')}
          hint={t('lists.optional')}
          name={`${id}-reason`}
          maxLength={200}
          value={reason}
          onValue={setReason}
        />
        <div class="span2">
          <button type="submit" class="primary">
            {t('lists.add')}
          </button>
        </div>
      </form>
      <div class="filter-actions list-io">
        <label class="button">
          {t('lists.importCsv')}
          <input
            type="file"
            class="sr-only"
            name={`${id}-import`}
            accept=".csv,text/csv,text/plain"
            disabled={busy}
            onChange={onFile}
          />
        </label>
        <a class="button" href={`/v1/${kind}list/export${qs(scopeQuery)}`} download={`${kind}list.csv`}>
          {t('lists.exportCsv')}
        </a>
      </div>
      <p class="muted small">{t('lists.csvHint')}</p>
      {imported && <ImportSummary result={imported} />}
      <ErrorBox error={error} />
    </Card>
  );
}

function ImportSummary({ result }: { result: ImportResult }) {
  return (
    <div class="notice" role="status" data-testid="import-result">
      <p>
        {t('lists.imported', {
          count: result.added,
        })}{' '}
        {t('lists.alreadyListed', {
          count: result.already_listed,
        })}{' '}
        {t('lists.refused', { count: result.invalid_count })}
      </p>
      {result.invalid.length > 0 && (
        <div class="table-wrap">
          <table class="cards">
            <TableHead columns={[t('lists.line'), t('lists.value'), t('lists.why')]} />
            <tbody>
              {result.invalid.map((r) => (
                <tr key={r.line}>
                  <td data-label={t('lists.line')}>{fmtNumber(r.line)}</td>
                  <td data-label={t('lists.value')}>
                    <Ltr>{r.value}</Ltr>
                  </td>
                  <td class="text-cell" data-label={t('lists.why')}>
                    <bdi>{r.reason}</bdi>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {result.invalid_count > result.invalid.length && (
        <p class="muted small">{t('lists.firstRefused', { n: fmtNumber(result.invalid.length) })}</p>
      )}
    </div>
  );
}
