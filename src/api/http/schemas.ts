/**
 * Response schemas of the v1 API (issue 18 item 4): the shapes views.ts produces, as TypeBox, so
 * the OpenAPI document describes what clients receive and the dashboard can derive its types
 * (`Static<typeof MessageView>`). Times are ISO strings or null (views.ts `iso`).
 */
import { Type } from 'typebox';
import type { Static, TSchema } from 'typebox';
import type { MessageStatus } from '../../core/message.js';
import { MESSAGE_STATUSES } from '../../core/message.js';
import { CAMPAIGN_STATUSES } from '../../core/campaign.js';
import type { CampaignStatus } from '../../core/campaign.js';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Time = Nullable(Type.String({ format: 'date-time' }));

/** An object whose listed properties are documented and which may carry more. */
export const Open = <P extends Record<string, TSchema>>(props: P, description?: string) =>
  Type.Object(props, { additionalProperties: true, ...(description ? { description } : {}) });

export const MessageView = Type.Object({
  id: Type.String(),
  batch_id: Type.String(),
  to: Type.String({ description: 'E.164' }),
  from: Nullable(Type.String()),
  text: Type.String(),
  encoding: Type.String({ description: 'gsm7 or ucs2' }),
  segments: Type.Integer(),
  flash: Type.Boolean(),
  replace_id: Nullable(Type.Integer()),
  validity: Nullable(Type.Integer({ description: 'Minutes' })),
  delivery_report: Type.Boolean(),
  status: Type.Unsafe<MessageStatus>({ type: 'string', enum: [...MESSAGE_STATUSES] }),
  final: Type.Boolean({ description: 'Nothing will change this message any more.' }),
  error: Nullable(Type.Object({ code: Type.String(), message: Nullable(Type.String()) })),
  attempts: Nullable(Type.Integer()),
  max_attempts: Nullable(Type.Integer()),
  channel_id: Nullable(Type.String()),
  pinned_channel_id: Nullable(Type.String()),
  client_ref: Nullable(Type.String()),
  callback_url: Nullable(Type.String()),
  send_at: Time,
  expires_at: Time,
  created_at: Time,
  updated_at: Time,
  sent_at: Time,
  final_at: Time,
});
export type MessageView = Static<typeof MessageView>;

export const EventView = Type.Object({
  id: Type.Union([Type.Integer(), Type.String()]),
  status: Type.String(),
  error_code: Nullable(Type.String()),
  detail: Nullable(Type.String()),
  channel_id: Nullable(Type.String()),
  at: Time,
});

export const PartView = Type.Object({
  seq: Type.Integer(),
  remote_id: Nullable(Type.String()),
  status: Type.String(),
  error_code: Nullable(Type.String()),
  updated_at: Time,
});

export const MessageDetail = Type.Intersect([
  MessageView,
  Type.Object({ parts: Type.Array(PartView), events: Type.Array(EventView) }),
]);

export const MessagePage = Type.Object({
  data: Type.Array(MessageView),
  next_cursor: Nullable(Type.String({ description: 'Pass as `cursor` for the next page.' })),
});

const RecipientError = Type.Object({ code: Type.String(), message: Type.String() });

/** The answer to a send (202): one entry per recipient, in request order. */
export const SendResult = Type.Object({
  batch_id: Type.String(),
  accepted: Type.Integer(),
  rejected: Type.Integer(),
  messages: Type.Array(
    Type.Object({
      id: Type.Optional(Type.String({ description: 'Absent when the number was not valid.' })),
      to: Type.String(),
      input: Type.String({ description: 'The number as given.' }),
      status: Type.Optional(
        Type.Union([Type.Literal('queued'), Type.Literal('scheduled'), Type.Literal('rejected')]),
      ),
      encoding: Type.Optional(Type.String()),
      segments: Type.Optional(Type.Integer()),
      error: Type.Optional(RecipientError),
    }),
  ),
});
export type SendResult = Static<typeof SendResult>;

export const PreviewResult = Type.Object({
  encoding: Type.String(),
  segments: Type.Integer(),
  length: Type.Integer(),
  per_segment: Type.Integer(),
  remaining: Type.Integer(),
  ucs2_chars: Type.Array(Type.String()),
  shift_table: Nullable(Type.String()),
  text: Type.Optional(Type.String({ description: 'The transliterated text (transliterate: true).' })),
  price: Type.Optional(
    Type.Object({
      to: Type.String(),
      charged: Type.Boolean(),
      prefix: Nullable(Type.String()),
      per_segment: Nullable(Type.Number()),
      segments: Type.Integer(),
      total: Nullable(Type.Number()),
    }),
  ),
});

export const UserView = Type.Object({
  id: Type.String(),
  login: Type.String(),
  role: Type.Union([Type.Literal('admin'), Type.Literal('user')]),
  status: Type.Union([Type.Literal('active'), Type.Literal('blocked')]),
  smpp_system_id: Nullable(Type.String()),
  created_at: Time,
});
export type UserView = Static<typeof UserView>;

export const KeyView = Type.Object({
  id: Type.String(),
  user_id: Type.String(),
  name: Type.String(),
  prefix: Type.String({ description: 'The first characters of the key, to recognise it.' }),
  callback_url: Nullable(Type.String()),
  created_at: Time,
  last_used_at: Time,
  revoked_at: Time,
});
export type KeyView = Static<typeof KeyView>;

export const NewKey = Type.Intersect([
  KeyView,
  Type.Object({ key: Type.String({ description: 'The secret; shown only in this answer.' }) }),
]);

export const ChannelHealthView = Open({
  status: Type.String(),
  signal: Type.Optional(Type.Number()),
  operator: Type.Optional(Type.String()),
  lastError: Type.Optional(Type.String()),
  inFlight: Type.Integer(),
});

export const ChannelView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  type: Type.String(),
  simulator: Type.Boolean(),
  owner_id: Nullable(Type.String()),
  enabled: Type.Boolean(),
  state: Type.String({ description: 'disabled, running, down, error, stopped…' }),
  monthly_limit: Nullable(Type.Integer()),
  count_mode: Type.Union([Type.Literal('segments'), Type.Literal('messages')]),
  min_interval_ms: Type.Integer(),
  max_in_flight: Type.Integer(),
  priority: Type.Integer(),
  used_this_month: Type.Integer(),
  health: Nullable(ChannelHealthView),
  config: Type.Optional(
    Type.Unknown({ description: 'The driver config (an object), secrets shown as "***"; admins only.' }),
  ),
  created_at: Time,
  updated_at: Time,
  node: Nullable(Type.String({ description: 'The node running the channel now.' })),
});
export type ChannelView = Static<typeof ChannelView>;

/** `{data: [...]}` lists. */
export const ListOf = <T extends TSchema>(item: T) => Type.Object({ data: Type.Array(item) });

/** 202 of the routes that only queue work. */
export const Queued = Type.Object({ queued: Type.Boolean() });

/** 204: no body. */
export const NoContent = Type.Null({ description: 'Done; no body.' });

export const FeedPage = Type.Object({
  data: Type.Array(Type.Intersect([EventView, Type.Object({ message_id: Type.String() })])),
  next_cursor: Type.String({ description: 'Pass as `after` for the next page (an opaque string).' }),
});

export const InboundView = Type.Object({
  id: Type.String(),
  channel_id: Type.String(),
  from: Type.String(),
  to: Nullable(Type.String()),
  text: Type.String(),
  incomplete: Type.Boolean({ description: 'A concatenated message some parts of which never came.' }),
  keyword: Nullable(Type.String()),
  received_at: Time,
});

export const InboundPage = Type.Object({
  data: Type.Array(InboundView),
  next_cursor: Nullable(Type.String()),
});

export const Conversation = Type.Object({
  number: Type.String(),
  data: Type.Array(
    Open(
      {
        direction: Type.Union([Type.Literal('outbound'), Type.Literal('inbound')]),
        at: Time,
        id: Type.String(),
        text: Type.String(),
      },
      'A message (outbound: as GET /v1/messages/{id}; inbound: as GET /v1/inbound) with its direction.',
    ),
  ),
});

export const RuleView = Type.Object({
  id: Type.String(),
  match_type: Type.Union([Type.Literal('exact'), Type.Literal('prefix'), Type.Literal('regex')]),
  pattern: Type.String(),
  action: Type.Union([Type.Literal('auto_reply'), Type.Literal('forward'), Type.Literal('tag')]),
  reply_text: Nullable(Type.String()),
  forward_url: Nullable(Type.String()),
  tag: Nullable(Type.String()),
  priority: Type.Integer(),
  enabled: Type.Boolean(),
  created_at: Time,
});

export const OptOutView = Type.Object({
  number: Type.String(),
  keyword: Type.String(),
  owner_id: Type.String(),
  created_at: Time,
});

export const SettingsView = Type.Object({
  webhook_url: Nullable(Type.String()),
  inbound_webhook_url: Nullable(Type.String()),
  webhook_secret: Type.String({ description: 'Signs webhook bodies (HMAC-SHA256).' }),
  stop_words: Nullable(Type.Array(Type.String())),
  start_words: Nullable(Type.Array(Type.String())),
  stop_reply: Nullable(Type.String()),
  start_reply: Nullable(Type.String()),
  help_reply: Nullable(Type.String()),
  transliterate: Type.Boolean(),
});

export const WebhookDeliveryPage = Type.Object({
  data: Type.Array(
    Type.Object({
      id: Type.Union([Type.Integer(), Type.String()]),
      event_id: Type.String(),
      kind: Type.String(),
      url: Type.String(),
      status: Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('failed')]),
      attempts: Type.Array(
        Type.Object({
          attempt: Type.Integer(),
          status_code: Nullable(Type.Integer()),
          error: Nullable(Type.String()),
          duration_ms: Type.Number(),
          at: Time,
        }),
      ),
      next_attempt_at: Time,
      payload: Type.Unknown({ description: 'The JSON body sent.' }),
      created_at: Time,
      delivered_at: Time,
    }),
  ),
  next_cursor: Type.Union([Type.Integer(), Type.String(), Type.Null()]),
});

export const OtpView = Type.Object({
  id: Type.String(),
  to: Type.String(),
  message_id: Type.String(),
  expires_at: Type.String({ format: 'date-time' }),
  attempts_left: Type.Integer(),
  sends: Type.Integer(),
  resend_after: Type.String({ format: 'date-time' }),
  status: Type.Union([
    Type.Literal('pending'),
    Type.Literal('verified'),
    Type.Literal('expired'),
    Type.Literal('too_many_attempts'),
  ]),
});

/** A line of the OTP log: the state of a code (never the code, never its hash). */
export const OtpLogEntry = Type.Object({
  ...OtpView.properties,
  owner_id: Type.String(),
  length: Type.Integer(),
  attempts: Type.Integer(),
  max_attempts: Type.Integer(),
  created_at: Type.String({ format: 'date-time' }),
  last_sent_at: Type.String({ format: 'date-time' }),
  verified_at: Time,
});
export const OtpLogPage = Type.Object({
  data: Type.Array(OtpLogEntry),
  next_cursor: Nullable(Type.String({ description: 'Pass as `cursor` for the next (older) page.' })),
});

export const OtpVerdict = Type.Object({
  status: Type.String({ description: 'verified, wrong_code, expired, too_many_attempts…' }),
  attempts_left: Type.Integer(),
});

export const OtpSettings = Type.Object({ template: Type.String(), from: Nullable(Type.String()) });

const Counts = {
  messages: Type.Integer(),
  segments: Type.Integer(),
  delivered: Type.Integer(),
  failed: Type.Integer(),
  pending: Type.Integer(),
  canceled: Type.Integer(),
};

export const StatsView = Type.Object({
  since: Type.String({ format: 'date-time' }),
  until: Type.String({ format: 'date-time' }),
  bucket: Type.String(),
  tz: Type.String(),
  totals: Type.Object({
    ...Counts,
    by_status: Type.Record(Type.String(), Type.Integer()),
    delivery_rate: Nullable(Type.Number({ description: 'delivered / (delivered + failed)' })),
  }),
  series: Type.Array(Type.Object({ start: Type.String({ format: 'date-time' }), ...Counts })),
  failure_reasons: Type.Array(Open({ code: Type.String(), count: Type.Integer() })),
});

export const QueueView = Type.Record(Type.String(), Type.Integer(), {
  description: 'Messages waiting per status (queued, scheduled, sending).',
});

export const CsvFile = {
  description: 'CSV (UTF-8 with a byte order mark), one line per message',
  // A stream on the server side; a string of CSV on the wire.
  content: { 'text/csv': { schema: Type.Unsafe<unknown>({ type: 'string' }) } },
};

export const NodeView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  version: Type.String(),
  http_url: Nullable(Type.String()),
  self: Type.Boolean({ description: 'The node answering this request.' }),
  status: Type.Union([Type.Literal('live'), Type.Literal('silent'), Type.Literal('stopped')]),
  started_at: Type.String(),
  heartbeat_at: Type.String(),
  heartbeat_age_ms: Type.Number(),
  stopped_at: Nullable(Type.String()),
  channels: Type.Array(
    Type.Object({
      id: Type.String(),
      name: Nullable(Type.String()),
      epoch: Type.Integer(),
      lease_until: Type.String(),
    }),
  ),
});

export const SmppCredentials = Open({
  system_id: Type.String(),
  password: Type.String({ description: 'Shown only in this answer.' }),
  note: Type.String(),
});

/** A template or a sender signature (they share one table and one review flow). */
export const TemplateView = Type.Object({
  id: Type.String(),
  owner_id: Type.String(),
  name: Nullable(Type.String()),
  text: Type.String(),
  category: Type.Optional(Nullable(Type.String({ description: 'Templates only.' }))),
  variables: Type.Optional(
    Nullable(Type.Unknown({ description: 'Templates only: the declared variables.' })),
  ),
  placement: Type.Optional(Nullable(Type.String({ description: 'Signatures only.' }))),
  status: Type.String({ description: 'pending, approved or rejected' }),
  reason: Nullable(Type.String()),
  created_at: Time,
  updated_at: Time,
  decided_at: Time,
  decided_by: Nullable(Type.String()),
});

export const TemplatePage = Type.Object({
  data: Type.Array(TemplateView),
  next_cursor: Nullable(Type.String()),
});

export const TemplateDetail = Type.Intersect([
  TemplateView,
  Type.Object({
    history: Type.Array(
      Type.Object({
        action: Type.String(),
        actor_id: Nullable(Type.String()),
        before: Nullable(Type.String()),
        after: Nullable(Type.String()),
        reason: Nullable(Type.String()),
        at: Type.String({ format: 'date-time' }),
      }),
    ),
  }),
]);

export const ListEntryView = Type.Object({
  number: Type.String(),
  reason: Nullable(Type.String()),
  source: Nullable(Type.String()),
  scope: Type.Union([Type.Literal('global'), Type.Literal('user')]),
  created_at: Time,
});

export const ListPage = Type.Object({
  data: Type.Array(ListEntryView),
  total: Type.Integer(),
  max: Type.Integer({ description: 'How many numbers this list may hold.' }),
  next_cursor: Nullable(Type.String()),
});

export const ListImport = Type.Object({
  added: Type.Integer(),
  already_listed: Type.Integer(),
  invalid_count: Type.Integer(),
  invalid: Type.Array(Type.Unknown(), { description: 'The first invalid lines with their reasons.' }),
});

export const CapsView = Type.Object({
  scope: Type.Union([Type.Literal('global'), Type.Literal('user')]),
  user_id: Type.Optional(Type.String()),
  caps: Type.Array(
    Type.Object({ category: Nullable(Type.String()), period: Type.String(), max: Type.Integer() }),
  ),
});

export const PriceView = Type.Object({
  prefix: Type.String({ description: '`default` for the price of every other number.' }),
  encoding: Type.String(),
  per_segment: Type.Number(),
});

const CreditMode = Type.Union([Type.Literal('prepaid'), Type.Literal('unlimited')]);

export const BalanceView = Type.Object({
  user_id: Type.String(),
  mode: CreditMode,
  balance: Type.Number(),
  ledger: Type.Array(
    Type.Object({
      id: Type.Union([Type.Integer(), Type.String()]),
      kind: Type.String(),
      amount: Type.Number(),
      balance_after: Type.Number(),
      message_id: Nullable(Type.String()),
      note: Nullable(Type.String()),
      created_at: Time,
    }),
  ),
  next_cursor: Type.Union([Type.Integer(), Type.String(), Type.Null()]),
});

export const CreditView = Type.Object({ user_id: Type.String(), mode: CreditMode, balance: Type.Number() });

export const CsvText = (description: string) => ({
  description,
  content: { 'text/csv': { schema: Type.Unsafe<unknown>({ type: 'string' }) } },
});

export const ConsentView = Type.Object({
  id: Type.Union([Type.Integer(), Type.String()]),
  owner_id: Type.String(),
  number: Type.String(),
  source: Type.String(),
  text_shown: Nullable(Type.String()),
  proof_ip: Nullable(Type.String()),
  form_id: Nullable(Type.String()),
  granted_at: Time,
  revoked_at: Time,
  revoked_by: Nullable(Type.String()),
});

export const PolicySettingsView = Open({
  templates_only: Type.Boolean(),
  consent_required: Type.Boolean(),
  quiet_hours: Type.Array(Open({ start: Type.String(), end: Type.String() })),
});

export const PolicyView = Open({
  templates_only: Type.Boolean(),
  consent_required: Type.Boolean(),
  quiet_hours: Type.Array(Open({ start: Type.String(), end: Type.String() })),
  user_id: Type.String(),
  test_mode: Type.Boolean(),
  auto_blacklist_after: Nullable(Type.Integer()),
  mode: CreditMode,
  balance: Type.Number(),
});

// ---- Contacts and campaigns (issue 15): the documented core of each answer; they carry more.

export const Contact = Open(
  {
    number: Type.String({ description: 'E.164.' }),
    name: Nullable(Type.String()),
    language: Nullable(Type.String()),
    time_zone: Nullable(Type.String()),
    fields: Type.Record(Type.String(), Type.String(), { description: 'Custom fields ({variables}).' }),
    tags: Type.Array(Type.String()),
    opted_out: Type.Boolean({ description: 'The number sent STOP (or was opted out): campaigns skip it.' }),
    opted_out_at: Time,
    group_ids: Type.Optional(Type.Array(Type.String(), { description: 'The groups it is in.' })),
    created_at: Time,
    updated_at: Time,
  },
  'A contact.',
);
export const Group = Open(
  {
    id: Type.String(),
    name: Type.String(),
    members: Type.Optional(Type.Integer()),
    added: Type.Optional(Type.Integer({ description: 'Numbers added by this request.' })),
    created_at: Type.Optional(Type.String({ format: 'date-time' })),
  },
  'A group of contacts.',
);
export const RefusedRow = Type.Object({
  line: Type.Integer({ description: 'Line of the file, from 1.' }),
  reason: Type.String(),
  raw: Type.String({ description: 'The row as read (shortened).' }),
});
export const ImportReport = Open(
  {
    id: Type.String(),
    status: Type.String({ description: 'running, done or failed.' }),
    group_id: Nullable(Type.String()),
    rows_total: Type.Integer(),
    rows_imported: Type.Integer(),
    rows_refused: Type.Integer(),
    error: Type.Optional(Nullable(Type.String())),
    created_at: Type.Optional(Type.String({ format: 'date-time' })),
    finished_at: Type.Optional(Time),
    refused: Type.Optional(Type.Array(RefusedRow, { description: 'The first refused rows.' })),
    errors_url: Type.String({ description: 'Every refused row as CSV.' }),
  },
  'An import: its counts and state.',
);
export const Campaign = Open(
  {
    id: Type.String(),
    owner_id: Type.String(),
    name: Type.String(),
    status: Type.Unsafe<CampaignStatus>(Type.String({ enum: [...CAMPAIGN_STATUSES] })),
    text: Type.String(),
    variables: Type.Array(Type.String()),
    from: Nullable(Type.String()),
    channel_id: Nullable(Type.String()),
    template_id: Nullable(Type.String()),
    audience: Open({ type: Type.String({ description: 'groups, contacts, recipients or campaign.' }) }),
    time_zone: Type.String(),
    send_at: Time,
    window: Nullable(Type.Object({ start: Type.String(), end: Type.String() })),
    rate_limit: Type.Number({ description: 'Messages per second at most.' }),
    recurrence: Nullable(Type.Object({ cron: Type.String(), next_at: Time })),
    parent_id: Nullable(Type.String()),
    occurrence_at: Time,
    next_run_at: Time,
    created_at: Time,
    started_at: Time,
    finished_at: Time,
    progress: Type.Object({
      total: Type.Integer(),
      done: Type.Integer({ description: 'Recipients handed to the queue (or skipped).' }),
      pending: Type.Integer(),
      by_status: Type.Record(Type.String(), Type.Integer(), {
        description: 'Messages per status, and pending / skipped recipients.',
      }),
      rate: Type.Number({ description: 'msg/s so far.' }),
      eta_seconds: Nullable(Type.Integer()),
    }),
    estimate: Type.Object({
      recipients: Type.Integer(),
      segments_per_message: Type.Integer(),
      segments: Type.Integer(),
    }),
  },
  'A campaign with its progress.',
);
export const CampaignCost = Type.Object({
  recipients: Type.Integer(),
  encoding: Type.String({ description: 'gsm7 or ucs2 (the text with empty variables).' }),
  segments_per_message: Type.Integer(),
  segments: Type.Integer(),
  cost: Type.Number({ description: 'Credits at the price list, for the recipients that have a price.' }),
  unpriced: Type.Integer({ description: 'Recipients no price matches (refused no_price when prepaid).' }),
  mode: CreditMode,
  balance: Type.Number(),
});
