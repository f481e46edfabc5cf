/** Send: many recipients (paste or file), live encoding counter, flash/replace, schedule, channel. */
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { Channel, User } from '../api';
import { api, qs } from '../api';
import { parseRecipients, zonedToUtc } from '../numbers';
import { ErrorBox, Notice, Progress, StatusBadge } from '../ui';

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
const ZONES: string[] = (
  Intl as unknown as { supportedValuesOf?: (k: string) => string[] }
).supportedValuesOf?.('timeZone') ?? ['UTC'];
const LOCAL_TZ = Intl.DateTimeFormat().resolvedOptions().timeZone;

/** The text with every character that forces UCS-2 marked; built from text nodes, never HTML. */
function Highlighted({ text, chars }: { text: string; chars: string[] }) {
  const set = new Set(chars);
  const parts: preact.ComponentChildren[] = [];
  let run = '';
  for (const ch of text) {
    if (set.has(ch)) {
      if (run) parts.push(run);
      run = '';
      parts.push(<mark title="Not in the GSM alphabet: forces UCS-2">{ch}</mark>);
    } else run += ch;
  }
  if (run) parts.push(run);
  return (
    <p class="highlighted" aria-label="Characters that force UCS-2 are marked">
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
  const [t, setT] = useState<Totals | null>(null);
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

  const done = t ? t.delivered + t.failed + t.canceled : 0;
  return (
    <div class="batch" data-testid="batch-progress">
      <Progress value={done} max={t?.messages || 1} label="Messages finished" goal />
      <p aria-live="polite">
        {t
          ? `${done} of ${t.messages} finished: ${t.delivered} delivered, ${t.failed} failed, ${t.pending} on the way.`
          : 'Counting…'}
      </p>
      <p>
        {batches.map((b, i) => (
          <a key={b} class="button" href={`/v1/messages/export${qs({ batch_id: b })}`} download>
            Export results{batches.length > 1 ? ` (part ${i + 1} of ${batches.length})` : ''} (CSV)
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
      setFileNote('The file is larger than 5 MB.');
      return;
    }
    const found = parseRecipients(await file.text());
    setRecipients((prev) => [prev.trim(), ...found].filter(Boolean).join('\n'));
    setFileNote(`${found.length} numbers read from ${file.name}.`);
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setResults(null);
    setBatches([]);
    if (numbers.length === 0) {
      setError(new Error('Add at least one recipient.'));
      return;
    }
    let sendAt: string | undefined;
    if (schedule) {
      if (!date || !time) {
        setError(new Error('Choose a date and a time for the scheduled message.'));
        return;
      }
      sendAt = zonedToUtc(date, time, tz).toISOString();
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
      <h1>Send</h1>
      <form class="card form-grid" onSubmit={submit} aria-label="Send a message">
        <label class="span2">
          Recipients <span class="muted small">(one per line, or separated by commas)</span>
          <textarea
            name="recipients"
            rows={4}
            value={recipients}
            onInput={(e) => setRecipients(e.currentTarget.value)}
            placeholder="+4915112345678"
          />
          <span class="muted small" aria-live="polite" data-testid="recipient-count">
            {numbers.length} recipient{numbers.length === 1 ? '' : 's'}
          </span>
        </label>
        <label>
          Or upload a list (CSV or TXT)
          <input type="file" name="file" accept=".csv,.txt,text/csv,text/plain" onChange={onFile} />
          {fileNote && <span class="muted small">{fileNote}</span>}
        </label>
        <label>
          Sender id <span class="muted small">(optional)</span>
          <input name="from" maxLength={16} value={from} onInput={(e) => setFrom(e.currentTarget.value)} />
        </label>
        <label class="span2">
          Text
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
              <strong>{preview.encoding === 'ucs2' ? 'UCS-2' : 'GSM-7'}</strong> · {preview.length} characters
              · <strong>{preview.segments}</strong> segment{preview.segments === 1 ? '' : 's'} ·{' '}
              {preview.remaining} left in this segment
              {preview.ucs2_chars.length > 0 && (
                <>
                  <span class="warn">
                    {' '}
                    · UCS-2 because of: {preview.ucs2_chars.map((c) => `“${c}”`).join(' ')}
                  </span>
                  <Highlighted text={text} chars={preview.ucs2_chars} />
                </>
              )}
            </>
          ) : (
            <span class="muted">Type a text to see its encoding and segments.</span>
          )}
        </div>
        <fieldset class="span2 options">
          <legend>Options</legend>
          <label class="inline">
            <input
              type="checkbox"
              name="flash"
              checked={flash}
              onChange={(e) => setFlash(e.currentTarget.checked)}
            />
            Flash SMS (shown at once, not stored)
          </label>
          <label class="inline">
            Replace type
            <select name="replace_id" value={replaceId} onChange={(e) => setReplaceId(e.currentTarget.value)}>
              <option value="">none</option>
              {[1, 2, 3, 4, 5, 6, 7].map((n) => (
                <option key={n} value={String(n)}>
                  {n}
                </option>
              ))}
            </select>
          </label>
          <label class="inline">
            Channel
            <select name="channel_id" value={channelId} onChange={(e) => setChannelId(e.currentTarget.value)}>
              <option value="">Automatic</option>
              {channels.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name} ({c.type})
                </option>
              ))}
            </select>
          </label>
        </fieldset>
        <fieldset class="span2 options">
          <legend>
            <label class="inline">
              <input
                type="checkbox"
                name="schedule"
                checked={schedule}
                onChange={(e) => setSchedule(e.currentTarget.checked)}
              />
              Schedule for later
            </label>
          </legend>
          {schedule && (
            <>
              <label class="inline">
                Date
                <input type="date" name="date" value={date} onInput={(e) => setDate(e.currentTarget.value)} />
              </label>
              <label class="inline">
                Time
                <input type="time" name="time" value={time} onInput={(e) => setTime(e.currentTarget.value)} />
              </label>
              <label class="inline">
                Time zone
                <select name="tz" value={tz} onChange={(e) => setTz(e.currentTarget.value)}>
                  {ZONES.map((z) => (
                    <option key={z} value={z}>
                      {z}
                    </option>
                  ))}
                </select>
              </label>
            </>
          )}
        </fieldset>
        <ErrorBox error={error} />
        <div class="span2">
          <button type="submit" class="primary" disabled={busy}>
            {busy ? 'Sending…' : schedule ? `Schedule for ${numbers.length}` : `Send to ${numbers.length}`}
          </button>
        </div>
      </form>

      {results && (
        <section class="card" aria-label="Result" data-testid="send-result">
          <Notice>
            {accepted} accepted, {refused.length} refused.{' '}
            {accepted > 0 && <a href="#/messages">Follow them in Messages</a>}
          </Notice>
          {batches.length > 0 && <BatchProgress batches={batches} />}
          {refused.length > 0 && (
            <table>
              <caption>Refused recipients</caption>
              <thead>
                <tr>
                  <th scope="col">Number</th>
                  <th scope="col">Reason</th>
                </tr>
              </thead>
              <tbody>
                {refused.map((r) => (
                  <tr key={r.input}>
                    <td>{r.input}</td>
                    <td>
                      {'status' in r && <StatusBadge status={r.status} />} {r.error?.message}{' '}
                      <code class="muted">{r.error?.code}</code>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      )}
    </div>
  );
}
