/**
 * Contacts (issue 15): the address book with search and a group filter, each contact's groups,
 * tags and STOP state; add / edit / delete (confirmed); groups (create, add the ticked contacts);
 * a streamed CSV/TXT import with its progress and refused-rows report (downloadable); export.
 */
import { useEffect, useState } from 'preact/hooks';
import type { Contact, Group, ImportReport } from '../api';
import { api, qs } from '../api';
import { confirmAction, confirmThen } from '../confirm';
import { fmtNumber, ltr, t } from '../i18n';
import { Card, ErrorBox, Ltr, Notice, RowButton, TableHead, when } from '../ui';
import { uploadFile } from '../upload';
import { TextField } from '../field';

const PAGE = 50;

/** A file's content type for the import route (it reads CSV and plain text). */
export function fileType(file: File): string {
  return /\.txt$/i.test(file.name) ? 'text/plain' : 'text/csv';
}

/** Uploads a file into the address book (optionally a group) and reads the report with its first refused rows. */
export async function importContacts(
  file: File,
  group: string,
  onProgress: (pct: number) => void,
): Promise<ImportReport> {
  const done = await uploadFile<ImportReport>(
    `/v1/contacts/import${qs({ group: group.trim() })}`,
    file,
    fileType(file),
    (sent, total) => onProgress(total > 0 ? Math.min(100, Math.round((sent / total) * 100)) : 0),
  );
  return api<ImportReport>('GET', `/v1/contacts/imports/${encodeURIComponent(done.id)}`);
}

/** The counts of an import and its first refused rows (line, reason, the row), all as CSV. */
export function ImportResult({ report }: { report: ImportReport }) {
  const refused = report.refused ?? [];
  return (
    <div class="notice" role="status" data-testid="import-report">
      <p>
        {t('bulk.contacts.importDone', {
          imported: fmtNumber(report.rows_imported),
          refused: fmtNumber(report.rows_refused),
          count: report.rows_total,
        })}
      </p>
      {report.error && <p class="bad">{report.error}</p>}
      {refused.length > 0 && (
        <div class="table-wrap">
          <table class="cards">
            <TableHead
              columns={[t('bulk.contacts.line'), t('bulk.contacts.reason'), t('bulk.contacts.row')]}
            />
            <tbody>
              {refused.map((r) => (
                <tr key={r.line}>
                  <td data-label={t('bulk.contacts.line')}>{fmtNumber(r.line)}</td>
                  <td class="text-cell" data-label={t('bulk.contacts.reason')}>
                    <bdi>{r.reason}</bdi>
                  </td>
                  <td class="text-cell" data-label={t('bulk.contacts.row')}>
                    <Ltr>{r.raw}</Ltr>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {report.rows_refused > 0 && (
        <a class="button" href={report.errors_url} download>
          {t('bulk.contacts.downloadRefused', { count: report.rows_refused })}
        </a>
      )}
    </div>
  );
}

/** A bar for an upload in progress, in percent. */
export function UploadBar({ pct, label }: { pct: number; label: string }) {
  return (
    <div class="progress-wrap" data-testid="upload-progress">
      <div
        class="progress"
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={pct}
      >
        <div class="progress-bar" style={{ inlineSize: `${pct}%` }} />
      </div>
      <span class="progress-text">{fmtNumber(pct / 100, { style: 'percent' })}</span>
    </div>
  );
}

interface Form {
  number: string;
  name: string;
  language: string;
  time_zone: string;
  tags: string;
  fields: string;
  group_ids: string[];
}
const EMPTY: Form = {
  number: '',
  name: '',
  language: '',
  time_zone: '',
  tags: '',
  fields: '',
  group_ids: [],
};

function toForm(c: Contact): Form {
  return {
    number: c.number,
    name: c.name ?? '',
    language: c.language ?? '',
    time_zone: c.time_zone ?? '',
    tags: c.tags.join(', '),
    fields: Object.entries(c.fields)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n'),
    group_ids: c.group_ids ?? [],
  };
}

/** "key=value" lines into custom fields; a line without "=" is an error the page names. */
function parseFields(text: string): Record<string, string> | string {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line) continue;
    const i = line.indexOf('=');
    if (i < 1) return line;
    out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

export function Contacts() {
  const [q, setQ] = useState('');
  const [groupId, setGroupId] = useState('');
  const [rows, setRows] = useState<Contact[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [groups, setGroups] = useState<Group[]>([]);
  const [picked, setPicked] = useState<Set<string>>(new Set());
  const [form, setForm] = useState<Form>(EMPTY);
  const [editing, setEditing] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [note, setNote] = useState('');

  const loadGroups = () =>
    api<{ data: Group[] }>('GET', '/v1/groups').then((r) => setGroups(r.data), setError);
  const load = async (more = false) => {
    try {
      const page = await api<{ data: Contact[]; next_cursor: string | null }>(
        'GET',
        `/v1/contacts${qs({ q: q.trim(), group_id: groupId, limit: PAGE, cursor: more ? cursor : '' })}`,
      );
      setRows((prev) => (more && prev ? [...prev, ...page.data] : page.data));
      setCursor(page.next_cursor);
      if (!more) setPicked(new Set());
    } catch (err) {
      setError(err);
    }
  };
  useEffect(() => void loadGroups(), []);
  useEffect(() => {
    const timer = setTimeout(() => void load(), 200);
    return () => clearTimeout(timer);
  }, [q, groupId]);

  const groupName = (id: string) => groups.find((g) => g.id === id)?.name ?? id;
  const set = (k: keyof Form) => (e: Event) =>
    setForm({ ...form, [k]: (e.currentTarget as HTMLInputElement).value });

  const save = async (e: Event) => {
    e.preventDefault();
    setNote('');
    const fields = parseFields(form.fields);
    if (typeof fields === 'string') {
      setError(new Error(t('bulk.contacts.badField', { line: fields })));
      return;
    }
    try {
      const details = {
        ...(form.name.trim() ? { name: form.name.trim() } : {}),
        ...(form.language.trim() ? { language: form.language.trim() } : {}),
        ...(form.time_zone.trim() ? { time_zone: form.time_zone.trim() } : {}),
        tags: form.tags
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
        fields,
        group_ids: form.group_ids,
      };
      // An edit replaces (an emptied field clears); a new contact is created, or merged into the
      // one with the same number.
      const saved = editing
        ? await api<Contact>('PUT', `/v1/contacts/${encodeURIComponent(form.number)}`, details)
        : await api<Contact>('POST', '/v1/contacts', { number: form.number, ...details });
      setNote(t(editing ? 'bulk.contacts.updated' : 'bulk.contacts.added', { number: ltr(saved.number) }));
      setForm(EMPTY);
      setEditing(false);
      setError(null);
      await Promise.all([load(), loadGroups()]);
    } catch (err) {
      setError(err);
    }
  };

  const remove = (c: Contact) =>
    confirmThen(
      {
        title: t('bulk.contacts.confirmDelete', { number: ltr(c.number) }),
        body: t('bulk.contacts.confirmDeleteBody'),
        action: t('bulk.contacts.delete'),
        danger: true,
      },
      async () => {
        await api('DELETE', `/v1/contacts/${encodeURIComponent(c.number)}`);
        setError(null);
        await Promise.all([load(), loadGroups()]);
      },
      setError,
    );

  const toggle = (n: string) => {
    const next = new Set(picked);
    if (next.has(n)) next.delete(n);
    else next.add(n);
    setPicked(next);
  };

  return (
    <div>
      <h1>{t('bulk.contacts.title')}</h1>
      <Card title={t('bulk.contacts.book')} wide>
        <div class="filters" role="search">
          <TextField
            label={t('bulk.contacts.search')}
            name="contact-search"
            type="search"
            value={q}
            placeholder={t('bulk.contacts.searchHint')}
            onValue={setQ}
          />
          <label>
            {t('bulk.contacts.group')}
            <select name="contact-group" value={groupId} onChange={(e) => setGroupId(e.currentTarget.value)}>
              <option value="">{t('bulk.contacts.allGroups')}</option>
              {groups.map((g) => (
                <option key={g.id} value={g.id}>
                  {g.name}
                </option>
              ))}
            </select>
          </label>
          <div class="filter-actions">
            <a
              class="button"
              href={`/v1/contacts/export.csv${qs({ group_id: groupId })}`}
              download="contacts.csv"
            >
              {t('bulk.contacts.export')}
            </a>
          </div>
        </div>
        <div class="table-wrap">
          <table class="cards" data-testid="contacts-table">
            <TableHead
              columns={[
                t('bulk.contacts.pick'),
                t('bulk.contacts.number'),
                t('bulk.contacts.name'),
                t('bulk.contacts.groups'),
                t('bulk.contacts.tags'),
                t('bulk.contacts.consent'),
                '',
              ]}
            />
            <tbody>
              {rows?.map((c) => (
                <tr key={c.number}>
                  <td data-label={t('bulk.contacts.pick')}>
                    <input
                      type="checkbox"
                      aria-label={t('bulk.contacts.pickOne', { number: ltr(c.number) })}
                      checked={picked.has(c.number)}
                      onChange={() => toggle(c.number)}
                    />
                  </td>
                  <td data-label={t('bulk.contacts.number')}>
                    <Ltr>{c.number}</Ltr>
                  </td>
                  <td class="text-cell" data-label={t('bulk.contacts.name')}>
                    <bdi>{c.name ?? '—'}</bdi>
                    {(c.language || c.time_zone) && (
                      <span class="muted small">
                        {' '}
                        <Ltr>{[c.language, c.time_zone].filter(Boolean).join(' · ')}</Ltr>
                      </span>
                    )}
                  </td>
                  <td class="text-cell" data-label={t('bulk.contacts.groups')}>
                    {(c.group_ids ?? []).map(groupName).join(', ') || '—'}
                  </td>
                  <td class="text-cell" data-label={t('bulk.contacts.tags')}>
                    <bdi>{c.tags.join(', ') || '—'}</bdi>
                  </td>
                  <td data-label={t('bulk.contacts.consent')}>
                    {c.opted_out ? (
                      <span class="badge badge-failed" title={when(c.opted_out_at)}>
                        {t('bulk.contacts.stopped')}
                      </span>
                    ) : (
                      <span class="badge badge-delivered">{t('bulk.contacts.subscribed')}</span>
                    )}
                  </td>
                  <td>
                    <div class="actions">
                      <RowButton
                        label={t('bulk.contacts.edit')}
                        row={c.number}
                        onClick={() => {
                          setForm(toForm(c));
                          setEditing(true);
                          setNote('');
                        }}
                      />
                      <RowButton label={t('bulk.contacts.delete')} row={c.number} onClick={() => remove(c)} />
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {rows && rows.length === 0 && <p class="muted">{t('bulk.contacts.empty')}</p>}
        {cursor && (
          <button class="form-submit" onClick={() => load(true)}>
            {t('bulk.contacts.more')}
          </button>
        )}
        <AddToGroup
          groups={groups}
          picked={[...picked]}
          onDone={async (msg) => {
            setNote(msg);
            await Promise.all([load(), loadGroups()]);
          }}
          onError={setError}
        />
        {note && <Notice>{note}</Notice>}
        <ErrorBox error={error} />
      </Card>

      <div class="grid">
        <Card title={editing ? t('bulk.contacts.editTitle') : t('bulk.contacts.addTitle')}>
          <form
            class="form-grid"
            onSubmit={save}
            aria-label={editing ? t('bulk.contacts.editTitle') : t('bulk.contacts.addTitle')}
          >
            <TextField
              label={t('bulk.contacts.number')}
              name="contact-number"
              dir="ltr"
              required
              maxLength={64}
              readOnly={editing}
              value={form.number}
              onInput={set('number')}
            />
            <TextField
              label={t('bulk.contacts.name')}
              name="contact-name"
              maxLength={200}
              value={form.name}
              onInput={set('name')}
            />
            <TextField
              label={t('bulk.contacts.language')}
              name="contact-language"
              dir="ltr"
              maxLength={35}
              placeholder="it, en-GB"
              value={form.language}
              onInput={set('language')}
            />
            <TextField
              label={t('bulk.contacts.timeZone')}
              name="contact-tz"
              dir="ltr"
              maxLength={64}
              placeholder="Europe/Rome"
              value={form.time_zone}
              onInput={set('time_zone')}
            />
            <label class="span2">
              {t('bulk.contacts.tags')} <span class="muted small">({t('bulk.contacts.tagsHint')})</span>
              <input name="contact-tags" maxLength={1000} value={form.tags} onInput={set('tags')} />
            </label>
            <label class="span2">
              {t('bulk.contacts.fields')} <span class="muted small">({t('bulk.contacts.fieldsHint')})</span>
              <textarea name="contact-fields" rows={3} value={form.fields} onInput={set('fields')} />
            </label>
            {groups.length > 0 && (
              <fieldset class="span2">
                <legend>{t('bulk.contacts.groups')}</legend>
                {groups.map((g) => (
                  <label class="inline" key={g.id}>
                    <input
                      type="checkbox"
                      checked={form.group_ids.includes(g.id)}
                      onChange={(e) =>
                        setForm({
                          ...form,
                          group_ids: e.currentTarget.checked
                            ? [...form.group_ids, g.id]
                            : form.group_ids.filter((x) => x !== g.id),
                        })
                      }
                    />
                    {g.name}
                  </label>
                ))}
              </fieldset>
            )}
            <div class="span2 actions">
              <button type="submit" class="primary">
                {editing ? t('bulk.contacts.save') : t('bulk.contacts.add')}
              </button>
              {editing && (
                <button
                  type="button"
                  onClick={() => {
                    setForm(EMPTY);
                    setEditing(false);
                  }}
                >
                  {t('common.cancel')}
                </button>
              )}
            </div>
          </form>
        </Card>
        <GroupsCard groups={groups} onChange={loadGroups} />
        <ImportCard
          groups={groups}
          onDone={async () => {
            await Promise.all([load(), loadGroups()]);
          }}
        />
      </div>
    </div>
  );
}

function AddToGroup({
  groups,
  picked,
  onDone,
  onError,
}: {
  groups: Group[];
  picked: string[];
  onDone: (note: string) => Promise<void>;
  onError: (e: unknown) => void;
}) {
  const [target, setTarget] = useState('');
  if (picked.length === 0 || groups.length === 0) return null;
  const add = async (e: Event) => {
    e.preventDefault();
    const g = groups.find((x) => x.id === target);
    if (!g) return;
    try {
      const r = await api<{ added: number }>('POST', `/v1/groups/${encodeURIComponent(g.id)}/members`, {
        numbers: picked,
      });
      await onDone(t('bulk.contacts.addedToGroup', { count: r.added, group: g.name }));
    } catch (err) {
      onError(err);
    }
  };
  return (
    <form class="inline-form" onSubmit={add} aria-label={t('bulk.contacts.addToGroup')}>
      <span>{t('bulk.contacts.picked', { count: picked.length })}</span>
      <label>
        {t('bulk.contacts.group')}
        <select
          name="add-to-group"
          required
          value={target}
          onChange={(e) => setTarget(e.currentTarget.value)}
        >
          <option value="">—</option>
          {groups.map((g) => (
            <option key={g.id} value={g.id}>
              {g.name}
            </option>
          ))}
        </select>
      </label>
      <button type="submit">{t('bulk.contacts.addToGroup')}</button>
    </form>
  );
}

function GroupsCard({ groups, onChange }: { groups: Group[]; onChange: () => Promise<void> }) {
  const [name, setName] = useState('');
  const [error, setError] = useState<unknown>(null);
  const create = async (e: Event) => {
    e.preventDefault();
    try {
      await api('POST', '/v1/groups', { name });
      setName('');
      setError(null);
      await onChange();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <Card title={t('bulk.contacts.groupsTitle')}>
      <ul class="plain" data-testid="groups">
        {groups.map((g) => (
          <li key={g.id}>
            <bdi>{g.name}</bdi>{' '}
            <span class="muted small">{t('bulk.contacts.members', { count: g.members ?? 0 })}</span>
          </li>
        ))}
      </ul>
      {groups.length === 0 && <p class="muted">{t('bulk.contacts.noGroups')}</p>}
      <form class="inline-form" onSubmit={create} aria-label={t('bulk.contacts.newGroup')}>
        <TextField
          label={t('bulk.contacts.groupName')}
          name="group-name"
          required
          maxLength={100}
          value={name}
          onValue={setName}
        />
        <button type="submit">{t('bulk.contacts.newGroup')}</button>
      </form>
      <ErrorBox error={error} />
    </Card>
  );
}

function ImportCard({ groups, onDone }: { groups: Group[]; onDone: () => Promise<void> }) {
  const [group, setGroup] = useState('');
  const [pct, setPct] = useState<number | null>(null);
  const [report, setReport] = useState<ImportReport | null>(null);
  const [error, setError] = useState<unknown>(null);

  const onFile = async (e: Event) => {
    const input = e.currentTarget as HTMLInputElement;
    const file = input.files?.[0];
    if (!file) return;
    setReport(null);
    const ok = await confirmAction({
      title: t('bulk.contacts.confirmImport', { file: file.name }),
      body: group.trim()
        ? t('bulk.contacts.confirmImportGroup', { group: group.trim() })
        : t('bulk.contacts.confirmImportBody'),
      action: t('bulk.contacts.import'),
    });
    if (!ok) {
      input.value = '';
      return;
    }
    setPct(0);
    try {
      setReport(await importContacts(file, group, setPct));
      setError(null);
      await onDone();
    } catch (err) {
      setError(err);
    } finally {
      setPct(null);
      input.value = '';
    }
  };

  return (
    <Card title={t('bulk.contacts.importTitle')} wide>
      <p class="muted small">{t('bulk.contacts.importHint')}</p>
      <div class="filters">
        <TextField
          label={t('bulk.contacts.importGroup')}
          hint={t('common.optional')}
          name="import-group"
          list="import-groups"
          maxLength={100}
          value={group}
          onValue={setGroup}
        >
          <datalist id="import-groups">
            {groups.map((g) => (
              <option key={g.id} value={g.name} />
            ))}
          </datalist>
        </TextField>
        <label class="button">
          {t('bulk.contacts.import')}
          <input
            type="file"
            class="sr-only"
            name="contacts-import"
            accept=".csv,.txt,text/csv,text/plain"
            disabled={pct !== null}
            onChange={onFile}
          />
        </label>
      </div>
      {pct !== null && <UploadBar pct={pct} label={t('bulk.contacts.importing')} />}
      {report && <ImportResult report={report} />}
      <ErrorBox error={error} />
    </Card>
  );
}
