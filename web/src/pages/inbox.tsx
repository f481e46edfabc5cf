/** Inbox: inbound messages grouped by number, the conversation with one number, and a reply box. */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, qs } from '../api';
import { followEvents } from '../live';
import { ErrorBox, StatusBadge, when } from '../ui';

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
    const t = setInterval(load, 10_000);
    return () => clearInterval(t);
  }, []);

  // One row per number, newest first: the inbound list is already newest first.
  const threads = new Map<string, Inbound & { count: number }>();
  for (const m of inbound) {
    const t = threads.get(m.from);
    if (t) t.count++;
    else threads.set(m.from, { ...m, count: 1 });
  }

  return (
    <div>
      <h1>Inbox</h1>
      <ErrorBox error={error} />
      <div class="inbox">
        <section class="card threads" aria-label="Conversations">
          <h2>Conversations</h2>
          <form
            class="inline-form"
            onSubmit={(e) => {
              e.preventDefault();
              if (other.trim()) location.hash = `#/inbox/${encodeURIComponent(other.trim())}`;
            }}
          >
            <label>
              <span class="sr-only">Open a conversation with a number</span>
              <input
                placeholder="Open a number…"
                value={other}
                onInput={(e) => setOther(e.currentTarget.value)}
              />
            </label>
            <button type="submit">Open</button>
          </form>
          {threads.size === 0 && <p class="muted">No inbound messages yet.</p>}
          <ul>
            {[...threads.values()].map((t) => (
              <li key={t.from}>
                <a
                  href={`#/inbox/${encodeURIComponent(t.from)}`}
                  aria-current={t.from === number ? 'true' : undefined}
                >
                  <strong>{t.from}</strong> <span class="muted small">{when(t.received_at)}</span>
                  <span class="preview">{t.text}</span>
                  {t.count > 1 && <span class="muted small">{t.count} messages</span>}
                </a>
              </li>
            ))}
          </ul>
        </section>
        {number ? <Conversation number={number} /> : <p class="muted">Choose a conversation.</p>}
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
    const t = setInterval(load, 10_000);
    // Status changes of this conversation's messages show at once; anything else waits for the poll.
    const stop = followEvents((events) => {
      if (events.some((e) => shown.current.has(e.message_id))) void load();
    });
    return () => {
      clearInterval(t);
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
    <section class="card conversation" aria-label={`Conversation with ${number}`}>
      <h2>{number}</h2>
      <ErrorBox error={error} />
      <ol class="bubbles">
        {items.map((i) => (
          <li key={i.id} class={`bubble ${i.direction}`}>
            <span class="bubble-text">{i.text}</span>
            <span class="muted small">
              {when(i.at)} {i.status && <StatusBadge status={i.status} />}
              {i.incomplete && ' · incomplete'}
              {i.keyword && ` · ${i.keyword}`}
            </span>
          </li>
        ))}
      </ol>
      <form onSubmit={reply} class="reply">
        <label>
          Reply
          <textarea
            name="reply"
            rows={2}
            required
            value={text}
            onInput={(e) => setText(e.currentTarget.value)}
          />
        </label>
        <button type="submit" class="primary" disabled={busy}>
          Send reply
        </button>
      </form>
    </section>
  );
}
