/** Inbox: inbound messages grouped by number, the conversation with one number, and a reply box. */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, qs } from '../api';
import { followEvents } from '../live';
import { ErrorBox, Ltr, StatusBadge, when } from '../ui';
import { t } from '../i18n';

interface Inbound {
  id: string;
  from: string;
  to: string | null;
  text: string;
  incomplete: boolean;
  keyword: string | null;
  received_at: string;
}
interface Item {
  id: string;
  direction: 'inbound' | 'outbound';
  at: string;
  text: string;
  status?: string;
  incomplete?: boolean;
  keyword?: string | null;
}

export function Inbox({ number }: { number?: string | undefined }) {
  const [inbound, setInbound] = useState<Inbound[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [other, setOther] = useState('');

  useEffect(() => {
    const load = () =>
      api<{ data: Inbound[] }>('GET', `/v1/inbound${qs({ limit: 500 })}`).then(
        (r) => setInbound(r.data),
        setError,
      );
    void load();
    const timer = setInterval(load, 10_000);
    return () => clearInterval(timer);
  }, []);

  // One row per number, newest first: the inbound list is already newest first.
  const threads = new Map<string, Inbound & { count: number }>();
  for (const m of inbound) {
    const th = threads.get(m.from);
    if (th) th.count++;
    else threads.set(m.from, { ...m, count: 1 });
  }

  return (
    <div>
      <h1>{t('nav.inbox')}</h1>
      <ErrorBox error={error} />
      <div class="inbox">
        <section class="card threads" aria-label={t('inbox.conversations')}>
          <h2>{t('inbox.conversations')}</h2>
          <form
            class="inline-form"
            onSubmit={(e) => {
              e.preventDefault();
              if (other.trim()) location.hash = `#/inbox/${encodeURIComponent(other.trim())}`;
            }}
          >
            <label>
              <span class="sr-only">{t('inbox.openLabel')}</span>
              <input
                dir="ltr"
                placeholder={t('inbox.openPlaceholder')}
                value={other}
                onInput={(e) => setOther(e.currentTarget.value)}
              />
            </label>
            <button type="submit">{t('inbox.open')}</button>
          </form>
          {threads.size === 0 && <p class="muted">{t('inbox.none')}</p>}
          <ul>
            {[...threads.values()].map((th) => (
              <li key={th.from}>
                <a
                  href={`#/inbox/${encodeURIComponent(th.from)}`}
                  aria-current={th.from === number ? 'true' : undefined}
                >
                  <strong>
                    <Ltr>{th.from}</Ltr>
                  </strong>{' '}
                  <span class="muted small">{when(th.received_at)}</span>
                  <span class="preview" dir="auto">
                    {th.text}
                  </span>
                  {th.count > 1 && (
                    <span class="muted small">{t('inbox.messages', { count: th.count })}</span>
                  )}
                </a>
              </li>
            ))}
          </ul>
        </section>
        {number ? <Conversation number={number} /> : <p class="muted">{t('inbox.choose')}</p>}
      </div>
    </div>
  );
}

function Conversation({ number }: { number: string }) {
  const [items, setItems] = useState<Item[]>([]);
  const shown = useRef<Set<string>>(new Set());
  shown.current = new Set(items.map((i) => i.id));
  const [text, setText] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const load = () =>
    api<{ data: Item[] }>('GET', `/v1/conversations/${encodeURIComponent(number)}`).then((r) => {
      setItems(r.data);
      setError(null);
    }, setError);

  useEffect(() => {
    void load();
    const timer = setInterval(load, 10_000);
    // Status changes of this conversation's messages show at once; anything else waits for the poll.
    const stop = followEvents((events) => {
      if (events.some((e) => shown.current.has(e.message_id))) void load();
    });
    return () => {
      clearInterval(timer);
      stop();
    };
  }, [number]);

  const reply = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      await api('POST', `/v1/conversations/${encodeURIComponent(number)}/messages`, { text });
      setText('');
      await load();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="card conversation" aria-label={t('detail.conversation', { number })}>
      <h2>
        <Ltr>{number}</Ltr>
      </h2>
      <ErrorBox error={error} />
      <ol class="bubbles">
        {items.map((i) => (
          <li key={i.id} class={`bubble ${i.direction}`}>
            <span class="bubble-text" dir="auto">
              {i.text}
            </span>
            <span class="muted small">
              {when(i.at)} {i.status && <StatusBadge status={i.status} />}
              {i.incomplete && ` · ${t('inbox.incomplete')}`}
              {i.keyword && ` · ${i.keyword}`}
            </span>
          </li>
        ))}
      </ol>
      <form onSubmit={reply} class="reply">
        <label>
          {t('inbox.reply')}
          <textarea
            name="reply"
            rows={2}
            required
            value={text}
            onInput={(e) => setText(e.currentTarget.value)}
          />
        </label>
        <button type="submit" class="primary" disabled={busy}>
          {t('inbox.sendReply')}
        </button>
      </form>
    </section>
  );
}
