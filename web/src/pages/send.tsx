/** Send: many recipients (paste or file), live encoding counter, flash/replace, schedule, channel. */
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { Channel, User } from '../api';
import { api, qs } from '../api';
import { parseRecipients, zonedToUtc } from '../numbers';
import { ErrorBox, Ltr, Notice, Outcomes, StatusBadge, reason } from '../ui';
import { confirmAction } from '../confirm';
import { fmtNumber, t } from '../i18n';
import { CheckedFieldset, LOCAL_TZ, WhenField, ZoneSelect, inZone } from '../schedule';

interface Preview {
  encoding: string;
  segments: number;
  length: number;
  per_segment: number;
  remaining: number;
  ucs2_chars: string[];
}
type Result =
  | { id: string; to: string; input: string; status: string; error?: { code: string; message: string } }
  | { to: string; input: string; error: { code: string; message: string } };

const CHUNK = 1000;
/** From this many recipients on, the send is confirmed first, with the count and the segments. */
export const BULK_CONFIRM = 10;
/** The text with every character that forces UCS-2 marked; built from text nodes, never HTML. */
function Highlighted({ text, chars }: { text: string; chars: string[] }) {
  const set = new Set(chars);
  const parts: preact.ComponentChildren[] = [];
  let run = '';
  for (const ch of text) {
    if (set.has(ch)) {
      if (run) parts.push(run);
      run = '';
      parts.push(<mark title={t('send.notGsm')}>{ch}</mark>);
    } else run += ch;
  }
  if (run) parts.push(run);
  return (
    <p class="highlighted" aria-label={t('send.marked')}>
      {parts}
    </p>
  );
}

interface Totals {
  messages: number;
  delivered: number;
  failed: number;
  pending: number;
  canceled: number;
}

/** Live progress of what was just sent (one batch per 1,000 recipients), with the results as CSV. */
function BatchProgress({ batches }: { batches: string[] }) {
  const [tot, setT] = useState<Totals | null>(null);
  useEffect(() => {
    // A day back covers any clock difference between this browser and the gateway.
    const since = new Date(Date.now() - 86_400_000).toISOString();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    const poll = async () => {
      const all = await Promise.all(
        batches.map((b) =>
          api<{ totals: Totals }>('GET', `/v1/stats${qs({ since, bucket: 'day', batch_id: b })}`),
        ),
      ).catch(() => undefined);
      if (stopped) return;
      if (all) {
        const sum = { messages: 0, delivered: 0, failed: 0, pending: 0, canceled: 0 };
        for (const { totals } of all)
          for (const k of Object.keys(sum) as (keyof Totals)[]) sum[k] += totals[k];
        setT(sum);
        if (sum.pending === 0 && sum.messages > 0) return; // all final: nothing more will change
      }
      timer = setTimeout(poll, 2_000);
    };
    void poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [batches]);

  const done = tot ? tot.delivered + tot.failed + tot.canceled : 0;
  return (
    <div class="batch" data-testid="batch-progress">
      <Outcomes
        delivered={tot?.delivered ?? 0}
        failed={tot?.failed ?? 0}
        canceled={tot?.canceled ?? 0}
        total={tot?.messages || 1}
        label={t('send.finishedLabel')}
      />
      <p aria-live="polite">
        {tot
          ? t('send.progress', {
              done: fmtNumber(done),
              count: tot.messages,
              delivered: fmtNumber(tot.delivered),
              failed: fmtNumber(tot.failed),
              pending: fmtNumber(tot.pending),
            })
          : t('send.counting')}
      </p>
      <p>
        {batches.map((b, i) => (
          <a key={b} class="button" href={`/v1/messages/export${qs({ batch_id: b })}`} download>
            {batches.length > 1
              ? t('send.exportPart', { part: i + 1, parts: batches.length })
              : t('send.export')}
          </a>
        ))}
      </p>
    </div>
  );
}

export function Send({ user }: { user: User }) {
  const [recipients, setRecipients] = useState('');
  const [text, setText] = useState('');
  const [from, setFrom] = useState('');
  const [flash, setFlash] = useState(false);
  const [replaceId, setReplaceId] = useState('');
  const [schedule, setSchedule] = useState(false);
  const [date, setDate] = useState('');
  const [time, setTime] = useState('');
  const [tz, setTz] = useState(LOCAL_TZ);
  const [channelId, setChannelId] = useState('');
  const [channels, setChannels] = useState<Channel[]>([]);
  const [preview, setPreview] = useState<Preview | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [results, setResults] = useState<Result[] | null>(null);
  const [batches, setBatches] = useState<string[]>([]);
  const [fileNote, setFileNote] = useState('');
  const [scheduledFor, setScheduledFor] = useState<string | null>(null);

  const numbers = useMemo(() => parseRecipients(recipients), [recipients]);

  useEffect(() => {
    api<{ data: Channel[] }>('GET', '/v1/channels')
      .then((r) =>
        setChannels(
          r.data.filter(
            (c) =>
              c.enabled && (user.role === 'admin' ? true : c.owner_id === null || c.owner_id === user.id),
          ),
        ),
      )
      .catch(() => setChannels([]));
  }, [user]);

  // Live counter: the server's codec, so the numbers match what will be billed.
  useEffect(() => {
    if (!text) {
      setPreview(null);
      return;
    }
    const t = setTimeout(() => {
      api<Preview>('POST', '/v1/messages/preview', { text }).then(setPreview, () => setPreview(null));
    }, 150);
    return () => clearTimeout(t);
  }, [text]);

  const onFile = async (e: Event) => {
    const file = (e.currentTarget as HTMLInputElement).files?.[0];
    if (!file) return;
    if (file.size > 5 * 1024 * 1024) {
      setFileNote(t('send.fileTooLarge'));
      return;
    }
    const found = parseRecipients(await file.text());
    setRecipients((prev) => [prev.trim(), ...found].filter(Boolean).join('\n'));
    setFileNote(t('send.fileRead', { count: found.length, file: file.name }));
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setResults(null);
    setBatches([]);
    setScheduledFor(null);
    if (numbers.length === 0) {
      setError(new Error(t('send.noRecipients')));
      return;
    }
    let sendAt: string | undefined;
    if (schedule) {
      if (!date || !time) {
        setError(new Error(t('send.noDate')));
        return;
      }
      sendAt = zonedToUtc(date, time, tz).toISOString();
    }
    if (numbers.length >= BULK_CONFIRM) {
      // The counter may lag the text by its debounce: the cost asked about is counted now.
      const fresh = await api<Preview>('POST', '/v1/messages/preview', { text }).catch(() => preview);
      const segments = fresh?.segments ?? 1;
      const ok = await confirmAction({
        title: t('send.confirmTitle', { count: numbers.length }),
        body: t('send.confirmBody', {
          count: numbers.length,
          segments: fmtNumber(segments),
          total: fmtNumber(segments * numbers.length),
        }),
        action: sendAt
          ? t('send.scheduleTo', { count: numbers.length })
          : t('send.sendTo', { count: numbers.length }),
      });
      if (!ok) return;
    }
    setBusy(true);
    const all: Result[] = [];
    const sent: string[] = [];
    try {
      for (let i = 0; i < numbers.length; i += CHUNK) {
        const body = {
          to: numbers.slice(i, i + CHUNK),
          text,
          ...(from ? { from } : {}),
          ...(flash ? { flash } : {}),
          ...(replaceId ? { replace_id: Number(replaceId) } : {}),
          ...(sendAt ? { send_at: sendAt } : {}),
          ...(channelId ? { channel_id: channelId } : {}),
        };
        try {
          const r = await api<{ batch_id: string; accepted: number; messages: Result[] }>(
            'POST',
            '/v1/messages',
            body,
          );
          all.push(...r.messages);
          if (r.accepted > 0) sent.push(r.batch_id);
        } catch (err) {
          // "No valid recipients" still lists why each number was refused.
          const details = (err as { body?: { details?: { messages?: Result[] } } }).body?.details;
          if (details?.messages) all.push(...details.messages);
          else throw err;
        }
      }
      setResults(all);
      setBatches(sent);
      setScheduledFor(sendAt ? inZone(new Date(sendAt), tz) : null);
      // Sent: an empty form, so a second click cannot send the same again.
      if (sent.length > 0) {
        setRecipients('');
        setText('');
        setFileNote('');
        setSchedule(false);
      }
    } catch (err) {
      setError(err);
      if (all.length) setResults(all);
      setBatches(sent);
    } finally {
      setBusy(false);
    }
  };

  const accepted = results?.filter((r) => 'id' in r && r.status !== 'rejected').length ?? 0;
  const refused = results?.filter((r) => r.error) ?? [];

  return (
    <div>
      <h1>{t('nav.send')}</h1>
      <form class="card form-grid" onSubmit={submit} aria-label={t('send.form')}>
        <label class="span2">
          {t('send.recipients')} <span class="muted small">({t('send.recipientsHint')})</span>
          <textarea
            name="recipients"
            dir="ltr"
            rows={4}
            value={recipients}
            onInput={(e) => setRecipients(e.currentTarget.value)}
            placeholder="+4915112345678"
          />
          <span class="muted small" aria-live="polite" data-testid="recipient-count">
            {t('send.recipientCount', { count: numbers.length })}
          </span>
        </label>
        <label>
          {t('send.upload')}
          <input type="file" name="file" accept=".csv,.txt,text/csv,text/plain" onChange={onFile} />
          {fileNote && <span class="muted small">{fileNote}</span>}
        </label>
        <label>
          {t('send.senderId')} <span class="muted small">({t('common.optional')})</span>
          <input
            name="from"
            dir="ltr"
            maxLength={16}
            value={from}
            onInput={(e) => setFrom(e.currentTarget.value)}
          />
        </label>
        <label class="span2">
          {t('send.text')}
          <textarea
            name="text"
            rows={5}
            required
            value={text}
            onInput={(e) => setText(e.currentTarget.value)}
          />
        </label>
        <div class="span2 counter" aria-live="polite" data-testid="counter">
          {preview ? (
            <>
              <strong>{preview.encoding === 'ucs2' ? 'UCS-2' : 'GSM-7'}</strong> ·{' '}
              {t('send.characters', { count: preview.length })} ·{' '}
              <strong>{t('send.segments', { count: preview.segments })}</strong> ·{' '}
              {t('send.remaining', { count: preview.remaining })}
              {preview.ucs2_chars.length > 0 && (
                <>
                  <span class="warn">
                    {' '}
                    · {t('send.ucs2Because')} {preview.ucs2_chars.map((c) => `“${c}”`).join(' ')}
                  </span>
                  <Highlighted text={text} chars={preview.ucs2_chars} />
                </>
              )}
            </>
          ) : (
            <span class="muted">{t('send.typeText')}</span>
          )}
        </div>
        <fieldset class="span2 options">
          <legend>{t('send.options')}</legend>
          <label class="inline">
            <input
              type="checkbox"
              name="flash"
              checked={flash}
              onChange={(e) => setFlash(e.currentTarget.checked)}
            />
            {t('send.flash')}
          </label>
          <label class="inline">
            {t('send.replaceType')}
            <select name="replace_id" value={replaceId} onChange={(e) => setReplaceId(e.currentTarget.value)}>
              <option value="">{t('common.none')}</option>
              {[1, 2, 3, 4, 5, 6, 7].map((n) => (
                <option key={n} value={String(n)}>
                  {n}
                </option>
              ))}
            </select>
          </label>
          <label class="inline">
            {t('send.channel')}
            <select name="channel_id" value={channelId} onChange={(e) => setChannelId(e.currentTarget.value)}>
              <option value="">{t('send.automatic')}</option>
              {channels.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name} ({t(`channelType.${c.type}`, { defaultValue: c.type })})
                </option>
              ))}
            </select>
          </label>
        </fieldset>
        <CheckedFieldset
          class="span2 options"
          name="schedule"
          label={t('send.schedule')}
          checked={schedule}
          onToggle={setSchedule}
        >
          <WhenField label={t('send.date')} type="date" name="date" value={date} onValue={setDate} />
          <WhenField label={t('send.time')} type="time" name="time" value={time} onValue={setTime} />
          <ZoneSelect name="tz" value={tz} onValue={setTz} />
          {date && time && (
            <p class="span2 muted small" data-testid="zone-echo">
              {t('send.willSendAt', { when: inZone(zonedToUtc(date, time, tz), tz) })}
            </p>
          )}
        </CheckedFieldset>
        <ErrorBox error={error} />
        <div class="span2">
          <button type="submit" class="primary" disabled={busy}>
            {busy
              ? t('send.sending')
              : schedule
                ? t('send.scheduleTo', { count: numbers.length })
                : t('send.sendTo', { count: numbers.length })}
          </button>
        </div>
      </form>

      {results && (
        <section class="card" aria-label={t('send.result')} data-testid="send-result">
          <Notice>
            {t('send.resultLine', { accepted: fmtNumber(accepted), refused: fmtNumber(refused.length) })}{' '}
            {scheduledFor && accepted > 0 && (
              <span data-testid="scheduled-for">{t('send.scheduledFor', { when: scheduledFor })} </span>
            )}
            {accepted > 0 && <a href="#/messages">{t('send.follow')}</a>}
          </Notice>
          {batches.length > 0 && <BatchProgress batches={batches} />}
          {refused.length > 0 && (
            <div class="table-wrap">
              <table>
                <caption>{t('send.refused')}</caption>
                <thead>
                  <tr>
                    <th scope="col">{t('common.number')}</th>
                    <th scope="col">{t('send.reason')}</th>
                  </tr>
                </thead>
                <tbody>
                  {refused.map((r) => (
                    <tr key={r.input}>
                      <td>
                        <Ltr>{r.input}</Ltr>
                      </td>
                      <td>
                        {'status' in r && <StatusBadge status={r.status} />} {reason(r.error)}{' '}
                        <code class="muted">{r.error?.code}</code>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
      )}
    </div>
  );
}
