/** Overview: today and this month, delivery rate, 30 days chart, failure reasons, queue, channel health. */
import { useEffect, useState } from 'preact/hooks';
import type { Channel, User } from '../api';
import { api, qs } from '../api';
import { StackedBars } from '../chart';
import { Card, ErrorBox, Progress, reason } from '../ui';
import { fmtDateTime, fmtNumber, t } from '../i18n';
import { UserSelect } from '../field';

interface Totals {
  messages: number;
  segments: number;
  delivered: number;
  failed: number;
  pending: number;
  delivery_rate: number | null;
}
interface Stats {
  series: Point[];
  failure_reasons: { code: string; count: number }[];
}
type Queue = { queued: number; scheduled: number; sending: number };
type Point = { start: string } & Omit<Totals, 'delivery_rate'>;

const dayLabel = (iso: string) => fmtDateTime(iso, { month: 'short', day: 'numeric' });
const num = (n: number | undefined) => (n === undefined ? '…' : fmtNumber(n));

/** Totals of some days of the series (delivery rate recomputed from them). */
function sum(points: Point[]): Totals {
  const t = { messages: 0, segments: 0, delivered: 0, failed: 0, pending: 0 };
  for (const p of points) for (const k of Object.keys(t) as (keyof typeof t)[]) t[k] += p[k];
  const finished = t.delivered + t.failed;
  return { ...t, delivery_rate: finished > 0 ? t.delivered / finished : null };
}

const TZ = Intl.DateTimeFormat().resolvedOptions().timeZone;

function startOfDay(d = new Date()): Date {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate());
}

export function Overview({ user }: { user: User }) {
  const [days, setDays] = useState<Stats | null>(null);
  const [queue, setQueue] = useState<Queue | null>(null);
  const [monthStart, setMonthStart] = useState(0);
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
      // One daily series back to the earlier of the month's start and 30 days ago: today, this
      // month and the chart are all slices of it.
      const now = new Date();
      const month = new Date(now.getFullYear(), now.getMonth(), 1);
      const since = new Date(Math.min(month.getTime(), startOfDay().getTime() - 29 * 86_400_000));
      try {
        const [d, q, c] = await Promise.all([
          api<Stats>(
            'GET',
            `/v1/stats${qs({ since: since.toISOString(), bucket: 'day', tz: TZ, ...scope })}`,
          ),
          api<Queue>('GET', `/v1/queue${qs({ user_id: scope.user_id })}`),
          api<{ data: Channel[] }>('GET', '/v1/channels'),
        ]);
        setDays(d);
        setQueue(q);
        setMonthStart(month.getTime());
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
    t?.delivery_rate == null
      ? '—'
      : fmtNumber(t.delivery_rate, { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 });
  const today = days ? sum(days.series.slice(-1)) : undefined;
  const month = days ? sum(days.series.filter((p) => Date.parse(p.start) >= monthStart)) : undefined;
  const chart = days?.series.slice(-30) ?? [];
  const labels = chart.map((p) => dayLabel(p.start));

  return (
    <div>
      <h1>{t('nav.overview')}</h1>
      <form class="filters scope" aria-label={t('overview.scope')} onSubmit={(e) => e.preventDefault()}>
        {admin && (
          <UserSelect
            label={t('overview.user')}
            name="user_id"
            value={scope.user_id}
            users={users}
            anyone={t('overview.allUsers')}
            onValue={(user_id) => setScope({ ...scope, user_id })}
          />
        )}
        <label>
          {t('overview.channel')}
          <select
            name="channel_id"
            value={scope.channel_id}
            onChange={(e) => setScope({ ...scope, channel_id: e.currentTarget.value })}
          >
            <option value="">{t('overview.allChannels')}</option>
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
            ['Today', t('overview.today'), today],
            ['This month', t('overview.thisMonth'), month],
          ] as const
        ).map(([id, label, s]) => (
          <section class="card tile-group" aria-label={label} key={id}>
            <h2>{label}</h2>
            <dl class="tiles-inner">
              <div>
                <dt>{t('overview.messages')}</dt>
                <dd data-testid={`${id}-messages`}>{num(s?.messages)}</dd>
              </div>
              <div>
                <dt>{t('overview.delivered')}</dt>
                <dd class="ok">{num(s?.delivered)}</dd>
              </div>
              <div>
                <dt>{t('overview.failed')}</dt>
                <dd class="bad">{num(s?.failed)}</dd>
              </div>
              <div>
                <dt>{t('overview.deliveryRate')}</dt>
                <dd>{rate(s)}</dd>
              </div>
            </dl>
          </section>
        ))}
        <section class="card tile-group" aria-label={t('overview.queue')}>
          <h2>{t('overview.queue')}</h2>
          <dl class="tiles-inner">
            <div>
              <dt>{t('overview.waiting')}</dt>
              <dd data-testid="queue-queued">{num(queue?.queued)}</dd>
            </div>
            <div>
              <dt>{t('overview.sending')}</dt>
              <dd>{num(queue?.sending)}</dd>
            </div>
            <div>
              <dt>{t('overview.scheduled')}</dt>
              <dd>{num(queue?.scheduled)}</dd>
            </div>
          </dl>
        </section>
      </div>

      <div class="grid">
        <Card title={t('overview.last30')} wide>
          <StackedBars
            title={t('overview.chartTitle')}
            labels={labels}
            series={[
              { label: t('overview.delivered'), color: '#1a7f37', values: chart.map((p) => p.delivered) },
              { label: t('overview.failed'), color: '#cf222e', values: chart.map((p) => p.failed) },
              { label: t('overview.pending'), color: '#9a6700', values: chart.map((p) => p.pending) },
            ]}
          />
        </Card>
        <Card
          title={
            days?.series[0]
              ? t('overview.failureReasonsSince', { date: dayLabel(days.series[0].start) })
              : t('overview.failureReasons')
          }
        >
          {days && days.failure_reasons.length === 0 && <p class="muted">{t('overview.noFailures')}</p>}
          <ul class="bars">
            {days?.failure_reasons.map((r) => (
              <li key={r.code}>
                <span class="bar-label">{reason(r)}</span>
                <span
                  class="bar"
                  style={{ inlineSize: `${(r.count / (days.failure_reasons[0]?.count || 1)) * 100}%` }}
                />
                <span class="bar-value">{fmtNumber(r.count)}</span>
              </li>
            ))}
          </ul>
        </Card>
        <Card title={t('nav.channels')}>
          {channels.length === 0 && <p class="muted">{t('overview.noChannels')}</p>}
          <ul class="health">
            {channels.map((c) => (
              <li key={c.id}>
                <span
                  class={`dot dot-${!c.enabled ? 'off' : (c.health?.status ?? c.state)}`}
                  aria-hidden="true"
                />
                <a href="#/channels">{c.name}</a>
                <span class="muted small">
                  {c.enabled ? t(`channelState.${c.health?.status ?? c.state}`) : t('channelState.disabled')}{' '}
                  · {t(`channelType.${c.type}`, { defaultValue: c.type })}
                </span>
                <div class="health-usage">
                  <Progress
                    value={c.used_this_month}
                    max={c.monthly_limit}
                    label={t('overview.usageLabel', { name: c.name })}
                  />
                </div>
              </li>
            ))}
          </ul>
        </Card>
      </div>
    </div>
  );
}
