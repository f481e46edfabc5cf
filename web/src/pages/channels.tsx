/** Channels: every SIM, modem and SMPP bind with state, signal and this month's use; admins add and edit. */
import { useEffect, useState } from 'preact/hooks';
import type { Channel, User } from '../api';
import { api } from '../api';
import { Card, ErrorBox, PriorityField, Progress, TableHead } from '../ui';

const TYPES = ['simulator', 'modem', 'gammu', 'smpp'];

function Signal({ value }: { value: number | undefined }) {
  if (value === undefined || value === 99) return <span class="muted">—</span>;
  // AT+CSQ 0..31: shown as bars and as the dBm figure operators know (-113 + 2·n).
  const bars = value >= 20 ? 4 : value >= 15 ? 3 : value >= 10 ? 2 : value >= 2 ? 1 : 0;
  return (
    <span title={`CSQ ${value}`}>
      <span aria-hidden="true" class="signal">
        {'▮'.repeat(bars)}
        <span class="muted">{'▯'.repeat(4 - bars)}</span>
      </span>{' '}
      {-113 + 2 * value} dBm
    </span>
  );
}

export function Channels({ user }: { user: User }) {
  const [channels, setChannels] = useState<Channel[]>([]);
  const [users, setUsers] = useState<User[]>([]);
  const [editing, setEditing] = useState<Channel | 'new' | null>(null);
  const [error, setError] = useState<unknown>(null);
  const admin = user.role === 'admin';

  const load = () =>
    api<{ data: Channel[] }>('GET', '/v1/channels').then((r) => {
      setChannels(r.data);
      setError(null);
    }, setError);
  useEffect(() => {
    void load();
    if (admin) api<{ data: User[] }>('GET', '/v1/users').then((r) => setUsers(r.data), setError);
    const t = setInterval(load, 5_000);
    return () => clearInterval(t);
  }, []);

  const toggle = async (c: Channel) => {
    try {
      await api('POST', `/v1/channels/${encodeURIComponent(c.id)}/${c.enabled ? 'disable' : 'enable'}`);
      await load();
    } catch (err) {
      setError(err);
    }
  };
  const ownerName = (id: string | null) =>
    id === null ? 'shared' : (users.find((u) => u.id === id)?.login ?? (id === user.id ? user.login : id));

  return (
    <div>
      <h1>Channels</h1>
      <ErrorBox error={error} />
      {admin && (
        <p>
          <button class="primary" onClick={() => setEditing('new')}>
            Add a channel
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
        <table>
          <caption class="sr-only">Channels</caption>
          <TableHead
            columns={[
              'Name',
              'Type',
              'Owner',
              'State',
              'Signal',
              'This month',
              'Interval',
              'In flight',
              ...(admin ? ['Actions'] : []),
            ]}
          />
          <tbody>
            {channels.map((c) => {
              const state = c.enabled ? (c.health?.status ?? c.state) : 'disabled';
              return (
                <tr key={c.id}>
                  <th scope="row">{c.name}</th>
                  <td>
                    {c.type}
                    {c.simulator && (
                      <div class="small">
                        <span class="badge">simulated</span>{' '}
                        <span class="muted">
                          {/* Mirrors core/routing.ts: a shared simulator stands back once a real channel exists. */}
                          {c.owner_id === null
                            ? 'sends nothing; only messages pinned to it once a real channel is enabled'
                            : 'sends nothing'}
                        </span>
                      </div>
                    )}
                  </td>
                  <td>{ownerName(c.owner_id)}</td>
                  <td>
                    <span class={`dot dot-${c.enabled ? state : 'off'}`} aria-hidden="true" /> {state}
                    {c.health?.operator && <span class="muted small"> · {c.health.operator}</span>}
                    {c.health?.lastError && <div class="small bad">{c.health.lastError}</div>}
                  </td>
                  <td>
                    <Signal value={c.health?.signal} />
                  </td>
                  <td class="wide-cell">
                    <Progress
                      value={c.used_this_month}
                      max={c.monthly_limit}
                      label={`${c.name}: ${c.count_mode} this month`}
                    />
                    <div class="muted small">counts {c.count_mode}</div>
                  </td>
                  <td>{c.min_interval_ms ? `${(c.min_interval_ms / 1000).toFixed(1)} s` : 'none'}</td>
                  <td>
                    {c.health?.inFlight ?? 0} / {c.max_in_flight}
                  </td>
                  {admin && (
                    <td class="nowrap">
                      <button
                        class="small"
                        onClick={() => toggle(c)}
                        aria-label={`${c.enabled ? 'Disable' : 'Enable'} ${c.name}`}
                      >
                        {c.enabled ? 'Disable' : 'Enable'}
                      </button>{' '}
                      <button class="small" onClick={() => setEditing(c)} aria-label={`Edit ${c.name}`}>
                        Edit
                      </button>
                    </td>
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
        {channels.length === 0 && <p class="muted">No channels.</p>}
      </div>
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
      <input name={k} type="number" min={min} value={f[k]} onInput={set(k)} placeholder="type default" />
    </label>
  );

  const save = async (e: Event) => {
    e.preventDefault();
    let config: unknown;
    try {
      config = JSON.parse(f.config || '{}');
    } catch {
      setError(new Error('The config is not valid JSON.'));
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
    <Card title={channel ? `Edit ${channel.name}` : 'Add a channel'}>
      <form class="form-grid" onSubmit={save}>
        <label>
          Name
          <input name="name" required maxLength={64} value={f.name} onInput={set('name')} />
        </label>
        <label>
          Type
          <select name="type" value={f.type} onChange={set('type')} disabled={!!channel}>
            {TYPES.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </label>
        <label>
          Owner
          <select name="owner_id" value={f.owner_id} onChange={set('owner_id')}>
            <option value="">shared (every user)</option>
            {users.map((u) => (
              <option key={u.id} value={u.id}>
                {u.login}
              </option>
            ))}
          </select>
        </label>
        <label>
          Monthly limit <span class="muted small">(empty: none)</span>
          <input
            name="monthly_limit"
            type="number"
            min={0}
            value={f.monthly_limit}
            onInput={set('monthly_limit')}
          />
        </label>
        <label>
          Limit counts
          <select name="count_mode" value={f.count_mode} onChange={set('count_mode')}>
            <option value="segments">segments</option>
            <option value="messages">messages</option>
          </select>
        </label>
        {numberField('min_interval_ms', 'Minimum interval (ms)', 0)}
        {numberField('max_in_flight', 'Max in flight', 1)}
        <PriorityField value={f.priority} onInput={set('priority')} />
        <label class="span2">
          Driver config (JSON)
          <textarea name="config" rows={6} class="mono" value={f.config} onInput={set('config')} />
        </label>
        <ErrorBox error={error} />
        <div class="span2">
          <button type="submit" class="primary">
            Save
          </button>{' '}
          <button type="button" onClick={onDone}>
            Cancel
          </button>
        </div>
      </form>
    </Card>
  );
}
