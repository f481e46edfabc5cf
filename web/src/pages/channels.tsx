/** Channels: every SIM, modem and SMPP bind with state, signal and this month's use; admins add and edit. */
import { useEffect, useState } from 'preact/hooks';
import type { Channel, User } from '../api';
import { api } from '../api';
import { Card, ErrorBox, Ltr, PriorityField, Progress, TableHead } from '../ui';
import { confirmThen } from '../confirm';
import { ChannelFields } from '../channel-fields';
import { fmtNumber, t } from '../i18n';
import { Nodes } from './nodes';
import { UserSelect } from '../field';

const TYPES = ['simulator', 'modem', 'gammu', 'smpp'];

function Signal({ value }: { value: number | undefined }) {
  if (value === undefined || value === 99) return <span class="muted">—</span>;
  // AT+CSQ 0..31: shown as bars and as the dBm figure operators know (-113 + 2·n).
  const bars = value >= 20 ? 4 : value >= 15 ? 3 : value >= 10 ? 2 : value >= 2 ? 1 : 0;
  return (
    <span title={`CSQ ${value}`} class="nowrap">
      <span aria-hidden="true" class="signal">
        {'▮'.repeat(bars)}
        <span class="muted">{'▯'.repeat(4 - bars)}</span>
      </span>{' '}
      <Ltr>{fmtNumber(-113 + 2 * value)} dBm</Ltr>
    </span>
  );
}

export function Channels({ user }: { user: User }) {
  const [channels, setChannels] = useState<Channel[]>([]);
  const [users, setUsers] = useState<User[]>([]);
  const [editing, setEditing] = useState<Channel | 'new' | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loads, setLoads] = useState(0);
  const admin = user.role === 'admin';

  const load = () =>
    api<{ data: Channel[] }>('GET', '/v1/channels').then((r) => {
      setChannels(r.data);
      setLoads((n) => n + 1);
      setError(null);
    }, setError);
  useEffect(() => {
    void load();
    if (admin) api<{ data: User[] }>('GET', '/v1/users').then((r) => setUsers(r.data), setError);
    const t = setInterval(load, 5_000);
    return () => clearInterval(t);
  }, []);

  const toggle = (c: Channel) =>
    confirmThen(
      c.enabled
        ? {
            title: t('channels.confirmDisable', { name: c.name }),
            body: t('channels.confirmDisableBody'),
            action: t('channels.disable'),
            danger: true,
          }
        : null,
      async () => {
        await api('POST', `/v1/channels/${encodeURIComponent(c.id)}/${c.enabled ? 'disable' : 'enable'}`);
        await load();
      },
      setError,
    );
  const ownerName = (id: string | null) =>
    id === null
      ? t('channels.shared')
      : (users.find((u) => u.id === id)?.login ?? (id === user.id ? user.login : id));

  return (
    <div>
      <h1>{t('nav.channels')}</h1>
      <ErrorBox error={error} />
      {admin && (
        <p>
          <button class="primary" onClick={() => setEditing('new')}>
            {t('channels.add')}
          </button>
        </p>
      )}
      {editing && (
        <ChannelForm
          channel={editing === 'new' ? null : editing}
          users={users}
          onDone={() => {
            setEditing(null);
            void load();
          }}
        />
      )}
      <div class="card table-wrap">
        <table class="cards">
          <caption class="sr-only">{t('nav.channels')}</caption>
          <TableHead
            columns={[
              t('channels.name'),
              t('channels.type'),
              t('channels.owner'),
              t('channels.state'),
              t('ops.nodes.runsOn'),
              t('channels.signal'),
              t('overview.thisMonth'),
              t('channels.interval'),
              t('channels.inFlight'),
              ...(admin ? [t('common.actions')] : []),
            ]}
          />
          <tbody>
            {channels.map((c) => {
              const state = c.enabled ? (c.health?.status ?? c.state) : 'disabled';
              const stateName = t(`channelState.${state}`, { defaultValue: state });
              return (
                <tr key={c.id}>
                  <th scope="row" data-label={t('channels.name')}>
                    {c.name}
                  </th>
                  <td data-label={t('channels.type')}>
                    {t(`channelType.${c.type}`, { defaultValue: c.type })}
                    {c.simulator && (
                      <div class="small">
                        <span class="badge">{t('channels.simulated')}</span>{' '}
                        <span class="muted">
                          {/* Mirrors core/routing.ts: a shared simulator stands back once a real channel exists. */}
                          {c.owner_id === null ? t('channels.simulatedShared') : t('channels.simulatedOwn')}
                        </span>
                      </div>
                    )}
                  </td>
                  <td data-label={t('channels.owner')}>{ownerName(c.owner_id)}</td>
                  <td data-label={t('channels.state')}>
                    <span class={`dot dot-${c.enabled ? state : 'off'}`} aria-hidden="true" /> {stateName}
                    {c.health?.operator && <span class="muted small"> · {c.health.operator}</span>}
                    {c.health?.lastError && <div class="small bad">{c.health.lastError}</div>}
                  </td>
                  <td data-label={t('ops.nodes.runsOn')} data-testid="channel-node">
                    {c.node ? <bdi>{c.node}</bdi> : <span class="muted">{t('ops.nodes.nowhere')}</span>}
                  </td>
                  <td data-label={t('channels.signal')}>
                    <Signal value={c.health?.signal} />
                  </td>
                  <td class="wide-cell" data-label={t('overview.thisMonth')}>
                    <Progress
                      value={c.used_this_month}
                      max={c.monthly_limit}
                      label={t('channels.usageLabel', { name: c.name })}
                    />
                    <div class="muted small">{t(`channels.counts.${c.count_mode}`)}</div>
                  </td>
                  <td data-label={t('channels.interval')}>
                    {c.min_interval_ms
                      ? t('channels.seconds', {
                          s: fmtNumber(c.min_interval_ms / 1000, {
                            minimumFractionDigits: 1,
                            maximumFractionDigits: 1,
                          }),
                        })
                      : t('common.none')}
                  </td>
                  <td data-label={t('channels.inFlight')}>
                    <Ltr>
                      {fmtNumber(c.health?.inFlight ?? 0)} / {fmtNumber(c.max_in_flight)}
                    </Ltr>
                  </td>
                  {admin && (
                    <td>
                      <div class="actions">
                        <button
                          class="small"
                          onClick={() => toggle(c)}
                          aria-label={t(c.enabled ? 'channels.disableNamed' : 'channels.enableNamed', {
                            name: c.name,
                          })}
                        >
                          {c.enabled ? t('channels.disable') : t('channels.enable')}
                        </button>{' '}
                        <button
                          class="small"
                          onClick={() => setEditing(c)}
                          aria-label={t('channels.editNamed', { name: c.name })}
                        >
                          {t('channels.edit')}
                        </button>
                      </div>
                    </td>
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
        {channels.length === 0 && <p class="muted">{t('channels.none')}</p>}
      </div>
      {admin && <Nodes refresh={loads} />}
    </div>
  );
}

function ChannelForm({
  channel,
  users,
  onDone,
}: {
  channel: Channel | null;
  users: User[];
  onDone: () => void;
}) {
  const initialConfig = JSON.stringify(channel?.config ?? {}, null, 2);
  const [f, setF] = useState({
    name: channel?.name ?? '',
    type: channel?.type ?? 'simulator',
    owner_id: channel?.owner_id ?? '',
    monthly_limit: channel?.monthly_limit == null ? '' : String(channel.monthly_limit),
    count_mode: channel?.count_mode ?? 'segments',
    min_interval_ms: channel ? String(channel.min_interval_ms) : '',
    max_in_flight: channel ? String(channel.max_in_flight) : '',
    priority: String(channel?.priority ?? 100),
    config: initialConfig,
  });
  const [error, setError] = useState<unknown>(null);
  const set = (k: keyof typeof f) => (e: Event) =>
    setF({ ...f, [k]: (e.currentTarget as HTMLInputElement).value });

  // Empty means "the type's default" (the server fills it in).
  const numberField = (k: 'min_interval_ms' | 'max_in_flight', label: string, min: number) => (
    <label>
      {label}
      <input
        name={k}
        type="number"
        min={min}
        value={f[k]}
        onInput={set(k)}
        placeholder={t('channels.typeDefault')}
      />
    </label>
  );

  const save = async (e: Event) => {
    e.preventDefault();
    let config: unknown;
    try {
      config = JSON.parse(f.config || '{}');
    } catch {
      setError(new Error(t('channels.badJson')));
      return;
    }
    const body: Record<string, unknown> = {
      name: f.name,
      owner_id: f.owner_id || null,
      monthly_limit: f.monthly_limit === '' ? null : Number(f.monthly_limit),
      count_mode: f.count_mode,
      priority: Number(f.priority),
      ...(f.min_interval_ms !== '' ? { min_interval_ms: Number(f.min_interval_ms) } : {}),
      ...(f.max_in_flight !== '' ? { max_in_flight: Number(f.max_in_flight) } : {}),
    };
    // Secrets come back redacted ("***"): the config is sent only when it was edited.
    if (!channel || f.config !== initialConfig) body.config = config;
    try {
      if (channel) await api('PATCH', `/v1/channels/${encodeURIComponent(channel.id)}`, body);
      else await api('POST', '/v1/channels', { ...body, type: f.type });
      onDone();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <Card title={channel ? t('channels.editNamed', { name: channel.name }) : t('channels.add')}>
      <form class="form-grid" onSubmit={save}>
        <label>
          {t('channels.name')}
          <input name="name" required maxLength={64} value={f.name} onInput={set('name')} />
        </label>
        <label>
          {t('channels.type')}
          <select name="type" value={f.type} onChange={set('type')} disabled={!!channel}>
            {TYPES.map((ty) => (
              <option key={ty} value={ty}>
                {t(`channelType.${ty}`)}
              </option>
            ))}
          </select>
        </label>
        <UserSelect
          label={t('channels.owner')}
          name="owner_id"
          value={f.owner_id}
          users={users}
          anyone={t('channels.sharedAll')}
          onValue={(owner_id) => setF({ ...f, owner_id })}
        />
        <label>
          {t('channels.monthlyLimit')} <span class="muted small">({t('channels.emptyNone')})</span>
          <input
            name="monthly_limit"
            type="number"
            min={0}
            value={f.monthly_limit}
            onInput={set('monthly_limit')}
          />
        </label>
        <label>
          {t('channels.limitCounts')}
          <select name="count_mode" value={f.count_mode} onChange={set('count_mode')}>
            <option value="segments">{t('channels.countMode.segments')}</option>
            <option value="messages">{t('channels.countMode.messages')}</option>
          </select>
        </label>
        {numberField('min_interval_ms', t('channels.minInterval'), 0)}
        {numberField('max_in_flight', t('channels.maxInFlight'), 1)}
        <PriorityField value={f.priority} onInput={set('priority')} />
        <ChannelFields type={f.type} json={f.config} onJson={(config) => setF({ ...f, config })} />
        <details class="span2">
          <summary>{t('channels.advanced')}</summary>
          <label>
            {t('channels.config')}
            <textarea
              name="config"
              dir="ltr"
              rows={6}
              class="mono"
              value={f.config}
              onInput={set('config')}
            />
          </label>
        </details>
        <ErrorBox error={error} />
        <div class="span2">
          <button type="submit" class="primary">
            {t('common.save')}
          </button>{' '}
          <button type="button" onClick={onDone}>
            {t('common.cancel')}
          </button>
        </div>
      </form>
    </Card>
  );
}
