/**
 * After sending: the change feed, inbound messages and conversations, keyword rules, opt-outs,
 * webhook settings and delivery log, follow-ups to a batch, and simulated inbound for tests.
 */
import type { FastifyInstance } from 'fastify';
import { recipientErrorsInLanguage } from '../recipient-errors.js';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ApiError, say } from '../../../core/errors.js';
import { formatFeedCursor, parseFeedCursor } from '../../../core/feed-cursor.js';
import { KEYWORDS, checkPattern, normalizeWord } from '../../../core/keywords.js';
import { LANGS, tr } from '../../../i18n/index.js';
import { MESSAGE_STATUSES } from '../../../core/message.js';
import { MIN_PARTIAL_DIGITS, numberQuery } from '../../../core/search.js';
import { normalizeNumber } from '../../../core/phone.js';
import type { InboundService } from '../../../delivery/inbound.js';
import type { UrlGuard } from '../../../delivery/url-guard.js';
import type { ChannelRegistry } from '../../../dispatch/registry.js';
import type { MessageService } from '../../../services/messages.js';
import type { Store } from '../../../store/index.js';
import type { InboundRow, KeywordRuleRow, UserSettingsRow } from '../../../store/schema.js';
import { idCursor } from '../cursor.js';
import { ownerScope, principalOf, requireAdmin } from '../auth.js';
import type { LongPollLimit } from '../long-poll.js';
import { eventView, iso, messageView, parsedJson } from '../views.js';
import { SendSchema, toSendInput } from './messages.js';
import {
  Conversation,
  FeedPage,
  InboundPage,
  ListOf,
  NoContent,
  OptOutView,
  Queued,
  RuleView,
  SendResult,
  SettingsView,
  WebhookDeliveryPage,
} from '../schemas.js';

function inboundView(r: InboundRow) {
  return {
    id: r.id,
    channel_id: r.channel_id,
    from: r.from,
    to: r.to,
    text: r.text,
    incomplete: r.incomplete === 1,
    keyword: r.keyword,
    received_at: iso(r.received_at),
  };
}

function ruleView(r: KeywordRuleRow) {
  return {
    id: r.id,
    match_type: r.match_type,
    pattern: r.pattern,
    action: r.action,
    reply_text: r.reply_text,
    forward_url: r.forward_url,
    tag: r.tag,
    priority: r.priority,
    enabled: r.enabled === 1,
    created_at: iso(r.created_at),
  };
}

function settingsView(s: UserSettingsRow) {
  const list = (v: string | null) => (v ? (parsedJson(v) as string[] | null) : null);
  return {
    webhook_url: s.webhook_url,
    inbound_webhook_url: s.inbound_webhook_url,
    webhook_secret: s.webhook_secret,
    stop_words: list(s.stop_words),
    start_words: list(s.start_words),
    stop_reply: s.stop_reply,
    start_reply: s.start_reply,
    help_reply: s.help_reply,
    transliterate: s.transliterate === 1,
  };
}

function number(raw: string, field = 'number'): string {
  const n = normalizeNumber(raw);
  if (!n.ok) throw new ApiError('invalid_number', n.why, field);
  return n.e164;
}

const Url = Type.String({ format: 'uri', maxLength: 2048, pattern: '^https?://' });
const Words = Type.Array(Type.String({ minLength: 1, maxLength: 20, pattern: '^\\S+$' }), { maxItems: 20 });

export function deliveryRoutes(
  untyped: FastifyInstance,
  deps: {
    store: Store;
    messages: MessageService;
    inbound: InboundService;
    registry: ChannelRegistry;
    longPoll: LongPollLimit;
    urlGuard?: UrlGuard | undefined;
  },
): void {
  const app = untyped.withTypeProvider<TypeBoxTypeProvider>();
  const { store, messages, inbound, registry, longPoll, urlGuard } = deps;
  /** Refuses a webhook or forward URL that points inside the operator's network (400 unsafe_url). */
  const checkUrl = async (url: string | null | undefined, field: string) => {
    if (url && urlGuard) await urlGuard.check(url, field);
  };
  const numericCursor = store.db.dialect !== 'postgres';

  app.get(
    '/v1/events',
    {
      schema: {
        tags: ['delivery'],
        summary: 'Change feed: status events after a cursor (long-poll with wait=seconds)',
        querystring: Type.Object({
          after: Type.Optional(
            Type.String({
              maxLength: 80,
              description:
                'The next_cursor of the previous page, as given (an opaque string; older numeric cursors are accepted). Empty or 0: from the start.',
            }),
          ),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
          wait: Type.Optional(Type.Integer({ minimum: 0, maximum: 60, default: 0 })),
          latest: Type.Optional(
            Type.Boolean({ description: 'Return no events, only the cursor of the newest one.' }),
          ),
        }),
        response: { 200: FeedPage },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const q = req.query;
      if (q.latest)
        return {
          data: [],
          next_cursor: formatFeedCursor(await store.feed.latest(ownerScope(p)), numericCursor),
        };
      const after = parseFeedCursor(q.after);
      const until = Date.now() + (q.wait ?? 0) * 1000;
      const release = (q.wait ?? 0) > 0 ? longPoll.enter(p.user.id) : () => undefined;
      try {
        for (;;) {
          const { rows, next } = await store.feed.eventsAfter(ownerScope(p), after, q.limit ?? 100);
          // The client went away (or shutdown cut it): stop polling the database for nobody.
          if (rows.length > 0 || Date.now() >= until || req.raw.destroyed) {
            return {
              data: rows.map((e) => ({ ...eventView(e), message_id: e.message_id })),
              next_cursor: formatFeedCursor(next, numericCursor),
            };
          }
          await new Promise((r) => setTimeout(r, 250));
        }
      } finally {
        release();
      }
    },
  );

  app.get(
    '/v1/inbound',
    {
      schema: {
        tags: ['delivery'],
        summary: 'Inbound messages, newest first',
        querystring: Type.Object({
          from: Type.Optional(
            Type.String({
              maxLength: 32,
              description: 'A number in any format (matched exactly) or at least 3 of its digits.',
            }),
          ),
          q: Type.Optional(
            Type.String({ maxLength: 200, description: 'Text contains (case-insensitive in every script).' }),
          ),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
          cursor: Type.Optional(Type.String({ maxLength: 64 })),
        }),
        response: { 200: InboundPage },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const q = req.query;
      const limit = q.limit ?? 50;
      const from = q.from?.trim() ? numberQuery(q.from, deps.messages.region) : undefined;
      if (q.from?.trim() && !from) {
        throw new ApiError(
          'validation_failed',
          say('api.messages.partialDigits', { digits: MIN_PARTIAL_DIGITS }),
          'from',
        );
      }
      const rows = await store.inbound.list({
        ownerId: ownerScope(p),
        ...(from?.digits ? { fromContains: from.digits, fromOr: from.exact } : { from: from?.exact }),
        textContains: q.q?.trim() ? q.q : undefined,
        before: idCursor(q.cursor),
        limit,
      });
      const last = rows[rows.length - 1];
      return { data: rows.map(inboundView), next_cursor: rows.length === limit && last ? last.id : null };
    },
  );

  const NumberParams = Type.Object({ number: Type.String({ maxLength: 32 }) });
  app.get(
    '/v1/conversations/:number',
    {
      schema: {
        tags: ['delivery'],
        summary: 'Outbound and inbound with one number, oldest first',
        params: NumberParams,
        response: { 200: Conversation },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const n = number(req.params.number);
      const [out, inc] = await Promise.all([
        store.feed.outboundTo(ownerScope(p), n, 200),
        store.inbound.list({ ownerId: ownerScope(p), from: n, limit: 200 }),
      ]);
      const items = [
        ...out.map((m) => ({ direction: 'outbound' as const, at: m.created_at, message: messageView(m) })),
        ...inc.map((m) => ({ direction: 'inbound' as const, at: m.received_at, message: inboundView(m) })),
      ].sort((a, b) => a.at - b.at || (a.message.id < b.message.id ? -1 : 1)); // ids are UUIDv7: time-ordered within a millisecond
      return { number: n, data: items.map((i) => ({ direction: i.direction, at: iso(i.at), ...i.message })) };
    },
  );
  app.post(
    '/v1/conversations/:number/messages',
    {
      schema: {
        tags: ['delivery'],
        summary: 'Reply in a conversation',
        params: NumberParams,
        body: Type.Object({
          text: Type.String({ maxLength: 20_000 }),
          from: Type.Optional(Type.String({ maxLength: 16 })),
        }),
        response: { 202: SendResult },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const n = number(req.params.number);
      const b = req.body;
      const result = await messages.send(p, { to: [n], text: b.text, from: b.from });
      return reply.status(202).send(recipientErrorsInLanguage(req, reply, result));
    },
  );

  // ---- keyword rules
  const RuleBody = Type.Object({
    match_type: Type.Union([Type.Literal('exact'), Type.Literal('prefix'), Type.Literal('regex')]),
    pattern: Type.String({ minLength: 1, maxLength: 200 }),
    action: Type.Union([Type.Literal('auto_reply'), Type.Literal('forward'), Type.Literal('tag')]),
    reply_text: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })),
    forward_url: Type.Optional(Url),
    tag: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    priority: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 })),
    enabled: Type.Optional(Type.Boolean()),
  });
  app.post(
    '/v1/keywords',
    {
      schema: {
        tags: ['delivery'],
        summary: 'Add a keyword rule',
        body: RuleBody,
        response: { 201: RuleView },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const b = req.body;
      const bad = checkPattern(b);
      if (bad) throw new ApiError('validation_failed', bad, 'pattern');
      await checkUrl(b.forward_url, 'forward_url');
      const needs = { auto_reply: 'reply_text', forward: 'forward_url', tag: 'tag' } as const;
      if (!b[needs[b.action]])
        throw new ApiError(
          'validation_failed',
          say('api.delivery.actionNeeds', { action: b.action, field: needs[b.action] }),
          needs[b.action],
        );
      const row = await store.keywords.create({
        owner_id: p.user.id,
        match_type: b.match_type,
        pattern: b.pattern,
        action: b.action,
        reply_text: b.reply_text ?? null,
        forward_url: b.forward_url ?? null,
        tag: b.tag ?? null,
        priority: b.priority ?? 100,
        enabled: b.enabled === false ? 0 : 1,
      });
      return reply.status(201).send(ruleView(row));
    },
  );
  app.get(
    '/v1/keywords',
    { schema: { tags: ['delivery'], summary: 'Your keyword rules', response: { 200: ListOf(RuleView) } } },
    async (req) => ({
      data: (await store.keywords.forOwner(principalOf(req).user.id)).map(ruleView),
    }),
  );
  // Edit or switch a rule (issue 18 item 6): the merged rule is checked like a new one.
  const RulePatch = Type.Partial(RuleBody);
  app.patch(
    '/v1/keywords/:id',
    {
      schema: {
        tags: ['delivery'],
        summary: 'Edit or switch a keyword rule',
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        body: RulePatch,
        response: { 200: RuleView },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const id = req.params.id;
      const b = req.body;
      const old = await store.keywords.byId(id, p.user.id);
      if (!old) throw new ApiError('not_found', say('api.delivery.noSuchRule'), 'id');
      const merged = {
        match_type: b.match_type ?? old.match_type,
        pattern: b.pattern ?? old.pattern,
        action: b.action ?? old.action,
        reply_text: b.reply_text ?? old.reply_text,
        forward_url: b.forward_url ?? old.forward_url,
        tag: b.tag ?? old.tag,
      };
      const bad = checkPattern(merged);
      if (bad) throw new ApiError('validation_failed', bad, 'pattern');
      if (b.forward_url) await checkUrl(b.forward_url, 'forward_url');
      const needs = { auto_reply: 'reply_text', forward: 'forward_url', tag: 'tag' } as const;
      if (!merged[needs[merged.action]])
        throw new ApiError(
          'validation_failed',
          say('api.delivery.actionNeeds', { action: merged.action, field: needs[merged.action] }),
          needs[merged.action],
        );
      const row = await store.keywords.update(id, p.user.id, {
        ...merged,
        ...(b.priority !== undefined ? { priority: b.priority } : {}),
        ...(b.enabled !== undefined ? { enabled: b.enabled ? 1 : 0 } : {}),
      });
      if (!row) throw new ApiError('not_found', say('api.delivery.noSuchRule'), 'id');
      return ruleView(row);
    },
  );
  app.delete(
    '/v1/keywords/:id',
    {
      schema: {
        tags: ['delivery'],
        summary: 'Delete a keyword rule',
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        response: { 204: NoContent },
      },
    },
    async (req, reply) => {
      const ok = await store.keywords.delete(req.params.id, principalOf(req).user.id);
      if (!ok) throw new ApiError('not_found', say('api.delivery.noSuchRule'), 'id');
      return reply.status(204).send(null);
    },
  );

  // ---- opt-outs
  app.get(
    '/v1/opt-outs',
    {
      schema: {
        tags: ['delivery'],
        summary: 'Numbers that opted out from you',
        response: { 200: ListOf(OptOutView) },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const rows = await store.optOuts.list(ownerScope(p), 10_000);
      return {
        data: rows.map((r) => ({
          number: r.number,
          keyword: r.keyword,
          owner_id: r.owner_id,
          created_at: iso(r.created_at),
        })),
      };
    },
  );
  app.post(
    '/v1/opt-outs',
    {
      schema: {
        tags: ['delivery'],
        summary: 'Opt a number out',
        body: Type.Object({ number: Type.String({ maxLength: 32 }) }),
        response: { 201: Type.Object({ number: Type.String() }) },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const n = number(req.body.number);
      await store.optOuts.add(p.user.id, n, 'api');
      return reply.status(201).send({ number: n });
    },
  );
  app.delete(
    '/v1/opt-outs/:number',
    {
      schema: {
        tags: ['delivery'],
        summary: 'Remove an opt-out',
        params: NumberParams,
        response: { 204: NoContent },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const n = number(req.params.number);
      if (!(await store.optOuts.remove(p.user.id, n)))
        throw new ApiError('not_found', say('api.delivery.notOptedOut'), 'number');
      return reply.status(204).send(null);
    },
  );

  // ---- webhook settings and delivery log
  const SettingsBody = Type.Object({
    webhook_url: Type.Optional(Type.Union([Type.Null(), Url])),
    inbound_webhook_url: Type.Optional(Type.Union([Type.Null(), Url])),
    stop_words: Type.Optional(Type.Union([Type.Null(), Words])),
    start_words: Type.Optional(Type.Union([Type.Null(), Words])),
    stop_reply: Type.Optional(Type.Union([Type.Null(), Type.String({ minLength: 1, maxLength: 480 })])),
    start_reply: Type.Optional(Type.Union([Type.Null(), Type.String({ minLength: 1, maxLength: 480 })])),
    help_reply: Type.Optional(Type.Union([Type.Null(), Type.String({ minLength: 1, maxLength: 480 })])),
    transliterate: Type.Optional(Type.Boolean()),
  });
  app.get(
    '/v1/settings',
    {
      schema: {
        tags: ['delivery'],
        summary: 'Your webhook and opt-out settings',
        response: { 200: SettingsView },
      },
    },
    async (req) => settingsView(await store.webhooks.settings(principalOf(req).user.id)),
  );
  app.patch(
    '/v1/settings',
    {
      schema: {
        tags: ['delivery'],
        summary: 'Change your webhook and opt-out settings',
        body: SettingsBody,
        response: { 200: SettingsView },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const b = req.body;
      await checkUrl(b.webhook_url, 'webhook_url');
      await checkUrl(b.inbound_webhook_url, 'inbound_webhook_url');
      const json = (v: string[] | null | undefined) =>
        v === undefined ? undefined : v === null ? null : JSON.stringify(v.map(normalizeWord));
      const patch = Object.fromEntries(
        Object.entries({
          webhook_url: b.webhook_url,
          inbound_webhook_url: b.inbound_webhook_url,
          stop_words: json(b.stop_words),
          start_words: json(b.start_words),
          stop_reply: b.stop_reply,
          start_reply: b.start_reply,
          help_reply: b.help_reply,
          transliterate: b.transliterate === undefined ? undefined : b.transliterate ? 1 : 0,
        }).filter(([, v]) => v !== undefined),
      );
      return settingsView(await store.webhooks.updateSettings(p.user.id, patch));
    },
  );
  app.post(
    '/v1/settings/rotate-secret',
    {
      schema: { tags: ['delivery'], summary: 'New webhook signing secret', response: { 200: SettingsView } },
    },
    async (req) => {
      const p = principalOf(req);
      const { randomBytes } = await import('node:crypto');
      return settingsView(
        await store.webhooks.updateSettings(p.user.id, {
          webhook_secret: `whsec_${randomBytes(24).toString('base64url')}`,
        }),
      );
    },
  );
  const KeywordLanguage = Type.Object({
    lang: Type.String({ description: 'Language code: en, ru, zh, it, fa, de' }),
    stop: Type.Array(Type.String()),
    start: Type.Array(Type.String()),
    help: Type.Array(Type.String()),
    replies: Type.Object({ stop: Type.String(), start: Type.String(), help: Type.String() }),
  });
  app.get(
    '/v1/settings/keywords',
    {
      schema: {
        tags: ['delivery'],
        summary: "The gateway's default STOP/START/HELP words and replies per language",
        description:
          "Used when your settings have no words (or replies) of their own: every language's words count, " +
          'and the reply is in the language of the word the subscriber sent.',
        response: { 200: Type.Object({ languages: Type.Array(KeywordLanguage) }) },
      },
    },
    async () => ({
      languages: LANGS.map((lang) => ({
        lang,
        stop: [...KEYWORDS[lang].stop],
        start: [...KEYWORDS[lang].start],
        help: [...KEYWORDS[lang].help],
        replies: {
          stop: tr(lang, 'keywords.stop'),
          start: tr(lang, 'keywords.start'),
          help: tr(lang, 'keywords.help'),
        },
      })),
    }),
  );
  app.get(
    '/v1/webhooks/deliveries',
    {
      schema: {
        tags: ['delivery'],
        summary: 'Webhook delivery log with every attempt',
        querystring: Type.Object({
          message_id: Type.Optional(Type.String({ maxLength: 64 })),
          status: Type.Optional(
            Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('failed')]),
          ),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
          cursor: Type.Optional(Type.Integer({ minimum: 1 })),
        }),
        response: { 200: WebhookDeliveryPage },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const q = req.query;
      const limit = q.limit ?? 50;
      const rows = await store.webhooks.list({
        ownerId: ownerScope(p),
        messageId: q.message_id,
        status: q.status,
        limit,
        before: q.cursor,
      });
      const attempts = await store.webhooks.attempts(rows.map((r) => r.id));
      const last = rows[rows.length - 1];
      return {
        data: rows.map((r) => ({
          id: r.id,
          event_id: r.event_id,
          kind: r.kind,
          url: r.url,
          status: r.status,
          attempts: attempts
            .filter((a) => a.outbox_id === r.id)
            .map((a) => ({
              attempt: a.attempt,
              status_code: a.status_code,
              error: a.error,
              duration_ms: a.duration_ms,
              at: iso(a.at),
            })),
          next_attempt_at: r.status === 'pending' ? iso(r.next_attempt_at) : null,
          payload: parsedJson(r.payload),
          created_at: iso(r.created_at),
          delivered_at: r.delivered_at ? iso(r.delivered_at) : null,
        })),
        next_cursor: rows.length === limit && last ? last.id : null,
      };
    },
  );

  // ---- follow-ups (seed 004): "the recipients of batch X whose status is S"
  const FollowUp = Type.Object({
    ...Type.Omit(SendSchema, ['to']).properties,
    batch_id: Type.String({ maxLength: 64 }),
    status: Type.Union([Type.String(), Type.Array(Type.String(), { minItems: 1, maxItems: 11 })]),
  });
  app.post(
    '/v1/messages/follow-up',
    {
      schema: {
        tags: ['messages'],
        summary: 'Send to the recipients of a batch that reached given statuses',
        body: FollowUp,
        response: { 202: SendResult },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const b = req.body;
      const statuses = (Array.isArray(b.status) ? b.status : b.status.split(',')).map((s) => s.trim());
      const unknown = statuses.find((s) => !(MESSAGE_STATUSES as readonly string[]).includes(s));
      if (unknown)
        throw new ApiError(
          'validation_failed',
          say('api.messages.unknownStatus', { status: unknown }),
          'status',
        );
      const to = await store.feed.recipientsOf(ownerScope(p), b.batch_id, statuses);
      if (to.length === 0)
        throw new ApiError('no_valid_recipients', say('api.delivery.batchNoStatus'), 'batch_id');
      const { batch_id: _b, status: _s, ...rest } = b;
      const result = await messages.send(p, toSendInput({ ...rest, to }));
      return reply.status(202).send(recipientErrorsInLanguage(req, reply, result));
    },
  );

  // ---- inbound on demand (simulator and any driver that can inject)
  app.post(
    '/v1/channels/:id/inbound',
    {
      schema: {
        tags: ['channels'],
        summary: 'Simulate an inbound message on a channel that supports it (the simulator)',
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        body: Type.Object({
          from: Type.String({ minLength: 1, maxLength: 32 }),
          text: Type.String({ maxLength: 2000 }),
          to: Type.Optional(Type.String({ maxLength: 32 })),
        }),
        response: { 202: Queued },
      },
    },
    async (req, reply) => {
      requireAdmin(req);
      const id = req.params.id;
      const ch = registry.get(id);
      const elsewhere = ch ? null : registry.nodeOf(id);
      if (elsewhere)
        throw new ApiError('not_found', say('api.delivery.otherNode', { node: elsewhere }), 'id');
      const driver = ch?.driver as
        { injectInbound?: (s: { from: string; text: string; to?: string }) => void } | undefined;
      if (!ch || !driver?.injectInbound)
        throw new ApiError('not_found', say('api.delivery.noSimChannel'), 'id');
      const b = req.body;
      driver.injectInbound({ from: b.from, text: b.text, to: b.to });
      await inbound.idle();
      return reply.status(202).send({ queued: true });
    },
  );
}
