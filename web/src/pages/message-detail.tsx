/** One message: its fields, parts and the event timeline, live; cancel while it waits. */
import { useEffect, useState } from 'preact/hooks';
import type { Channel, Message } from '../api';
import { FINAL, api } from '../api';
import { followEvents } from '../live';
import { Card, ErrorBox, Ltr, StatusBadge, reason, when } from '../ui';
import { fmtNumber, ltr, t } from '../i18n';

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
        <a href="#/messages" class="back">
          {t('nav.messages')}
        </a>
      </p>
      <h1>{t('detail.title', { to: m ? ltr(m.to) : '…' })}</h1>
      <ErrorBox error={error} />
      {m && (
        <div class="grid">
          <Card title={t('detail.details')}>
            <dl class="details">
              <dt>{t('common.status')}</dt>
              <dd>
                <StatusBadge status={m.status} />{' '}
                {!FINAL.has(m.status) && <span class="muted small">({t('detail.live')})</span>}
              </dd>
              {m.error && (
                <>
                  <dt>{t('detail.error')}</dt>
                  <dd>
                    {reason(m.error)} <code dir="ltr">{m.error.code}</code>
                  </dd>
                </>
              )}
              <dt>{t('send.text')}</dt>
              <dd class="text-cell" dir="auto">
                {m.text}
              </dd>
              <dt>{t('detail.encoding')}</dt>
              <dd>
                {m.encoding === 'ucs2' ? 'UCS-2' : m.encoding === 'gsm7' ? 'GSM-7' : m.encoding},{' '}
                {t('send.segments', { count: m.segments })}
              </dd>
              <dt>{t('send.senderId')}</dt>
              <dd>{m.from ? <Ltr>{m.from}</Ltr> : '—'}</dd>
              <dt>{t('detail.flashReplace')}</dt>
              <dd>
                {m.flash ? t('detail.flash') : t('detail.normal')} / {m.replace_id ?? t('common.none')}
              </dd>
              <dt>{t('send.channel')}</dt>
              <dd>
                {m.channel_id ? (channels.get(m.channel_id) ?? m.channel_id) : '—'}
                {m.pinned_channel_id && (
                  <span class="muted small">
                    {' '}
                    ({t('detail.chosen', { name: channels.get(m.pinned_channel_id) ?? m.pinned_channel_id })})
                  </span>
                )}
              </dd>
              <dt>{t('detail.attempts')}</dt>
              <dd>{fmtNumber(m.attempts ?? 0)}</dd>
              <dt>{t('messages.created')}</dt>
              <dd>{when(m.created_at)}</dd>
              {m.send_at && (
                <>
                  <dt>{t('detail.scheduledFor')}</dt>
                  <dd>{when(m.send_at)}</dd>
                </>
              )}
              <dt>{t('detail.batch')}</dt>
              <dd>
                <code>{m.batch_id}</code>
              </dd>
            </dl>
            <p>
              <a href={`#/inbox/${encodeURIComponent(m.to)}`}>
                {t('detail.conversation', { number: ltr(m.to) })}
              </a>
            </p>
            {(m.status === 'queued' || m.status === 'scheduled') && (
              <button onClick={cancel} class="danger">
                {t('detail.cancel')}
              </button>
            )}
          </Card>
          <Card title={t('detail.timeline')}>
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
              <div class="table-wrap">
                <table>
                  <caption>{t('detail.parts')}</caption>
                  <thead>
                    <tr>
                      <th scope="col">#</th>
                      <th scope="col">{t('detail.remoteId')}</th>
                      <th scope="col">{t('common.status')}</th>
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
              </div>
            )}
          </Card>
        </div>
      )}
    </div>
  );
}
