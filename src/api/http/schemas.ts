/**
 * Response schemas of the v1 API (issue 18 item 4): the shapes views.ts produces, as TypeBox, so
 * the OpenAPI document describes what clients receive and the dashboard can derive its types
 * (`Static<typeof MessageView>`). Times are ISO strings or null (views.ts `iso`).
 */
import { Type } from 'typebox';
import type { Static, TSchema } from 'typebox';

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
  status: Type.String(),
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
