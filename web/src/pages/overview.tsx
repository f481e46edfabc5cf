/** Overview: today and this month, delivery rate, 30 days chart, failure reasons, queue, channel health. */
import { useEffect, useState } from 'preact/hooks';
import type { Channel, User } from '../api';
import { api, qs } from '../api';
import { StackedBars } from '../chart';
import { Card, ErrorBox, Progress } from '../ui';

interface Totals {
  messages: number;
  segments: number;
  delivered: number;
  failed: number;
  pending: number;
  delivery_rate: number | null;
}
interface Stats {
  totals: Totals;
  series: ({ start: string } & Totals)[];
  failure_reasons: { code: string; count: number }[];
  queue: { queued: number; scheduled: number; sending: number };
}

const TZ = Intl.DateTimeFormat().resolvedOptions().timeZone;

function startOfDay(d = new Date()): Date {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate());
}

export function Overview({ user }: { user: User }) {
  const [today, setToday] = useState<Stats | null>(null);
  const [month, setMonth] = useState<Stats | null>(null);
  const [days, setDays] = useState<Stats | null>(null);
  const [channels, setChannels] = useState<Channel[]>([]);
  const [users, setUsers] = useState<User[]>([]);
  const [scope, setScope] = useState({ user_id: '', channel_id: '' });
  const [error, setError] = useState<unknown>(null);
  const admin = user.role === 'admin';

  useEffect(() => {
    if (admin) api<{ data: User[] }>('GET', '/v1/users').then((r) => setUsers(r.data), setError);
  }, [admin]);

  useEffect(() => {
    const load = async () => {
      const now = new Date();
      const monthStart = new Date(now.getFullYear(), now.getMonth(), 1);
      const thirty = new Date(startOfDay().getTime() - 29 * 86_400_000);
      try {
        const stats = (since: Date, bucket: 'hour' | 'day') =>
          api<Stats>('GET', `/v1/stats${qs({ since: since.toISOString(), bucket, tz: TZ, ...scope })}`);
        const [t, m, d, c] = await Promise.all([
          stats(startOfDay(), 'hour'),
          stats(monthStart, 'day'),
          stats(thirty, 'day'),
          api<{ data: Channel[] }>('GET', '/v1/channels'),
        ]);
        setToday(t);
        setMonth(m);
        setDays(d);
        setChannels(c.data);
        setError(null);
      } catch (err) {
        setError(err);
      }
    };
    void load();
    const timer = setInterval(load, 10_000);
    return () => clearInterval(timer);
  }, [scope]);

  const rate = (t?: Totals) =>
    t?.delivery_rate == null ? '—' : `${(t.delivery_rate * 100).toFixed(1)}\u00a0%`;
  const labels =
    days?.series.map((p) =>
      new Date(p.start).toLocaleDateString(undefined, { month: 'short', day: 'numeric' }),
    ) ?? [];

  return (
    <div>
      <h1>Overview</h1>
      <form class="filters scope" aria-label="Whose messages" onSubmit={(e) => e.preventDefault()}>
        {admin && (
          <label>
            User
            <select
              name="user_id"
              value={scope.user_id}
              onChange={(e) => setScope({ ...scope, user_id: e.currentTarget.value })}
            >
              <option value="">all users</option>
              {users.map((u) => (
                <option key={u.id} value={u.id}>
                  {u.login}
                </option>
              ))}
            </select>
          </label>
        )}
        <label>
          Channel
          <select
            name="channel_id"
            value={scope.channel_id}
            onChange={(e) => setScope({ ...scope, channel_id: e.currentTarget.value })}
          >
            <option value="">all channels</option>
            {channels.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </label>
      </form>
      <ErrorBox error={error} />
      <div class="tiles">
        {(
          [
            ['Today', today],
            ['This month', month],
          ] as const
        ).map(([label, s]) => (
          <section class="card tile-group" aria-label={label} key={label}>
            <h2>{label}</h2>
            <dl class="tiles-inner">
              <div>
                <dt>Messages</dt>
                <dd data-testid={`${label}-messages`}>{s?.totals.messages ?? '…'}</dd>
              </div>
              <div>
                <dt>Delivered</dt>
                <dd class="ok">{s?.totals.delivered ?? '…'}</dd>
              </div>
              <div>
                <dt>Failed</dt>
                <dd class="bad">{s?.totals.failed ?? '…'}</dd>
              </div>
              <div>
                <dt>Delivery rate</dt>
                <dd>{rate(s?.totals)}</dd>
              </div>
            </dl>
          </section>
        ))}
        <section class="card tile-group" aria-label="Queue">
          <h2>Queue</h2>
          <dl class="tiles-inner">
            <div>
              <dt>Waiting</dt>
              <dd data-testid="queue-queued">{today?.queue.queued ?? '…'}</dd>
            </div>
            <div>
              <dt>Sending</dt>
              <dd>{today?.queue.sending ?? '…'}</dd>
            </div>
            <div>
              <dt>Scheduled</dt>
              <dd>{today?.queue.scheduled ?? '…'}</dd>
            </div>
          </dl>
        </section>
      </div>

      <div class="grid">
        <Card title="Last 30 days" wide>
          <StackedBars
            title="Messages per day over the last 30 days: delivered, failed and pending"
            labels={labels}
            series={[
              { label: 'Delivered', color: '#1a7f37', values: days?.series.map((p) => p.delivered) ?? [] },
              { label: 'Failed', color: '#cf222e', values: days?.series.map((p) => p.failed) ?? [] },
              { label: 'Pending', color: '#9a6700', values: days?.series.map((p) => p.pending) ?? [] },
            ]}
          />
        </Card>
        <Card title="Failure reasons (30 days)">
          {days && days.failure_reasons.length === 0 && <p class="muted">No failures.</p>}
          <ul class="bars">
            {days?.failure_reasons.map((r) => (
              <li key={r.code}>
                <span class="bar-label">{r.code.replaceAll('_', ' ')}</span>
                <span
                  class="bar"
                  style={{ width: `${(r.count / (days.failure_reasons[0]?.count || 1)) * 100}%` }}
                />
                <span class="bar-value">{r.count}</span>
              </li>
            ))}
          </ul>
        </Card>
        <Card title="Channels">
          {channels.length === 0 && <p class="muted">No channels yet.</p>}
          <ul class="health">
            {channels.map((c) => (
              <li key={c.id}>
                <span
                  class={`dot dot-${!c.enabled ? 'off' : (c.health?.status ?? c.state)}`}
                  aria-hidden="true"
                />
                <a href="#/channels">{c.name}</a>
                <span class="muted small">
                  {c.enabled ? (c.health?.status ?? c.state) : 'disabled'} · {c.type}
                </span>
                <div class="health-usage">
                  <Progress value={c.used_this_month} max={c.monthly_limit} label={`${c.name} this month`} />
                </div>
              </li>
            ))}
          </ul>
        </Card>
      </div>
    </div>
  );
}
