/** One message: its fields, parts and the event timeline, live; cancel while it waits. */
import { useEffect, useState } from 'preact/hooks';
import type { Channel, Message } from '../api';
import { FINAL, api } from '../api';
import { followEvents } from '../live';
import { Card, ErrorBox, StatusBadge, when } from '../ui';

export function MessageDetail({ id }: { id: string }) {
  const [m, setM] = useState<Message | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [channels, setChannels] = useState<Map<string, string>>(new Map());

  const load = () =>
    api<Message>('GET', `/v1/messages/${encodeURIComponent(id)}`).then((r) => {
      setM(r);
      setError(null);
    }, setError);
  useEffect(() => {
    api<{ data: Channel[] }>('GET', '/v1/channels').then(
      (r) => setChannels(new Map(r.data.map((c) => [c.id, c.name]))),
      () => undefined,
    );
  }, []);
  useEffect(() => {
    void load();
    return followEvents((events) => {
      if (events.some((e) => e.message_id === id)) void load();
    });
  }, [id]);

  const cancel = async () => {
    try {
      setM(
        await api<Message>('DELETE', `/v1/messages/${encodeURIComponent(id)}`).then(() =>
          api<Message>('GET', `/v1/messages/${encodeURIComponent(id)}`),
        ),
      );
    } catch (err) {
      setError(err);
    }
  };

  return (
    <div>
      <p>
        <a href="#/messages">← Messages</a>
      </p>
      <h1>Message to {m?.to ?? '…'}</h1>
      <ErrorBox error={error} />
      {m && (
        <div class="grid">
          <Card title="Details">
            <dl class="details">
              <dt>Status</dt>
              <dd>
                <StatusBadge status={m.status} />{' '}
                {!FINAL.has(m.status) && <span class="muted small">(updates live)</span>}
              </dd>
              {m.error && (
                <>
                  <dt>Error</dt>
                  <dd>
                    {m.error.message} <code>{m.error.code}</code>
                  </dd>
                </>
              )}
              <dt>Text</dt>
              <dd class="text-cell">{m.text}</dd>
              <dt>Encoding</dt>
              <dd>
                {m.encoding}, {m.segments} segment{m.segments === 1 ? '' : 's'}
              </dd>
              <dt>Sender id</dt>
              <dd>{m.from ?? '—'}</dd>
              <dt>Flash / replace</dt>
              <dd>
                {m.flash ? 'flash' : 'normal'} / {m.replace_id ?? 'none'}
              </dd>
              <dt>Channel</dt>
              <dd>
                {m.channel_id ? (channels.get(m.channel_id) ?? m.channel_id) : '—'}
                {m.pinned_channel_id && (
                  <span class="muted small">
                    {' '}
                    (chosen: {channels.get(m.pinned_channel_id) ?? m.pinned_channel_id})
                  </span>
                )}
              </dd>
              <dt>Attempts</dt>
              <dd>{m.attempts}</dd>
              <dt>Created</dt>
              <dd>{when(m.created_at)}</dd>
              {m.send_at && (
                <>
                  <dt>Scheduled for</dt>
                  <dd>{when(m.send_at)}</dd>
                </>
              )}
              <dt>Batch</dt>
              <dd>
                <code>{m.batch_id}</code>
              </dd>
            </dl>
            <p>
              <a href={`#/inbox/${encodeURIComponent(m.to)}`}>Conversation with {m.to}</a>
            </p>
            {(m.status === 'queued' || m.status === 'scheduled') && (
              <button onClick={cancel} class="danger">
                Cancel this message
              </button>
            )}
          </Card>
          <Card title="Timeline">
            <ol class="timeline" data-testid="timeline">
              {m.events?.map((e) => (
                <li key={e.id}>
                  <StatusBadge status={e.status} /> <span class="muted small">{when(e.at)}</span>
                  {e.detail && <div class="small">{e.detail}</div>}
                  {e.error_code && <code class="small">{e.error_code}</code>}
                </li>
              ))}
            </ol>
            {m.parts && m.parts.length > 0 && (
              <table>
                <caption>Parts</caption>
                <thead>
                  <tr>
                    <th scope="col">#</th>
                    <th scope="col">Remote id</th>
                    <th scope="col">Status</th>
                  </tr>
                </thead>
                <tbody>
                  {m.parts.map((p) => (
                    <tr key={p.seq}>
                      <td>{p.seq}</td>
                      <td>
                        <code>{p.remote_id ?? '—'}</code>
                      </td>
                      <td>
                        <StatusBadge status={p.status} /> {p.error_code}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </Card>
        </div>
      )}
    </div>
  );
}
