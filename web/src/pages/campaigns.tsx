/**
 * Campaigns (issue 15): the list with live progress (counts per status, rate, ETA; failed in
 * red), a wizard (audience → message → schedule → cost and confirmation), pause / resume /
 * cancel (cancel confirmed), a campaign's page with its results as CSV and a follow-up to a
 * segment of it. The wizard creates a draft, shows the server's cost of it and starts it only
 * after a confirmation naming the count and the cost.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { Campaign, CampaignCost, Channel, Contact, Group, ImportReport, Template, User } from '../api';
import { api, qs } from '../api';
import type { CampaignStatus as Status } from '../../../src/core/campaign.js';
import { renderText, variablesOf } from '../../../src/core/campaign.js';
import { StackedBars } from '../chart';
import { confirmAction } from '../confirm';
import { fmtDateTime, fmtNumber, ltr, t } from '../i18n';
import { zonedToUtc } from '../numbers';
import { Card, ErrorBox, Ltr, Notice, Outcomes, RowButton, TableHead, statusName, when } from '../ui';
import { ImportResult, UploadBar, importContacts } from './contacts';
import { CheckedFieldset, LOCAL_TZ, WhenField, ZoneSelect, inZone } from '../schedule';
import { TextField } from '../field';

const ACTIVE: ReadonlySet<string> = new Set<Status>(['scheduled', 'running']);
const DELIVERED = ['delivered', 'partially_delivered'];
const FAILED = ['failed', 'undelivered', 'expired', 'rejected'];
/** Messages still on their way, and recipients not yet handed to the queue. */
const ON_THE_WAY = ['pending', 'scheduled', 'queued', 'sending', 'sent'];
const POLL_MS = 2_000;

const sum = (counts: Record<string, number>, keys: string[]) =>
  keys.reduce((n, k) => n + (counts[k] ?? 0), 0);

/** "1 h 5 min", "40 s": an ETA in the page's language. */
function duration(seconds: number): string {
  if (seconds < 60) return t('bulk.campaigns.seconds', { count: Math.max(1, Math.round(seconds)) });
  const min = Math.round(seconds / 60);
  if (min < 60) return t('bulk.campaigns.minutes', { count: min });
  return t('bulk.campaigns.hours', { h: fmtNumber(Math.floor(min / 60)), m: fmtNumber(min % 60) });
}

/** The link back to the list, above a campaign's page and the wizard. */
function BackToList() {
  return (
    <p>
      <a class="back" href="#/campaigns">
        {t('bulk.campaigns.back')}
      </a>
    </p>
  );
}

/** The segment of an earlier campaign a follow-up goes to: its failed, delivered, replied or sent. */
function OutcomeSelect({
  class: cls,
  name,
  value,
  onValue,
}: {
  class?: string;
  name: string;
  value: string;
  onValue: (v: string) => void;
}) {
  return (
    <label class={cls}>
      {t('bulk.campaigns.segment')}
      <select name={name} value={value} onChange={(e) => onValue(e.currentTarget.value)}>
        {['failed', 'delivered', 'replied', 'sent'].map((o) => (
          <option key={o} value={o}>
            {t(`bulk.campaigns.outcome.${o}`)}
          </option>
        ))}
      </select>
    </label>
  );
}

/** The hours a campaign sends in ("09:00–20:00"), or "any time". */
function SendingWindow({ window }: { window: { start: string; end: string } | null | undefined }) {
  if (!window) return <>{t('bulk.campaigns.anyTime')}</>;
  return (
    <Ltr>
      {window.start}–{window.end}
    </Ltr>
  );
}

function CampaignStatus({ status }: { status: string }) {
  const cls =
    status === 'completed'
      ? 'badge-delivered'
      : status === 'canceled'
        ? 'badge-failed'
        : status === 'running'
          ? 'badge-sending'
          : 'badge-scheduled';
  return (
    <span class={`badge ${cls}`} data-testid="campaign-status">
      {t(`bulk.campaigns.status.${status}`, { defaultValue: status })}
    </span>
  );
}

/** Counts per status, the bar (delivered green, failed red), rate and ETA. */
export function CampaignProgress({ c }: { c: Campaign }) {
  const by = c.progress.by_status;
  // The list's own answer has done / total only (no counts per status): a plain bar of that.
  if (c.progress.done > 0 && Object.keys(by).every((k) => k === 'pending'))
    return (
      <div class="batch" data-testid="campaign-progress">
        <div
          class="progress"
          role="progressbar"
          aria-label={t('bulk.campaigns.progressLabel', { name: c.name })}
          aria-valuemin={0}
          aria-valuemax={c.progress.total}
          aria-valuenow={c.progress.done}
        >
          <div
            class="progress-bar"
            style={{ inlineSize: `${c.progress.total ? (100 * c.progress.done) / c.progress.total : 0}%` }}
          />
        </div>
        <p class="small">
          {t('bulk.campaigns.done', { done: fmtNumber(c.progress.done), count: c.progress.total })}
        </p>
      </div>
    );
  const delivered = sum(by, DELIVERED);
  const failed = sum(by, FAILED);
  const canceled = sum(by, ['canceled', 'skipped']);
  const onTheWay = sum(by, ON_THE_WAY);
  return (
    <div class="batch" data-testid="campaign-progress">
      <Outcomes
        delivered={delivered}
        failed={failed}
        canceled={canceled}
        total={c.progress.total || 1}
        label={t('bulk.campaigns.progressLabel', { name: c.name })}
      />
      <p class="small" aria-live="polite">
        <span data-testid="count-done">
          {t('bulk.campaigns.done', { done: fmtNumber(c.progress.done), count: c.progress.total })}
        </span>{' '}
        · <span class="ok">{t('bulk.campaigns.delivered', { n: fmtNumber(delivered) })}</span> ·{' '}
        <span class={failed > 0 ? 'bad' : ''} data-testid="count-failed">
          {t('bulk.campaigns.failed', { n: fmtNumber(failed) })}
        </span>{' '}
        · {t('bulk.campaigns.onTheWay', { n: fmtNumber(onTheWay) })}
        {canceled > 0 && <> · {t('bulk.campaigns.skipped', { n: fmtNumber(canceled) })}</>}
        {c.progress.rate > 0 && (
          <>
            {' '}
            · {t('bulk.campaigns.rate', { rate: fmtNumber(c.progress.rate, { maximumFractionDigits: 1 }) })}
          </>
        )}
        {c.progress.eta_seconds !== null && (
          <span data-testid="eta">
            {' '}
            · {t('bulk.campaigns.eta', { left: duration(c.progress.eta_seconds) })}
          </span>
        )}
      </p>
    </div>
  );
}

/** The cost sentence of a confirmation: recipients, segments, credits (and what has no price). */
function costLine(cost: CampaignCost): string {
  const parts = [
    t('bulk.campaigns.costSegments', {
      count: cost.recipients,
      segments: fmtNumber(cost.segments),
    }),
    t('bulk.campaigns.costCredits', { cost: fmtNumber(cost.cost) }),
  ];
  if (cost.unpriced > 0) parts.push(t('bulk.campaigns.unpriced', { count: cost.unpriced }));
  if (cost.mode === 'prepaid') parts.push(t('bulk.campaigns.balance', { balance: fmtNumber(cost.balance) }));
  return parts.join(' ');
}

/** Starts a draft after a confirmation that names the count and the cost. */
async function startDraft(c: Campaign, scheduleNote?: string): Promise<Campaign | null> {
  const cost = await api<CampaignCost>('GET', `/v1/campaigns/${encodeURIComponent(c.id)}/estimate`);
  const ok = await confirmAction({
    title: t('bulk.campaigns.confirmStart', { count: cost.recipients, name: c.name }),
    body: [costLine(cost), scheduleNote].filter(Boolean).join(' '),
    action: t('bulk.campaigns.startTo', { count: cost.recipients }),
  });
  if (!ok) return null;
  return api<Campaign>('POST', `/v1/campaigns/${encodeURIComponent(c.id)}/start`);
}

/** Pause / resume / start / cancel of one campaign (cancel and start ask first). */
function Actions({
  c,
  onChange,
  onError,
}: {
  c: Campaign;
  onChange: () => void;
  onError: (e: unknown) => void;
}) {
  const act = async (action: 'pause' | 'resume' | 'cancel' | 'start') => {
    try {
      if (action === 'start') {
        if (!(await startDraft(c))) return;
      } else {
        if (action === 'cancel') {
          const left = c.progress.total - c.progress.done;
          const ok = await confirmAction({
            title: t('bulk.campaigns.confirmCancel', { name: c.name }),
            body: t('bulk.campaigns.confirmCancelBody', { count: left }),
            action: t('bulk.campaigns.cancel'),
            danger: true,
          });
          if (!ok) return;
        }
        await api('POST', `/v1/campaigns/${encodeURIComponent(c.id)}/${action}`);
      }
      onChange();
    } catch (err) {
      onError(err);
    }
  };
  const st = c.status;
  return (
    <div class="actions">
      {st === 'draft' && (
        <RowButton primary label={t('bulk.campaigns.start')} row={c.name} onClick={() => act('start')} />
      )}
      {(st === 'running' || st === 'scheduled') && (
        <RowButton label={t('bulk.campaigns.pause')} row={c.name} onClick={() => act('pause')} />
      )}
      {st === 'paused' && (
        <RowButton label={t('bulk.campaigns.resume')} row={c.name} onClick={() => act('resume')} />
      )}
      {st !== 'completed' && st !== 'canceled' && (
        <RowButton label={t('bulk.campaigns.cancel')} row={c.name} onClick={() => act('cancel')} />
      )}
    </div>
  );
}

/**
 * Reads a campaign again while it is scheduled or running: every two seconds, or ten times as
 * long as the last answer took when that is more, so a page left open on a big campaign (its
 * counts are a join over all its recipients: see `npm run bench:campaign-reads`) keeps the
 * gateway busy a tenth of the time at most.
 */
function useLive<T extends { status: string }>(
  load: () => Promise<T>,
  deps: unknown[],
  active: (v: T) => boolean,
) {
  const [value, setValue] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      const started = performance.now();
      try {
        const v = await load();
        if (stopped) return;
        setValue(v);
        setError(null);
        if (active(v)) timer = setTimeout(poll, Math.max(POLL_MS, (performance.now() - started) * 10));
      } catch (err) {
        if (!stopped) setError(err);
      }
    };
    void poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [...deps, tick]);
  return { value, error, setError, reload: () => setTick((n) => n + 1) };
}

export function Campaigns({ user, id }: { user: User; id?: string | undefined }) {
  if (id === 'new') return <Wizard user={user} />;
  if (id) return <CampaignPage id={id} />;
  return <CampaignList user={user} />;
}

/** Campaigns that will not change any more, read once with their counts (by id). */
const finalViews = new Map<string, Campaign>();
const FINAL: ReadonlySet<string> = new Set<Status>(['completed', 'canceled']);

function CampaignList({ user }: { user: User }) {
  // Admins see every account's campaigns: each names its owner.
  const [owners, setOwners] = useState<Map<string, string>>(new Map());
  useEffect(() => {
    if (user.role !== 'admin') return;
    api<{ data: User[] }>('GET', '/v1/users').then(
      (r) => setOwners(new Map(r.data.map((u) => [u.id, u.login]))),
      () => undefined,
    );
  }, [user]);
  const live = useLive(
    async () => {
      const list = await api<{ data: Campaign[] }>('GET', '/v1/campaigns?limit=50');
      // Counts per status are on a campaign's own answer: read them for the ones still moving
      // and the newest others (the list answer carries done / total only).
      const detailed = await Promise.all(
        list.data.map(async (c, i) => {
          const known = finalViews.get(c.id);
          if (known && known.status === c.status) return known;
          if (!(ACTIVE.has(c.status) || c.status === 'paused' || i < 10)) return c;
          const v = await api<Campaign>('GET', `/v1/campaigns/${encodeURIComponent(c.id)}`).catch(() => c);
          // Delivery reports still come after completion: a final campaign is kept once nothing
          // of it is on the way.
          if (FINAL.has(v.status) && sum(v.progress.by_status, ON_THE_WAY) === 0) finalViews.set(v.id, v);
          return v;
        }),
      );
      return { status: detailed.some((c) => ACTIVE.has(c.status)) ? 'running' : 'idle', data: detailed };
    },
    [],
    (v) => v.status === 'running',
  );
  const rows = live.value?.data;
  return (
    <div>
      <h1>{t('bulk.campaigns.title')}</h1>
      <p>
        <a class="button button-primary" href="#/campaigns/new">
          {t('bulk.campaigns.new')}
        </a>
      </p>
      <Card title={t('bulk.campaigns.listTitle')} wide>
        <div class="table-wrap">
          <table class="cards" data-testid="campaigns-table">
            <TableHead
              columns={[t('bulk.campaigns.name'), t('common.status'), t('bulk.campaigns.progress'), '']}
            />
            <tbody>
              {rows?.map((c) => (
                <tr key={c.id} data-testid={`campaign-${c.id}`}>
                  <td class="text-cell" data-label={t('bulk.campaigns.name')}>
                    <a href={`#/campaigns/${encodeURIComponent(c.id)}`}>
                      <bdi>{c.name}</bdi>
                    </a>
                    {c.status === 'scheduled' && c.send_at && (
                      <div class="small">
                        {t('bulk.campaigns.scheduledFor', { when: inZone(new Date(c.send_at), c.time_zone) })}
                      </div>
                    )}
                    <div class="muted small">
                      {when(c.created_at)}
                      {c.owner_id !== user.id && <> · {owners.get(c.owner_id) ?? c.owner_id}</>}
                    </div>
                  </td>
                  <td data-label={t('common.status')}>
                    <CampaignStatus status={c.status} />
                  </td>
                  <td class="wide-cell" data-label={t('bulk.campaigns.progress')}>
                    <CampaignProgress c={c} />
                  </td>
                  <td>
                    <Actions c={c} onChange={live.reload} onError={live.setError} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {rows && rows.length === 0 && <p class="muted">{t('bulk.campaigns.empty')}</p>}
        <ErrorBox error={live.error} />
      </Card>
    </div>
  );
}

interface StatsPoint {
  start: string;
  delivered: number;
  failed: number;
  pending: number;
}

/**
 * The campaign's messages over time (by the hour they were made, by the day past three days):
 * delivered, failed and still on the way, from /v1/stats narrowed to the campaign (its messages
 * carry its id as their batch). Read again as the campaign moves.
 */
function CampaignChart({ c }: { c: Campaign }) {
  const [points, setPoints] = useState<StatsPoint[] | null>(null);
  const first = c.started_at ?? c.created_at;
  const done = c.progress.done;
  useEffect(() => {
    if (!first) return;
    const since = Math.floor(Date.parse(first) / 3_600_000) * 3_600_000;
    const until = c.finished_at ? Date.parse(c.finished_at) + 1 : Date.now();
    const bucket = until - since > 3 * 86_400_000 ? 'day' : 'hour';
    api<{ series: StatsPoint[] }>(
      'GET',
      `/v1/stats${qs({
        since: new Date(since).toISOString(),
        until: new Date(Math.max(until, since + 1)).toISOString(),
        bucket,
        batch_id: c.id,
      })}`,
    ).then(
      (r) => setPoints(r.series),
      () => setPoints(null),
    );
  }, [c.id, first, done, c.status, c.finished_at]);
  if (!points || points.length === 0) return null;
  const daily =
    points.length > 1 && Date.parse(points[1]!.start) - Date.parse(points[0]!.start) >= 86_400_000;
  return (
    <Card title={t('bulk.campaigns.overTime')} wide>
      <StackedBars
        title={t('bulk.campaigns.overTime')}
        labels={points.map((p) =>
          fmtDateTime(p.start, daily ? { dateStyle: 'short' } : { dateStyle: 'short', timeStyle: 'short' }),
        )}
        series={[
          { label: statusName('delivered'), color: '#1a7f37', values: points.map((p) => p.delivered) },
          { label: statusName('failed'), color: '#cf222e', values: points.map((p) => p.failed) },
          {
            label: t('bulk.campaigns.onTheWayLabel'),
            color: '#9a6700',
            values: points.map((p) => p.pending),
          },
        ]}
      />
    </Card>
  );
}

function CampaignPage({ id }: { id: string }) {
  const live = useLive(
    () => api<Campaign>('GET', `/v1/campaigns/${encodeURIComponent(id)}`),
    [id],
    (c) => ACTIVE.has(c.status),
  );
  const c = live.value;
  if (!c)
    return (
      <div>
        <BackToList />
        {live.error ? <ErrorBox error={live.error} /> : <p class="loading">{t('common.loading')}</p>}
      </div>
    );
  const by = Object.entries(c.progress.by_status).sort((a, b) => b[1] - a[1]);
  const audience = c.audience as {
    type: string;
    group_ids?: string[];
    campaign_id?: string;
    outcome?: string;
  };
  return (
    <div>
      <BackToList />
      <h1>
        <bdi>{c.name}</bdi> <CampaignStatus status={c.status} />
      </h1>
      <Card title={t('bulk.campaigns.progress')} wide>
        <CampaignProgress c={c} />
        <div class="table-wrap">
          <table class="cards" data-testid="by-status">
            <TableHead columns={[t('common.status'), t('bulk.campaigns.count')]} />
            <tbody>
              {by.map(([s, n]) => (
                <tr key={s}>
                  <td data-label={t('common.status')}>
                    <span class={`badge badge-${s}`}>
                      {s === 'pending' || s === 'skipped'
                        ? t(`bulk.campaigns.recipient.${s}`)
                        : statusName(s)}
                    </span>
                  </td>
                  <td data-label={t('bulk.campaigns.count')}>{fmtNumber(n)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <Actions c={c} onChange={live.reload} onError={live.setError} />
        <ErrorBox error={live.error} />
      </Card>
      {c.started_at && <CampaignChart c={c} />}
      <div class="grid">
        <Card title={t('bulk.campaigns.details')}>
          <dl class="details">
            <dt>{t('bulk.campaigns.text')}</dt>
            <dd class="text-cell">
              <bdi>{c.text}</bdi>
            </dd>
            <dt>{t('bulk.campaigns.audience')}</dt>
            <dd>{t(`bulk.campaigns.audienceType.${audience.type}`, { defaultValue: audience.type })}</dd>
            <dt>{t('bulk.campaigns.sender')}</dt>
            <dd>{c.from ? <Ltr>{c.from}</Ltr> : '—'}</dd>
            <dt>{t('bulk.campaigns.sendAt')}</dt>
            <dd data-testid="campaign-zone">
              {c.send_at ? inZone(new Date(c.send_at), c.time_zone) : t('bulk.campaigns.atOnce')}
            </dd>
            <dt>{t('bulk.campaigns.window')}</dt>
            <dd>
              <SendingWindow window={c.window} />
            </dd>
            <dt>{t('bulk.campaigns.rateCap')}</dt>
            <dd>{t('bulk.campaigns.perSecond', { rate: fmtNumber(c.rate_limit) })}</dd>
            {c.recurrence && (
              <>
                <dt>{t('bulk.campaigns.recurrence')}</dt>
                <dd>
                  <Ltr>{c.recurrence.cron}</Ltr> ({c.time_zone}) · {when(c.recurrence.next_at)}
                </dd>
              </>
            )}
            <dt>{t('bulk.campaigns.started')}</dt>
            <dd>{when(c.started_at)}</dd>
            <dt>{t('bulk.campaigns.finished')}</dt>
            <dd>{when(c.finished_at)}</dd>
          </dl>
        </Card>
        <Card title={t('bulk.campaigns.results')}>
          <p class="muted small">{t('bulk.campaigns.resultsHint')}</p>
          <div class="actions">
            {(['success', 'failure', 'all'] as const).map((o) => (
              <a
                key={o}
                class="button"
                href={`/v1/campaigns/${encodeURIComponent(c.id)}/results.csv${qs({ outcome: o })}`}
                download
              >
                {t(`bulk.campaigns.export.${o}`)}
              </a>
            ))}
          </div>
        </Card>
        <FollowUp c={c} />
      </div>
    </div>
  );
}

/** A follow-up campaign to a segment of this one (delivered, failed, replied, sent). */
function FollowUp({ c }: { c: Campaign }) {
  const [outcome, setOutcome] = useState('failed');
  const [text, setText] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      const draft = await api<Campaign>('POST', '/v1/campaigns', {
        name: t('bulk.campaigns.followUpName', { name: c.name }),
        text,
        ...(c.from ? { from: c.from } : {}),
        audience: { follow_up: { campaign_id: c.id, outcome } },
        rate: c.rate_limit,
        time_zone: c.time_zone,
        draft: true,
      });
      const started = await startDraft(draft);
      location.hash = `#/campaigns/${encodeURIComponent((started ?? draft).id)}`;
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Card title={t('bulk.campaigns.followUp')}>
      <form class="form-grid" onSubmit={submit} aria-label={t('bulk.campaigns.followUp')}>
        <OutcomeSelect class="span2" name="follow-outcome" value={outcome} onValue={setOutcome} />
        <label class="span2">
          {t('bulk.campaigns.text')}
          <textarea
            name="follow-text"
            rows={3}
            required
            value={text}
            onInput={(e) => setText(e.currentTarget.value)}
          />
        </label>
        <div class="span2">
          <button type="submit" class="primary" disabled={busy}>
            {t('bulk.campaigns.followUpCreate')}
          </button>
        </div>
      </form>
      <ErrorBox error={error} />
    </Card>
  );
}

type AudienceKind = 'groups' | 'file' | 'segment';
const STEPS = ['audience', 'message', 'schedule', 'review'] as const;
type Step = (typeof STEPS)[number];

interface Preview {
  encoding: string;
  segments: number;
  length: number;
}

function Wizard({ user }: { user: User }) {
  const [step, setStep] = useState<Step>('audience');
  const [error, setError] = useState<unknown>(null);
  // Audience
  const [kind, setKind] = useState<AudienceKind>('groups');
  const [groups, setGroups] = useState<Group[]>([]);
  const [groupIds, setGroupIds] = useState<string[]>([]);
  const [imported, setImported] = useState<ImportReport | null>(null);
  const [uploadPct, setUploadPct] = useState<number | null>(null);
  const [earlier, setEarlier] = useState<Campaign[]>([]);
  const [source, setSource] = useState('');
  const [outcome, setOutcome] = useState('failed');
  const [sample, setSample] = useState<Contact | null>(null);
  // Message
  const [name, setName] = useState('');
  const [useTemplate, setUseTemplate] = useState(false);
  const [templates, setTemplates] = useState<Template[]>([]);
  const [templateId, setTemplateId] = useState('');
  const [text, setText] = useState('');
  const [from, setFrom] = useState('');
  const [channels, setChannels] = useState<Channel[]>([]);
  const [channelId, setChannelId] = useState('');
  const [preview, setPreview] = useState<Preview | null>(null);
  // Schedule
  const [later, setLater] = useState(false);
  const [date, setDate] = useState('');
  const [time, setTime] = useState('');
  const [tz, setTz] = useState(LOCAL_TZ);
  const [windowOn, setWindowOn] = useState(false);
  const [winStart, setWinStart] = useState('09:00');
  const [winEnd, setWinEnd] = useState('20:00');
  const [rate, setRate] = useState('50');
  const [cron, setCron] = useState('');
  // Review
  const [draft, setDraft] = useState<Campaign | null>(null);
  const [cost, setCost] = useState<CampaignCost | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    api<{ data: Group[] }>('GET', '/v1/groups').then((r) => setGroups(r.data), setError);
    api<{ data: Campaign[] }>('GET', '/v1/campaigns?limit=50').then(
      // Only the user's own: a follow-up reads the segment of a campaign of the same account.
      (r) => setEarlier(r.data.filter((c) => c.status !== 'draft' && c.owner_id === user.id)),
      setError,
    );
    api<{ data: Channel[] }>('GET', '/v1/channels').then(
      (r) => setChannels(r.data.filter((c) => c.enabled && (c.owner_id === null || c.owner_id === user.id))),
      () => setChannels([]),
    );
    api<{ data: Template[] }>('GET', '/v1/templates?status=approved').then(
      (r) => setTemplates(r.data.filter((x) => x.owner_id === user.id)),
      () => setTemplates([]),
    );
  }, [user]);

  const audienceGroups = kind === 'file' ? (imported?.group_id ? [imported.group_id] : []) : groupIds;
  // A recipient for the preview: the first member of the chosen groups.
  useEffect(() => {
    const g = audienceGroups[0];
    if (!g) {
      setSample(null);
      return;
    }
    api<{ data: Contact[] }>('GET', `/v1/contacts${qs({ group_id: g, limit: 1 })}`).then(
      (r) => setSample(r.data[0] ?? null),
      () => setSample(null),
    );
  }, [audienceGroups.join()]);

  const template = templates.find((x) => x.id === templateId);
  const body = useTemplate ? (template?.text ?? '') : text;
  const values: Record<string, string> = sample
    ? { ...sample.fields, number: sample.number, ...(sample.name ? { name: sample.name } : {}) }
    : {};
  const rendered = useMemo(() => renderText(body, values), [body, sample]);
  useEffect(() => {
    if (!rendered.text) {
      setPreview(null);
      return;
    }
    const timer = setTimeout(() => {
      api<Preview>('POST', '/v1/messages/preview', { text: rendered.text }).then(setPreview, () =>
        setPreview(null),
      );
    }, 150);
    return () => clearTimeout(timer);
  }, [rendered.text]);

  const onFile = async (e: Event) => {
    const input = e.currentTarget as HTMLInputElement;
    const file = input.files?.[0];
    if (!file) return;
    setImported(null);
    setUploadPct(0);
    try {
      // The file goes into the address book, in a group of its name: the campaign sends to that
      // group, its columns become {variables}, and the refused rows are reported here.
      setImported(await importContacts(file, file.name.replace(/\.[^.]+$/, ''), setUploadPct));
      setError(null);
    } catch (err) {
      setError(err);
    } finally {
      setUploadPct(null);
      input.value = '';
    }
  };

  const audienceBody = () => {
    if (kind === 'segment') return { follow_up: { campaign_id: source, outcome } };
    return { group_ids: audienceGroups };
  };
  const audienceReady = kind === 'segment' ? Boolean(source) : audienceGroups.length > 0;
  const sendAt = later && date && time ? zonedToUtc(date, time, tz) : null;

  const discardDraft = async () => {
    if (!draft) return;
    // A draft made for a review that was left: canceled, so it does not linger in the list.
    await api('POST', `/v1/campaigns/${encodeURIComponent(draft.id)}/cancel`).catch(() => undefined);
    setDraft(null);
    setCost(null);
  };

  const go = async (to: Step) => {
    setError(null);
    if (step === 'review' && to !== 'review') await discardDraft();
    if (to === 'review') {
      setBusy(true);
      try {
        const made = await api<Campaign>('POST', '/v1/campaigns', {
          ...(name.trim() ? { name: name.trim() } : {}),
          ...(useTemplate ? { template_id: templateId } : { text }),
          ...(from.trim() ? { from: from.trim() } : {}),
          ...(channelId ? { channel_id: channelId } : {}),
          audience: audienceBody(),
          ...(sendAt ? { send_at: sendAt.toISOString() } : {}),
          time_zone: tz,
          ...(windowOn ? { window: { start: winStart, end: winEnd } } : {}),
          rate: Number(rate),
          ...(cron.trim() ? { recurrence: { cron: cron.trim() } } : {}),
          draft: true,
        });
        setDraft(made);
        setCost(await api<CampaignCost>('GET', `/v1/campaigns/${encodeURIComponent(made.id)}/estimate`));
      } catch (err) {
        setError(err);
        setBusy(false);
        return;
      }
      setBusy(false);
    }
    setStep(to);
  };

  const start = async () => {
    if (!draft) return;
    setBusy(true);
    try {
      const started = await startDraft(
        draft,
        sendAt ? t('bulk.campaigns.scheduledFor', { when: inZone(sendAt, tz) }) : undefined,
      );
      if (started) location.hash = `#/campaigns/${encodeURIComponent(started.id)}`;
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const idx = STEPS.indexOf(step);
  const next = STEPS[idx + 1];
  const prev = STEPS[idx - 1];
  const canNext =
    step === 'audience'
      ? audienceReady
      : step === 'message'
        ? useTemplate
          ? Boolean(templateId)
          : text.trim().length > 0
        : step === 'schedule'
          ? !later || Boolean(date && time)
          : false;

  return (
    <div>
      <BackToList />
      <h1>{t('bulk.campaigns.new')}</h1>
      <ol class="steps" aria-label={t('bulk.campaigns.steps')}>
        {STEPS.map((s, i) => (
          <li key={s} aria-current={s === step ? 'step' : undefined}>
            {fmtNumber(i + 1)}. {t(`bulk.campaigns.step.${s}`)}
          </li>
        ))}
      </ol>
      <section class="card" aria-label={t(`bulk.campaigns.step.${step}`)} data-testid={`step-${step}`}>
        <h2>{t(`bulk.campaigns.step.${step}`)}</h2>
        {step === 'audience' && (
          <div class="form-grid">
            <fieldset class="span2">
              <legend>{t('bulk.campaigns.audienceIs')}</legend>
              {(['groups', 'file', 'segment'] as const).map((k) => (
                <label class="inline" key={k}>
                  <input type="radio" name="audience-kind" checked={kind === k} onChange={() => setKind(k)} />
                  {t(`bulk.campaigns.audienceKind.${k}`)}
                </label>
              ))}
            </fieldset>
            {kind === 'groups' && (
              <fieldset class="span2">
                <legend>{t('bulk.campaigns.pickGroups')}</legend>
                {groups.map((g) => (
                  <label class="inline" key={g.id}>
                    <input
                      type="checkbox"
                      name="audience-group"
                      value={g.id}
                      checked={groupIds.includes(g.id)}
                      onChange={(e) =>
                        setGroupIds(
                          e.currentTarget.checked ? [...groupIds, g.id] : groupIds.filter((x) => x !== g.id),
                        )
                      }
                    />
                    <bdi>{g.name}</bdi>{' '}
                    <span class="muted small">({t('bulk.contacts.members', { count: g.members ?? 0 })})</span>
                  </label>
                ))}
                {groups.length === 0 && (
                  <p class="muted">
                    {t('bulk.campaigns.noGroups')} <a href="#/contacts">{t('bulk.contacts.title')}</a>
                  </p>
                )}
              </fieldset>
            )}
            {kind === 'file' && (
              <div class="span2">
                <p class="muted small">{t('bulk.campaigns.fileHint')}</p>
                <label class="button">
                  {t('bulk.campaigns.chooseFile')}
                  <input
                    type="file"
                    class="sr-only"
                    name="audience-file"
                    accept=".csv,.txt,text/csv,text/plain"
                    disabled={uploadPct !== null}
                    onChange={onFile}
                  />
                </label>
                {uploadPct !== null && <UploadBar pct={uploadPct} label={t('bulk.contacts.importing')} />}
                {imported && <ImportResult report={imported} />}
              </div>
            )}
            {kind === 'segment' && (
              <>
                <label>
                  {t('bulk.campaigns.earlier')}
                  <select
                    name="segment-campaign"
                    value={source}
                    onChange={(e) => setSource(e.currentTarget.value)}
                  >
                    <option value="">—</option>
                    {earlier.map((c) => (
                      <option key={c.id} value={c.id}>
                        {c.name}
                      </option>
                    ))}
                  </select>
                </label>
                <OutcomeSelect name="segment-outcome" value={outcome} onValue={setOutcome} />
              </>
            )}
          </div>
        )}
        {step === 'message' && (
          <div class="form-grid">
            <TextField
              class="span2"
              label={t('bulk.campaigns.name')}
              hint={t('common.optional')}
              name="campaign-name"
              maxLength={200}
              value={name}
              onValue={setName}
            />
            <fieldset class="span2">
              <legend>{t('bulk.campaigns.messageIs')}</legend>
              <label class="inline">
                <input
                  type="radio"
                  name="message-kind"
                  checked={!useTemplate}
                  onChange={() => setUseTemplate(false)}
                />
                {t('bulk.campaigns.ownText')}
              </label>
              <label class="inline">
                <input
                  type="radio"
                  name="message-kind"
                  checked={useTemplate}
                  disabled={templates.length === 0}
                  onChange={() => setUseTemplate(true)}
                />
                {t('bulk.campaigns.approvedTemplate')}
                {templates.length === 0 && (
                  <span class="muted small"> ({t('bulk.campaigns.noTemplates')})</span>
                )}
              </label>
            </fieldset>
            {useTemplate ? (
              <label class="span2">
                {t('bulk.campaigns.template')}
                <select
                  name="template"
                  value={templateId}
                  onChange={(e) => setTemplateId(e.currentTarget.value)}
                >
                  <option value="">—</option>
                  {templates.map((x) => (
                    <option key={x.id} value={x.id}>
                      {x.name ?? x.text.slice(0, 40)}
                    </option>
                  ))}
                </select>
              </label>
            ) : (
              <label class="span2">
                {t('bulk.campaigns.text')}{' '}
                <span class="muted small">({t('bulk.campaigns.variablesHint')})</span>
                <textarea
                  name="campaign-text"
                  rows={4}
                  maxLength={20000}
                  value={text}
                  onInput={(e) => setText(e.currentTarget.value)}
                />
              </label>
            )}
            <TextField
              label={t('bulk.campaigns.sender')}
              hint={t('common.optional')}
              name="campaign-from"
              dir="ltr"
              maxLength={16}
              value={from}
              onValue={setFrom}
            />
            <label>
              {t('send.channel')}
              <select
                name="campaign-channel"
                value={channelId}
                onChange={(e) => setChannelId(e.currentTarget.value)}
              >
                <option value="">{t('send.automatic')}</option>
                {channels.map((ch) => (
                  <option key={ch.id} value={ch.id}>
                    {ch.name} ({t(`channelType.${ch.type}`, { defaultValue: ch.type })})
                  </option>
                ))}
              </select>
            </label>
            <div class="span2 counter" aria-live="polite" data-testid="campaign-preview">
              {variablesOf(body).length > 0 && (
                <p class="small">
                  {t('bulk.campaigns.variables')}{' '}
                  <Ltr>
                    {variablesOf(body)
                      .map((v) => `{${v}}`)
                      .join(' ')}
                  </Ltr>
                </p>
              )}
              {preview ? (
                <>
                  <p class="small">
                    <strong>{preview.encoding === 'ucs2' ? 'UCS-2' : 'GSM-7'}</strong> ·{' '}
                    {t('send.characters', { count: preview.length })} ·{' '}
                    <strong>{t('send.segments', { count: preview.segments })}</strong>
                  </p>
                  {sample && (
                    <p class="small">
                      {t('bulk.campaigns.previewFor', { number: ltr(sample.number) })}{' '}
                      <bdi class="text-cell">{rendered.text}</bdi>
                    </p>
                  )}
                  {rendered.missing.length > 0 && sample && (
                    <p class="small warn">
                      {t('bulk.campaigns.missing', { names: rendered.missing.join(', ') })}
                    </p>
                  )}
                </>
              ) : (
                <span class="muted">{t('send.typeText')}</span>
              )}
            </div>
          </div>
        )}
        {step === 'schedule' && (
          <div class="form-grid">
            <fieldset class="span2">
              <legend>{t('bulk.campaigns.when')}</legend>
              <label class="inline">
                <input type="radio" name="when" checked={!later} onChange={() => setLater(false)} />
                {t('bulk.campaigns.atOnce')}
              </label>
              <label class="inline">
                <input type="radio" name="when" checked={later} onChange={() => setLater(true)} />
                {t('bulk.campaigns.later')}
              </label>
              {later && (
                <>
                  <WhenField
                    label={t('send.date')}
                    type="date"
                    name="campaign-date"
                    value={date}
                    onValue={setDate}
                  />
                  <WhenField
                    label={t('send.time')}
                    type="time"
                    name="campaign-time"
                    value={time}
                    onValue={setTime}
                  />
                </>
              )}
              <ZoneSelect name="campaign-tz" value={tz} onValue={setTz} />
              <p class="span2 muted small" data-testid="zone-echo">
                {sendAt
                  ? t('bulk.campaigns.scheduledFor', { when: inZone(sendAt, tz) })
                  : t('bulk.campaigns.zoneIs', { zone: tz })}
              </p>
            </fieldset>
            <CheckedFieldset
              class="span2"
              name="window-on"
              label={t('bulk.campaigns.window')}
              checked={windowOn}
              onToggle={setWindowOn}
            >
              <WhenField
                label={t('bulk.campaigns.from')}
                type="time"
                name="window-start"
                value={winStart}
                onValue={setWinStart}
              />
              <WhenField
                label={t('bulk.campaigns.to')}
                type="time"
                name="window-end"
                value={winEnd}
                onValue={setWinEnd}
              />
              <p class="span2 muted small">{t('bulk.campaigns.windowHint')}</p>
            </CheckedFieldset>
            <TextField
              label={t('bulk.campaigns.rateCap')}
              name="campaign-rate"
              type="number"
              min={0.1}
              max={100000}
              step="any"
              required
              value={rate}
              onValue={setRate}
            />
            <TextField
              label={t('bulk.campaigns.recurrence')}
              hint={t('common.optional')}
              name="campaign-cron"
              dir="ltr"
              maxLength={100}
              placeholder="0 9 1 * *"
              value={cron}
              onValue={setCron}
            >
              <span class="muted small">{t('bulk.campaigns.cronHint')}</span>
            </TextField>
          </div>
        )}
        {step === 'review' && draft && cost && (
          <div data-testid="review">
            <dl class="details">
              <dt>{t('bulk.campaigns.recipients')}</dt>
              <dd data-testid="review-recipients">{fmtNumber(cost.recipients)}</dd>
              <dt>{t('bulk.campaigns.segmentsTotal')}</dt>
              <dd>
                {fmtNumber(cost.segments)} ({t('send.segments', { count: cost.segments_per_message })} ×{' '}
                {fmtNumber(cost.recipients)})
              </dd>
              <dt>{t('bulk.campaigns.cost')}</dt>
              <dd data-testid="review-cost">{t('bulk.campaigns.credits', { cost: fmtNumber(cost.cost) })}</dd>
              {cost.unpriced > 0 && (
                <>
                  <dt>{t('bulk.campaigns.noPrice')}</dt>
                  <dd class="warn">{fmtNumber(cost.unpriced)}</dd>
                </>
              )}
              {cost.mode === 'prepaid' && (
                <>
                  <dt>{t('bulk.campaigns.balanceIs')}</dt>
                  <dd class={cost.balance < cost.cost ? 'bad' : ''}>{fmtNumber(cost.balance)}</dd>
                </>
              )}
              <dt>{t('bulk.campaigns.sendAt')}</dt>
              <dd>{sendAt ? inZone(sendAt, tz) : t('bulk.campaigns.atOnce')}</dd>
              <dt>{t('bulk.campaigns.window')}</dt>
              <dd>
                <SendingWindow window={windowOn ? { start: winStart, end: winEnd } : null} />
              </dd>
              <dt>{t('bulk.campaigns.rateCap')}</dt>
              <dd>{t('bulk.campaigns.perSecond', { rate: fmtNumber(Number(rate)) })}</dd>
            </dl>
            {cost.recipients === 0 && !cron.trim() && <Notice>{t('bulk.campaigns.nobody')}</Notice>}
          </div>
        )}
        <ErrorBox error={error} />
        <div class="actions form-submit">
          {prev && (
            <button type="button" disabled={busy} onClick={() => go(prev)}>
              {t('bulk.campaigns.previous')}
            </button>
          )}
          {next && (
            <button type="button" class="primary" disabled={!canNext || busy} onClick={() => go(next)}>
              {next === 'review' ? t('bulk.campaigns.toReview') : t('bulk.campaigns.next')}
            </button>
          )}
          {step === 'review' && (
            <button
              type="button"
              class="primary"
              disabled={busy || !draft || (cost?.recipients === 0 && !cron.trim())}
              onClick={start}
            >
              {t('bulk.campaigns.startTo', { count: cost?.recipients ?? 0 })}
            </button>
          )}
        </div>
      </section>
    </div>
  );
}
