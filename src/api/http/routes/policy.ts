/**
 * The sending policy's settings (issue 14, items 2, 3 and 6): blacklists and whitelists with
 * CSV import and export, frequency caps, per-user switches (test mode, auto-blacklist), prices,
 * balances and the ledger. The checks run at acceptance (policy/); these endpoints manage what
 * they read. A user manages its own lists and caps; an admin also the global ones
 * (`"scope": "global"`) and any user's (`user_id`).
 */
import { Readable } from 'node:stream';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CountryCode } from 'libphonenumber-js';
import { Type } from 'typebox';
import { ApiError, say } from '../../../core/errors.js';
import { normalizeNumber } from '../../../core/phone.js';
import { LIST_CSV_HEADER, listCsvRows, parseListCsv } from '../../../policy/list-csv.js';
import { PERIODS } from '../../../policy/periods.js';
import type { Store } from '../../../store/index.js';
import type { LedgerRow, ListEntry, ListKind } from '../../../store/policy.js';
import { ListFullError } from '../../../store/policy.js';
import { principalOf, requireAdmin } from '../auth.js';
import { iso } from '../views.js';
import {
  BalanceView,
  CapsView,
  CreditView,
  CsvText,
  ListEntryView,
  ListImport,
  ListOf,
  ListPage,
  NoContent,
  PriceView,
} from '../schemas.js';

export interface PolicyRouteDeps {
  store: Store;
  lists: { whitelistMax: number; blacklistMax: number };
  defaultRegion?: CountryCode | undefined;
}

/** A CSV import is at most 8 MiB (~200,000 lines of number and reason). */
const CSV_LIMIT = 8 * 1024 * 1024;
/** Categories one owner may cap separately: bounded like everything a client holds. */
const MAX_CAP_CATEGORIES = 20;
const MAX_PRICES = 10_000;

const Scope = Type.Optional(
  Type.Union([Type.Literal('user'), Type.Literal('global')], {
    description: '`global`: the list every user shares (admin). Default: your own.',
  }),
);
const UserId = Type.Optional(
  Type.String({ maxLength: 64, description: 'Admin: act on this user instead of yourself.' }),
);
const ListQuery = Type.Object({
  scope: Scope,
  user_id: UserId,
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  cursor: Type.Optional(Type.String({ maxLength: 32 })),
});
const OwnerQuery = Type.Object({ scope: Scope, user_id: UserId });
const Category = Type.String({ maxLength: 32, pattern: '^[a-z0-9_-]*$' });

function entryView(e: ListEntry) {
  return {
    number: e.number,
    reason: e.reason,
    source: e.source,
    scope: e.owner_id === '' ? ('global' as const) : ('user' as const),
    created_at: iso(e.created_at),
  };
}

function ledgerView(l: LedgerRow) {
  return {
    id: l.id,
    kind: l.kind,
    amount: Number(l.amount),
    balance_after: Number(l.balance_after),
    message_id: l.message_id,
    note: l.note,
    created_at: iso(l.created_at),
  };
}

export function policyRoutes(untyped: FastifyInstance, deps: PolicyRouteDeps): void {
  const app = untyped.withTypeProvider<TypeBoxTypeProvider>();
  const { store } = deps;

  /** Whose list or setting a request acts on: '' for the global one. */
  const ownerOf = async (req: FastifyRequest, q: { scope?: string; user_id?: string }): Promise<string> => {
    const p = principalOf(req);
    if (q.scope === 'global') {
      if (q.user_id) throw new ApiError('validation_failed', say('api.policy.scopeOrUser'), 'user_id');
      requireAdmin(req);
      return '';
    }
    if (q.user_id && q.user_id !== p.user.id) {
      requireAdmin(req);
      if (!(await store.users.byId(q.user_id)))
        throw new ApiError('not_found', say('api.policy.noSuchUser'), 'user_id');
      return q.user_id;
    }
    return p.user.id;
  };

  const number = (raw: string, field = 'number'): string => {
    const n = normalizeNumber(raw, deps.defaultRegion);
    if (!n.ok) throw new ApiError('invalid_number', n.why, field);
    return n.e164;
  };

  const maxOf = (kind: ListKind) => (kind === 'white' ? deps.lists.whitelistMax : deps.lists.blacklistMax);

  const add = async (
    kind: ListKind,
    owner: string,
    entries: { number: string; reason: string | null }[],
    source: string,
  ) => {
    try {
      return await store.policy.addToList(kind, owner, entries, source, maxOf(kind));
    } catch (err) {
      if (err instanceof ListFullError)
        throw new ApiError('list_full', say(`api.policy.${kind}Full`, { max: err.max }), 'number');
      throw err;
    }
  };

  for (const kind of ['black', 'white'] as const) {
    const base = `/v1/${kind}list`;
    const tags = ['policy'];

    app.post(
      base,
      {
        schema: {
          tags,
          summary: `Add a number to the ${kind}list`,
          response: {
            200: Type.Union([ListEntryView, Type.Object({ number: Type.String() })], {
              description: 'Already listed',
            }),
            201: ListEntryView,
          },
          body: Type.Object({
            number: Type.String({ minLength: 1, maxLength: 32 }),
            reason: Type.Optional(Type.String({ maxLength: 200 })),
            scope: Scope,
            user_id: UserId,
          }),
        },
      },
      async (req, reply) => {
        const b = req.body;
        const owner = await ownerOf(req, b);
        const n = number(b.number);
        const added = await add(kind, owner, [{ number: n, reason: b.reason ?? null }], 'api');
        const entry = await store.policy.entry(kind, owner, n);
        return reply.status(added ? 201 : 200).send(entry ? entryView(entry) : { number: n });
      },
    );

    app.get(
      base,
      {
        schema: {
          tags,
          summary: `The ${kind}list, by number (paged)`,
          querystring: ListQuery,
          response: { 200: ListPage },
        },
      },
      async (req) => {
        const q = req.query;
        const owner = await ownerOf(req, q);
        const limit = q.limit ?? 100;
        const rows = await store.policy.listPage(kind, owner, limit, q.cursor);
        const last = rows[rows.length - 1];
        return {
          data: rows.map(entryView),
          total: await store.policy.count(kind, owner),
          max: maxOf(kind),
          next_cursor: rows.length === limit && last ? last.number : null,
        };
      },
    );

    app.delete(
      `${base}/:number`,
      {
        schema: {
          tags,
          summary: `Take a number off the ${kind}list`,
          params: Type.Object({ number: Type.String({ maxLength: 32 }) }),
          querystring: OwnerQuery,
          response: { 204: NoContent },
        },
      },
      async (req, reply) => {
        const owner = await ownerOf(req, req.query);
        const n = number(req.params.number);
        if (!(await store.policy.removeFromList(kind, owner, n)))
          throw new ApiError(
            'not_found',
            say(kind === 'black' ? 'api.policy.notOnBlack' : 'api.policy.notOnWhite', { number: n }),
            'number',
          );
        return reply.status(204).send(null);
      },
    );

    app.get(
      `${base}/export`,
      {
        schema: {
          tags,
          summary: `The ${kind}list as CSV (number, reason, source, created_at)`,
          querystring: OwnerQuery,
          response: { 200: CsvText(`The ${kind}list`) },
        },
      },
      async (req, reply) => {
        const owner = await ownerOf(req, req.query);
        const rows = store.policy.listAll(kind, owner);
        async function* csv() {
          yield LIST_CSV_HEADER;
          for await (const page of rows) yield listCsvRows(page);
        }
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="${kind}list.csv"`)
          .send(Readable.from(csv()));
      },
    );

    app.register(async (child) => {
      child.addContentTypeParser(
        ['text/csv', 'text/plain'],
        { parseAs: 'string', bodyLimit: CSV_LIMIT },
        (_req, body, done) => done(null, body),
      );
      child.withTypeProvider<TypeBoxTypeProvider>().post(
        `${base}/import`,
        {
          bodyLimit: CSV_LIMIT,
          schema: {
            tags,
            summary: `Import numbers into the ${kind}list from CSV (number[,reason]; a header line is optional)`,
            querystring: OwnerQuery,
            consumes: ['text/csv'],
            response: { 200: ListImport },
          },
        },
        async (req) => {
          const owner = await ownerOf(req, req.query);
          if (typeof req.body !== 'string')
            throw new ApiError('unsupported_media_type', say('api.policy.csvOnly'));
          const parsed = parseListCsv(req.body, deps.defaultRegion);
          const added = await add(kind, owner, parsed.entries, 'csv');
          return {
            added,
            already_listed: parsed.entries.length - added,
            invalid_count: parsed.invalidCount,
            invalid: parsed.invalid,
          };
        },
      );
    });
  }

  // ---- per-user switches: GET/PATCH /v1/policy (routes/consents.ts) serve this module's
  // test_mode and auto_blacklist_after beside templates-only, consent and quiet hours.

  // ---- frequency caps

  const capsView = (owner: string, rows: Awaited<ReturnType<Store['policy']['caps']>>) => ({
    scope: owner === '' ? ('global' as const) : ('user' as const),
    ...(owner ? { user_id: owner } : {}),
    caps: rows.map((r) => ({ category: r.category || null, period: r.period, max: r.max_count })),
  });

  app.get(
    '/v1/policy/caps',
    {
      schema: {
        tags: ['policy'],
        summary: 'Frequency caps per recipient (yours, a user’s, or the global defaults)',
        querystring: OwnerQuery,
        response: { 200: CapsView },
      },
    },
    async (req) => {
      const owner = await ownerOf(req, req.query);
      return capsView(owner, await store.policy.caps(owner));
    },
  );

  app.put(
    '/v1/policy/caps',
    {
      schema: {
        tags: ['policy'],
        summary: 'Replace the frequency caps (yours, a user’s, or with scope=global the defaults)',
        response: { 200: CapsView },
        body: Type.Object({
          scope: Scope,
          user_id: UserId,
          caps: Type.Array(
            Type.Object({
              period: Type.Union(PERIODS.map((x) => Type.Literal(x))),
              max: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
              category: Type.Optional(Type.Union([Type.Null(), Category])),
            }),
            { maxItems: PERIODS.length * MAX_CAP_CATEGORIES },
          ),
        }),
      },
    },
    async (req) => {
      const b = req.body;
      const owner = await ownerOf(req, b);
      const seen = new Set<string>();
      for (const c of b.caps) {
        const key = `${c.category ?? ''}|${c.period}`;
        if (seen.has(key))
          throw new ApiError(
            'validation_failed',
            c.category
              ? say('api.policy.twoCapsCategory', { period: c.period, category: c.category })
              : say('api.policy.twoCaps', { period: c.period }),
            'caps',
          );
        seen.add(key);
      }
      const rows = await store.policy.replaceCaps(
        owner,
        b.caps.map((c) => ({ category: c.category ?? '', period: c.period, max_count: c.max })),
      );
      return capsView(owner, rows);
    },
  );

  // ---- prices

  const Encoding = Type.Union([Type.Literal('any'), Type.Literal('gsm7'), Type.Literal('ucs2')]);
  const Prefix = Type.String({
    maxLength: 15,
    pattern: '^(\\d{1,15}|default)$',
    description:
      'Destination prefix (country code and more digits), or `default` for every other destination.',
  });
  const priceView = (r: { prefix: string; encoding: string; per_segment: number }) => ({
    prefix: r.prefix || 'default',
    encoding: r.encoding,
    per_segment: Number(r.per_segment),
  });

  app.get(
    '/v1/prices',
    {
      schema: {
        tags: ['credits'],
        summary: 'The price list (per segment, in credits)',
        response: { 200: ListOf(PriceView) },
      },
    },
    async (req) => {
      principalOf(req);
      return { data: (await store.policy.prices()).map(priceView) };
    },
  );

  app.put(
    '/v1/prices',
    {
      schema: {
        tags: ['credits'],
        summary: 'Set the price per segment of a prefix and encoding (admin); longest prefix wins',
        response: { 200: PriceView },
        body: Type.Object({
          prefix: Prefix,
          encoding: Type.Optional(Encoding),
          per_segment: Type.Integer({ minimum: 0, maximum: 1_000_000_000 }),
        }),
      },
    },
    async (req) => {
      requireAdmin(req);
      const b = req.body;
      if ((await store.policy.priceCount()) >= MAX_PRICES)
        throw new ApiError('list_full', say('api.policy.priceListFull', { max: MAX_PRICES }), 'prefix');
      return priceView(
        await store.policy.setPrice(
          b.prefix === 'default' ? '' : b.prefix,
          b.encoding ?? 'any',
          b.per_segment,
        ),
      );
    },
  );

  app.delete(
    '/v1/prices/:prefix',
    {
      schema: {
        tags: ['credits'],
        summary: 'Remove a price (admin)',
        params: Type.Object({ prefix: Prefix }),
        querystring: Type.Object({ encoding: Type.Optional(Encoding) }),
        response: { 204: NoContent },
      },
    },
    async (req, reply) => {
      requireAdmin(req);
      const { prefix } = req.params;
      const { encoding } = req.query;
      if (!(await store.policy.removePrice(prefix === 'default' ? '' : prefix, encoding ?? 'any')))
        throw new ApiError('not_found', say('api.policy.noSuchPrice'), 'prefix');
      return reply.status(204).send(null);
    },
  );

  // ---- balance and ledger

  app.get(
    '/v1/balance',
    {
      schema: {
        tags: ['credits'],
        summary: 'Balance and the newest ledger entries (charges, refunds, top-ups, adjustments)',
        response: { 200: BalanceView },
        querystring: Type.Object({
          user_id: UserId,
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
          cursor: Type.Optional(Type.Integer({ minimum: 1 })),
        }),
      },
    },
    async (req) => {
      const q = req.query;
      const owner = await ownerOf(req, q);
      const a = await store.policy.account(owner);
      const limit = q.limit ?? 50;
      const ledger = await store.policy.ledger(owner, limit, q.cursor);
      const last = ledger[ledger.length - 1];
      return {
        user_id: owner,
        mode: a.prepaid ? ('prepaid' as const) : ('unlimited' as const),
        balance: Number(a.balance),
        ledger: ledger.map(ledgerView),
        next_cursor: ledger.length === limit && last ? last.id : null,
      };
    },
  );

  app.post(
    '/v1/users/:id/credit',
    {
      schema: {
        tags: ['credits'],
        summary: 'Top up (or, negative, take) credit; `mode` switches prepaid/unlimited (admin)',
        response: { 200: CreditView },
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        body: Type.Object({
          amount: Type.Integer({ minimum: -1_000_000_000_000, maximum: 1_000_000_000_000 }),
          note: Type.Optional(Type.String({ maxLength: 200 })),
          mode: Type.Optional(Type.Union([Type.Literal('prepaid'), Type.Literal('unlimited')])),
        }),
      },
    },
    async (req) => {
      requireAdmin(req);
      const { id } = req.params;
      const b = req.body;
      if (!(await store.users.byId(id))) throw new ApiError('not_found', say('api.policy.noSuchUser'), 'id');
      const r = await store.policy.credit(
        id,
        b.amount,
        b.note ?? null,
        b.mode === undefined ? undefined : b.mode === 'prepaid',
      );
      return {
        user_id: id,
        mode: r.prepaid ? ('prepaid' as const) : ('unlimited' as const),
        balance: r.balance,
      };
    },
  );
}

export function accountView(a: Awaited<ReturnType<Store['policy']['account']>>) {
  return {
    user_id: a.user_id,
    test_mode: a.test_mode === 1,
    auto_blacklist_after: a.auto_blacklist_after,
    mode: a.prepaid ? ('prepaid' as const) : ('unlimited' as const),
    balance: Number(a.balance),
  };
}
