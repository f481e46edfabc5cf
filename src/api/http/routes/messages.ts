/** REST v1 messages: send (POST, or GET with a query string), preview, read, list, cancel. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { recipientErrorsInLanguage } from '../recipient-errors.js';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { CountryCode } from 'libphonenumber-js';
import { Type } from 'typebox';
import type { Static } from 'typebox';
import { preview } from '../../../codec/index.js';
import { ApiError, say } from '../../../core/errors.js';
import { normalizeNumber } from '../../../core/phone.js';
import { MESSAGE_STATUSES } from '../../../core/message.js';
import { MIN_PARTIAL_DIGITS, numberQuery } from '../../../core/search.js';
import type { MessageService, SendInput } from '../../../services/messages.js';
import type { Store } from '../../../store/index.js';
import type { ListFilter } from '../../../store/messages.js';
import type { Principal } from '../../../services/auth.js';
import { idCursor } from '../cursor.js';
import { ownerScope, principalOf } from '../auth.js';
import { eventView, messageView, partView } from '../views.js';
import { MessageDetail, MessagePage, MessageView, PreviewResult, SendResult } from '../schemas.js';
import { TemplateSendFields, templateSendInput } from './templates.js';

export const SendSchema = Type.Object(
  {
    to: Type.Union(
      [
        Type.String({ maxLength: 200_000 }),
        Type.Array(Type.String({ maxLength: 64 }), { maxItems: 100_000 }),
      ],
      {
        description: 'A number, an array of up to 1,000 numbers, or a comma-separated string.',
      },
    ),
    // Either text or template_id with params (issue 14).
    text: Type.Optional(Type.String({ maxLength: 20_000 })),
    ...TemplateSendFields,
    from: Type.Optional(
      Type.String({ maxLength: 16, description: 'Sender id: digits or up to 11 letters.' }),
    ),
    flash: Type.Optional(Type.Boolean({ description: 'Class 0: shown at once, not stored.' })),
    replace_id: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 7, description: 'Replace-message type 1–7.' }),
    ),
    validity: Type.Optional(Type.Integer({ minimum: 1, maximum: 40_320, description: 'Minutes.' })),
    send_at: Type.Optional(
      Type.String({ format: 'date-time', description: 'ISO 8601; schedules the message.' }),
    ),
    max_attempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 20 })),
    attempts: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 10, description: 'Immediate tries on the same channel.' }),
    ),
    callback_url: Type.Optional(Type.String({ format: 'uri', maxLength: 2048 })),
    client_ref: Type.Optional(Type.String({ maxLength: 128 })),
    all_or_nothing: Type.Optional(Type.Boolean()),
    delivery_report: Type.Optional(
      Type.Boolean({
        default: true,
        description:
          'Ask the network for a delivery report (and for the channel to request one). False: `sent` is the final status.',
      }),
    ),
    channel_id: Type.Optional(
      Type.String({
        maxLength: 64,
        description: 'Send through this channel only; routing chooses when absent.',
      }),
    ),
  },
  { examples: [{ to: '+15555550100', text: 'Hello from smsgw' }] },
);
type SendBody = Static<typeof SendSchema>;

export const ListQuery = Type.Object({
  status: Type.Optional(Type.String({ description: `Comma-separated: ${MESSAGE_STATUSES.join(', ')}` })),
  to: Type.Optional(
    Type.String({
      maxLength: 32,
      description: 'A number in any format (matched exactly) or at least 3 of its digits (matched anywhere).',
    }),
  ),
  q: Type.Optional(
    Type.String({ maxLength: 200, description: 'Text contains (case-insensitive in every script).' }),
  ),
  since: Type.Optional(Type.String({ format: 'date-time' })),
  until: Type.Optional(Type.String({ format: 'date-time' })),
  channel_id: Type.Optional(Type.String({ maxLength: 64 })),
  batch_id: Type.Optional(Type.String({ maxLength: 64 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 64 })),
});

/**
 * A `date-time` the schema accepted, as epoch ms. The format allows what Date cannot hold (a leap
 * second `23:59:60`, year 0000 in some zones): those are a 400, not a NaN that reaches SQL.
 */
export function parseTime(value: string, field: string): number {
  const ms = Date.parse(value);
  if (!Number.isFinite(ms))
    throw new ApiError('validation_failed', say('api.messages.badTime', { field }), field);
  return ms;
}

/** The history filters shared by the list and the CSV export. */
export function listFilter(
  p: Principal,
  q: Static<typeof ListQuery>,
  region?: CountryCode,
): Omit<ListFilter, 'limit'> {
  const statuses = q.status
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = statuses?.find((s) => !(MESSAGE_STATUSES as readonly string[]).includes(s));
  if (unknown)
    throw new ApiError('validation_failed', say('api.messages.unknownStatus', { status: unknown }), 'status');
  // A whole number in any format matches exactly (indexed); a part of one matches by its digits.
  const to = q.to !== undefined && q.to.trim() !== '' ? numberQuery(q.to, region) : undefined;
  if (q.to !== undefined && q.to.trim() !== '' && !to) {
    throw new ApiError(
      'validation_failed',
      say('api.messages.partialDigits', { digits: MIN_PARTIAL_DIGITS }),
      'to',
    );
  }
  return {
    ownerId: ownerScope(p),
    status: statuses,
    ...(to?.digits ? { toContains: to.digits, toOr: to.exact } : { to: to?.exact }),
    textContains: q.q?.trim() ? q.q : undefined,
    since: q.since ? parseTime(q.since, 'since') : undefined,
    until: q.until ? parseTime(q.until, 'until') : undefined,
    channelId: q.channel_id,
    batchId: q.batch_id,
  };
}

const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

/** Documented here; checked by `idempotencyKey` (a schema error would name another field). */
const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      description:
        'Up to 255 characters. The same key with the same body within 24 hours answers the first ' +
        'result again and sends nothing; with another body: 409 idempotency_key_reused.',
    }),
  ),
});

export function toSendInput(b: SendBody): SendInput {
  return {
    // The schema and strictInputs allow only strings here; anything else reaches the service's check.
    to: (Array.isArray(b.to) ? b.to : [b.to]).flatMap((t: unknown) =>
      typeof t === 'string' ? t.split(',') : [t as string],
    ),
    text: b.text,
    from: b.from,
    flash: b.flash,
    replaceId: b.replace_id,
    validityMinutes: b.validity,
    sendAt: b.send_at ? new Date(parseTime(b.send_at, 'send_at')) : undefined,
    maxAttempts: b.max_attempts,
    triesPerAttempt: b.attempts,
    callbackUrl: b.callback_url,
    clientRef: b.client_ref,
    allOrNothing: b.all_or_nothing,
    deliveryReport: b.delivery_report,
    channelId: b.channel_id || undefined,
    ...templateSendInput(b),
  };
}

function idempotencyKey(req: FastifyRequest): string | undefined {
  const raw = req.headers['idempotency-key'];
  if (raw === undefined) return undefined;
  const key = Array.isArray(raw) ? raw[0] : raw;
  if (!key || key.length > 255) {
    throw new ApiError('validation_failed', say('api.messages.idempotencyLength'), 'Idempotency-Key');
  }
  return key;
}

/**
 * The price quote of a preview (policy/credits.ts charges the same at acceptance): per segment
 * by the longest matching prefix, `charged` false for an unlimited account, null price when no
 * price matches (a prepaid account is then refused `no_price`).
 */
async function quoteFor(store: Store, userId: string, to: string, p: { encoding: string; segments: number }) {
  const n = normalizeNumber(to);
  if (!n.ok) throw new ApiError('invalid_number', n.why, 'to');
  const [q, account] = await Promise.all([
    store.policy.quote(n.e164, p.encoding, p.segments),
    store.policy.account(userId),
  ]);
  return {
    to: n.e164,
    charged: account.prepaid === 1,
    prefix: q ? q.prefix || 'default' : null,
    per_segment: q?.perSegment ?? null,
    segments: p.segments,
    total: q?.total ?? null,
  };
}

export function messageRoutes(
  untyped: FastifyInstance,
  deps: { store: Store; messages: MessageService },
): void {
  const app = untyped.withTypeProvider<TypeBoxTypeProvider>();
  const { store, messages } = deps;
  const send = async (req: FastifyRequest, reply: FastifyReply, body: SendBody) => {
    const p = principalOf(req);
    return recipientErrorsInLanguage(
      req,
      reply,
      await messages.send(p, toSendInput(body), idempotencyKey(req)),
    );
  };

  app.post(
    '/v1/messages',
    {
      schema: {
        tags: ['messages'],
        summary: 'Send a message to one or many recipients',
        headers: IdempotencyHeaders,
        body: SendSchema,
        response: { 202: SendResult },
      },
    },
    async (req, reply) => reply.status(202).send(await send(req, reply, req.body)),
  );
  // GET-only clients (scripts, devices) send with a query string: same parameters, same answer.
  app.get(
    '/v1/messages/send',
    {
      schema: {
        tags: ['messages'],
        summary: 'Send with a query string (same parameters as POST)',
        headers: IdempotencyHeaders,
        querystring: SendSchema,
        response: { 202: SendResult },
      },
    },
    async (req, reply) => reply.status(202).send(await send(req, reply, req.query)),
  );

  app.post(
    '/v1/messages/preview',
    {
      schema: {
        tags: ['messages'],
        summary: 'Encoding and segment count of a text',
        body: Type.Object(
          {
            text: Type.String({ maxLength: 20_000 }),
            shift_tables: Type.Optional(
              Type.Array(
                Type.Union([Type.Literal('turkish'), Type.Literal('spanish'), Type.Literal('portuguese')]),
                {
                  maxItems: 3,
                },
              ),
            ),
            transliterate: Type.Optional(Type.Boolean()),
            to: Type.Optional(
              Type.String({ maxLength: 32, description: 'A recipient: the answer then quotes its price.' }),
            ),
          },
          { examples: [{ text: 'Привет, мир' }] },
        ),
        response: { 200: PreviewResult },
      },
    },
    async (req) => {
      const caller = principalOf(req);
      const b = req.body;
      const p = preview(b.text, { shiftTables: b.shift_tables, transliterate: b.transliterate });
      return {
        ...(b.to !== undefined ? { price: await quoteFor(store, caller.user.id, b.to, p) } : {}),
        encoding: p.encoding,
        segments: p.segments,
        length: p.length,
        per_segment: p.perSegment,
        remaining: p.remaining,
        ucs2_chars: p.ucs2Chars,
        shift_table: p.shiftTable ?? null,
        ...(b.transliterate ? { text: p.text } : {}),
      };
    },
  );

  app.get(
    '/v1/messages/:id',
    {
      schema: {
        tags: ['messages'],
        summary: 'A message with its events',
        params: IdParams,
        response: { 200: MessageDetail },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const { id } = req.params;
      const m = await store.messages.byId(id, ownerScope(p));
      if (!m) throw new ApiError('not_found', say('api.messages.noSuchMessage'), 'id');
      const [events, parts] = await Promise.all([store.messages.events(id), store.messages.parts(id)]);
      return { ...messageView(m), parts: parts.map(partView), events: events.map(eventView) };
    },
  );

  app.get(
    '/v1/messages',
    {
      schema: {
        tags: ['messages'],
        summary: 'History, newest first',
        querystring: ListQuery,
        response: { 200: MessagePage },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const q = req.query;
      const limit = q.limit ?? 50;
      const rows = await store.messages.list({
        ...listFilter(p, q, messages.region),
        before: idCursor(q.cursor),
        limit,
      });
      const last = rows[rows.length - 1];
      return { data: rows.map(messageView), next_cursor: rows.length === limit && last ? last.id : null };
    },
  );

  app.delete(
    '/v1/messages/:id',
    {
      schema: {
        tags: ['messages'],
        summary: 'Cancel a queued or scheduled message',
        params: IdParams,
        response: { 200: MessageView },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const { id } = req.params;
      const m = await store.messages.cancel(id, ownerScope(p), `canceled by ${p.user.login}`);
      if (!m) throw new ApiError('not_found', say('api.messages.noSuchMessage'), 'id');
      if (m.status !== 'canceled') {
        throw new ApiError('not_cancelable', say('api.messages.notCancelable', { status: m.status }));
      }
      return messageView(m);
    },
  );
}
