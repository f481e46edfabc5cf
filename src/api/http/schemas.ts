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
